# Rapport's words for customers, in English: the help pages (/help), the web
# form, and the system's own messages. Every other catalog has the same
# messages with the same variables; a test checks it.
#
# Texts are plain: the pages escape them, so no markup here.

language-name = English

## Forms

errors-heading = Please correct the following:
form-expired = This form has expired or came from another page. Please check it and send it again.
field-name = Your name
field-email = Your email address
field-subject = Subject
field-message = Message
field-reply = Your message
field-attachments = Attachments (optional)
attachments-limit = Up to { $size } in all.
honeypot-label = Leave this field empty
send = Send
send-reply = Send reply
sign-out = Sign out
signed-in-as = Signed in as { $email }
language-choice = Language

## Field errors

name-missing = Please enter your name.
name-too-long = Please shorten your name to { $max } characters.
name-control = Please enter your name without special characters.
email-missing = Please enter your email address.
email-invalid = Please enter a complete email address, like name@example.com.
email-not-yours = Please enter your own email address, so that we can answer you.
subject-missing = Please enter a subject.
subject-too-long = Please shorten the subject to { $max } characters.
subject-control = Please write the subject on one line.
message-missing = Please write your message.
message-too-long = Please shorten your message; it is longer than we can take in one go.
files-too-many = Please attach at most { $max } files.
files-too-large = The files are larger than { $size } together. Please attach smaller or fewer files.

## The web form (/help/new)

new-title = Contact support
new-intro = Tell us what you need. We will email you the ticket number and a link to follow it.
new-intro-signed-in = Tell us what you need. You will find the new request with your others.
thanks-title = Thank you
received-ticket = We have received your message and opened ticket #{ $ticket }.
received-sending = We are sending { $email } a confirmation with a link to follow the ticket and answer on the web; it should arrive within a few minutes. You can also simply reply to that email.
received-waiting = Please keep this number. We cannot send email at the moment, so the confirmation with a link to follow the ticket will reach { $email } later. We will answer you at that address.
received-no-ticket = We have received your message and will answer you by email.
send-another = Send another request
wait-title = Please wait a little
wait-text = We have received several requests from you in a short time. To keep spam out, please try again after { $time } (in about { $minutes ->
    [one] one minute
   *[other] { $minutes } minutes
}).
wait-urgent = If it is urgent, you can also write to us by email.
bad-form-title = We could not read that form
back-to-form = Back to the form
too-large-title = That was too large
too-large-text = We accept up to { $size } of attachments with one message. Please go back and attach smaller or fewer files, or share large files by link.
failed-title = Something went wrong on our side
failed-text = Your request was not saved. Please try again in a few minutes, or write to us by email.

## Links and sessions

link-dead = This link does not work any more
need-link = Please open the link from your email
no-such-file = We could not find that file among your requests
no-such-ticket = We could not find that ticket among yours
link-explain = Links we email work once and for a limited time. Enter your email address and we will send you a new one.
link-button = Email me a new link
or-new-request = Or send us a new request
new-link-title = Get a new link
check-email-title = Check your email
link-requested-sending = If { $email } belongs to one of our customers, we are sending a link to it; it should arrive within a few minutes.
link-requested-waiting = If { $email } belongs to one of our customers, we will send a link to it. We cannot send email at the moment, so it will arrive later.
link-valid-days = The link works once, within { $days ->
    [one] { $days } day
   *[other] { $days } days
}.
signed-out-title = You are signed out
signed-out-text = To see your requests again, open the link from one of our emails.
send-new-request = Send us a new request

## Your requests

list-title = Your requests
list-empty = You have no requests with us yet.
new-request = New request
column-ticket = Ticket
column-subject = Subject
column-status = Status
column-owner = Handled by
column-updated = Last change
all-requests = All your requests
ticket-status = Status: { $status }
ticket-owner = Handled by { $name }
ticket-no-owner = Not assigned to anyone yet
owner-none = Not yet assigned
author-you = You
author-participant = Another participant
author-agent = { $name } (Support)
author-team = Our team
author-support = Support
attached = Attached:
closed-hint = This ticket is closed. Writing here opens a new ticket that refers to it.
reply-heading = Reply
held-title = Message received
held-text = We have kept your message for our team to look at.
back-to-requests = Back to your requests
status-open = Open
status-pending = Waiting for your reply
status-in-progress = In progress
status-solved = Solved
status-closed = Closed

## The system's emails

email-greeting = Hello,
email-greeting-named = Hello { $name },
ack-text = Thank you for writing to us. We have received your message "{ $subject }" and opened ticket #{ $ticket } for it. A member of our team will answer you soon; to add anything, simply reply to this email and keep [#{ $ticket }] in the subject.
web-ack-subject = Your request [#{ $ticket }]
web-ack-text = We have received a request sent with this address from our web form and opened ticket #{ $ticket } for it. A member of our team will answer you soon; to add anything, simply reply to this email and keep [#{ $ticket }] in the subject. If you did not send it, you can ignore this email.
portal-link-intro = You can also follow the ticket and answer on the web, without an account, by opening this link:
portal-link-note = The link is for you alone: it works once, within { $days ->
    [one] { $days } day
   *[other] { $days } days
}, and signs you in on that device. If it has expired, ask for a new one on the page it opens.
link-email-subject = Your link to follow your requests
link-email-intro = you asked for a link to follow your requests with us. Open it to see your tickets and answer on the web:
link-email-note = The link is for you alone: it works once, within { $days ->
    [one] { $days } day
   *[other] { $days } days
}. If you did not ask for it, you can ignore this email; nobody can use the link without access to your mailbox.

## The chat widget (a variable stays as written: the widget fills it in)

widget-open = Chat with us
widget-title = Live chat
widget-connecting = Connecting…
widget-placeholder = Type your message…
widget-your-message = Your message
widget-send = Send
widget-email = Your email address
widget-save = Save
widget-ask-callback = Call me back instead
widget-phone = Your phone number
widget-call-me = Call me
widget-reconnecting = Reconnecting…
widget-online = We are online.
widget-offline = We are offline; leave a message.
widget-callback = We will call you at { $phone }.
widget-callback-position = We will call you at { $phone } (number { $position } in line).
widget-queued = You are number { $position } in the queue.
widget-queued-wait = You are number { $position } in the queue, about { $minutes } min.
widget-joined = { $agent } joined the chat.
widget-typing = Typing…
widget-email-saved = Thank you: we will answer { $email } by email.
widget-ended = The chat has ended. Write again any time.
widget-offline-notice = No agent is available right now. Your conversation (ticket #{ $ticket }) is kept as a ticket, and we will answer you by email.
widget-offline-notice-ask = No agent is available right now. Your conversation (ticket #{ $ticket }) is kept as a ticket: leave your email address and we will answer you by email.
