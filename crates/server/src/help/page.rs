//! The HTML of the help pages, written by hand: a handful of small pages do
//! not justify a template engine. Every value from a person or the database
//! goes through [`escape`]; nothing else is interpolated into markup.
//!
//! The pages need no JavaScript and load nothing from elsewhere: one inline
//! style sheet, real `<label>`s, errors tied to their fields with
//! `aria-describedby`, and a summary of errors that screen readers announce.

use std::fmt::Write as _;

use rapport_core::{Author, Message, MessageKind, Status, Ticket, Timestamp};

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;line-height:1.5;margin:0;background:#f6f7f9;color:#1d2329}\
main{max-width:40rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px #0002}\
h1{font-size:1.5rem;margin-top:0}label{display:block;font-weight:600;margin-top:1rem}\
.hint{color:#555;font-size:.9rem;margin:.1rem 0 .3rem}\
input[type=text],input[type=email],textarea{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;\
border:1px solid #888;border-radius:.3rem}textarea{min-height:10rem}\
input:focus,textarea:focus,button:focus{outline:3px solid #2563eb;outline-offset:1px}\
[aria-invalid=true]{border-color:#b91c1c;border-width:2px}.error{color:#b91c1c;font-weight:600;margin:.2rem 0}\
.summary{border:2px solid #b91c1c;padding:.5rem 1rem;border-radius:.3rem;margin-bottom:1rem}\
button{margin-top:1rem;padding:.6rem 1.2rem;font:inherit;font-weight:600;color:#fff;background:#1d4ed8;\
border:0;border-radius:.3rem;cursor:pointer}button.quiet{background:#555}\
.hp{position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden}\
.message{border-left:4px solid #94a3b8;padding:.3rem .8rem;margin:1rem 0}.message.mine{border-color:#1d4ed8}\
.meta{color:#555;font-size:.9rem}.text{white-space:pre-wrap;overflow-wrap:anywhere}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem;border-bottom:1px solid #ddd}";

/// A whole page around `body` (already HTML).
pub fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{}</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>\n",
        escape(title)
    )
}

/// One field's error, as `(field name, message)`.
pub type FieldError = (&'static str, String);

/// What the request form shows: the values typed so far and the errors.
#[derive(Debug, Default, Clone)]
pub struct RequestForm {
    /// The customer's name.
    pub name: String,
    /// Their email address.
    pub email: String,
    /// The subject.
    pub subject: String,
    /// The message.
    pub message: String,
    /// The form's one-time id, so a resubmission is filed once.
    pub submission: String,
}

fn error_for<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors.iter().find(|(name, _)| *name == field).map(|(_, message)| message.as_str())
}

/// The attributes and the message paragraph of a field that may carry an error.
fn field_state(errors: &[FieldError], field: &str) -> (String, String) {
    match error_for(errors, field) {
        Some(message) => (
            format!(" aria-invalid=\"true\" aria-describedby=\"{field}-error\""),
            format!("<p class=\"error\" id=\"{field}-error\">{}</p>", escape(message)),
        ),
        None => (String::new(), String::new()),
    }
}

/// The list of errors at the top of a form, each linking to its field.
fn error_summary(errors: &[FieldError]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let mut html =
        String::from("<div class=\"summary\" role=\"alert\"><p><strong>Please correct the following:</strong></p><ul>");
    for (field, message) in errors {
        let _ = write!(html, "<li><a href=\"#{field}\">{}</a></li>", escape(message));
    }
    html.push_str("</ul></div>");
    html
}

/// The request form at `/help/new`.
pub fn request_form(form: &RequestForm, errors: &[FieldError], max_attachment_bytes: usize) -> String {
    let text_input = |field: &'static str, label: &str, kind: &str, value: &str, autocomplete: &str| {
        let (attributes, error) = field_state(errors, field);
        format!(
            "<label for=\"{field}\">{label}</label>{error}<input type=\"{kind}\" id=\"{field}\" name=\"{field}\" \
             value=\"{}\" autocomplete=\"{autocomplete}\" required{attributes}>",
            escape(value)
        )
    };
    let (message_attributes, message_error) = field_state(errors, "message");
    let (_, files_error) = field_state(errors, "attachments");
    // The file input is described by its hint, and by its error when it has one.
    let files_attributes = if files_error.is_empty() {
        " aria-describedby=\"attachments-hint\"".to_owned()
    } else {
        " aria-invalid=\"true\" aria-describedby=\"attachments-hint attachments-error\"".to_owned()
    };
    let body = format!(
        "<h1>Contact support</h1>\
         <p>Tell us what you need. We will email you the ticket number and a link to follow it.</p>{summary}\
         <form method=\"post\" action=\"/help/new\" enctype=\"multipart/form-data\">\
         {name}{email}{subject}\
         <label for=\"message\">Message</label>{message_error}\
         <textarea id=\"message\" name=\"message\" required{message_attributes}>{message}</textarea>\
         <label for=\"attachments\">Attachments (optional)</label>\
         <p class=\"hint\" id=\"attachments-hint\">Up to {limit} in all.</p>{files_error}\
         <input type=\"file\" id=\"attachments\" name=\"attachments\" multiple{files_attributes}>\
         <div class=\"hp\" aria-hidden=\"true\"><label for=\"website\">Leave this field empty</label>\
         <input type=\"text\" id=\"website\" name=\"website\" value=\"\" autocomplete=\"off\" tabindex=\"-1\"></div>\
         <input type=\"hidden\" name=\"submission\" value=\"{submission}\">\
         <button type=\"submit\">Send</button></form>",
        summary = error_summary(errors),
        name = text_input("name", "Your name", "text", &form.name, "name"),
        email = text_input("email", "Your email address", "email", &form.email, "email"),
        subject = text_input("subject", "Subject", "text", &form.subject, "off"),
        message = escape(&form.message),
        limit = escape(&human_size(max_attachment_bytes)),
        submission = escape(&form.submission),
    );
    layout("Contact support", &body)
}

/// Whether mail to the customer leaves now or waits in the outbox (no SMTP
/// server configured): a page promises only what will happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mail {
    /// Handed to the SMTP server within moments.
    Sending,
    /// Kept until outgoing mail is configured.
    Waiting,
}

/// The page after a request was received. `ticket` is `None` when there is no
/// number to show (the honeypot, or a message held for review). The
/// confirmation is queued, not yet sent, so the page never says it was.
pub fn request_received(ticket: Option<rapport_core::TicketId>, email: &str, mail: Mail) -> String {
    let body = match (ticket, mail) {
        (Some(ticket), Mail::Sending) => format!(
            "<h1>Thank you</h1><p>We have received your message and opened <strong>ticket #{ticket}</strong>.</p>\
             <p>We are sending {email} a confirmation with a link to follow the ticket and answer on the web; \
             it should arrive within a few minutes. You can also simply reply to that email.</p>\
             <p><a href=\"/help/new\">Send another request</a></p>",
            email = escape_or(email, "you"),
        ),
        (Some(ticket), Mail::Waiting) => format!(
            "<h1>Thank you</h1><p>We have received your message and opened <strong>ticket #{ticket}</strong>. \
             Please keep this number.</p>\
             <p>We cannot send email at the moment, so the confirmation with a link to follow the ticket will \
             reach {email} later. We will answer you at that address.</p>\
             <p><a href=\"/help/new\">Send another request</a></p>",
            email = escape_or(email, "you"),
        ),
        (None, _) => "<h1>Thank you</h1><p>We have received your message and will answer you by email.</p>\
                 <p><a href=\"/help/new\">Send another request</a></p>"
            .to_owned(),
    };
    layout("Thank you", &body)
}

fn escape_or(text: &str, fallback: &str) -> String {
    if text.is_empty() { fallback.to_owned() } else { format!("<strong>{}</strong>", escape(text)) }
}

/// The page for a request refused by the rate limit.
pub fn too_many(retry_at: Timestamp, now: Timestamp) -> String {
    let minutes = (retry_at.0.saturating_sub(now.0) + 59_999) / 60_000;
    let body = format!(
        "<h1>Please wait a little</h1><p>We have received several requests from you in a short time. \
         To keep spam out, please try again after {} (in about {} minute{}).</p>\
         <p>If it is urgent, you can also write to us by email.</p>",
        escape(&clock(retry_at)),
        minutes.max(1),
        if minutes > 1 { "s" } else { "" }
    );
    layout("Please wait a little", &body)
}

/// A form that asks for a new link, with `errors` and the address typed so far.
fn link_form(email: &str, errors: &[FieldError]) -> String {
    let (attributes, error) = field_state(errors, "email");
    format!(
        "<form method=\"post\" action=\"/help/link\">\
         <label for=\"email\">Your email address</label>{error}\
         <input type=\"email\" id=\"email\" name=\"email\" value=\"{}\" autocomplete=\"email\" required{attributes}>\
         <button type=\"submit\">Email me a new link</button></form>",
        escape(email)
    )
}

/// The page for a link that does not work (unknown, used or expired), or a
/// page that needs a session the visitor does not have.
pub fn link_not_working(heading: &str) -> String {
    let body = format!(
        "<h1>{}</h1><p>Links we email work once and for a limited time. Enter your email address and we will \
         send you a new one.</p>{}<p><a href=\"/help/new\">Or send us a new request</a></p>",
        escape(heading),
        link_form("", &[])
    );
    layout(heading, &body)
}

/// The link-request page again, with an error next to the address.
pub fn link_request_invalid(email: &str, errors: &[FieldError]) -> String {
    let body = format!("<h1>Get a new link</h1>{}{}", error_summary(errors), link_form(email, errors));
    layout("Get a new link", &body)
}

/// The neutral answer to a link request: the same whether or not the address
/// is known. The link is queued, not yet sent, so the page never says it was.
pub fn link_requested(email: &str, valid_days: i64, mail: Mail) -> String {
    let when = match mail {
        Mail::Sending => "we are sending a link to it; it should arrive within a few minutes",
        Mail::Waiting => "we will send a link to it. We cannot send email at the moment, so it will arrive later",
    };
    let body = format!(
        "<h1>Check your email</h1><p>If {} belongs to one of our customers, {when}. \
         The link works once, within {valid_days} day{}.</p>",
        escape_or(email, "the address"),
        if valid_days == 1 { "" } else { "s" }
    );
    layout("Check your email", &body)
}

/// A customer's tickets.
pub fn ticket_list(tickets: &[Ticket]) -> String {
    let mut body = String::from("<h1>Your requests</h1>");
    if tickets.is_empty() {
        body.push_str("<p>You have no requests with us yet.</p>");
    } else {
        body.push_str(
            "<table><thead><tr><th scope=\"col\">Ticket</th><th scope=\"col\">Subject</th>\
                       <th scope=\"col\">Status</th><th scope=\"col\">Last change</th></tr></thead><tbody>",
        );
        for ticket in tickets {
            let _ = write!(
                body,
                "<tr><td><a href=\"/help/tickets/{id}\">#{id}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&ticket.subject),
                status_words(ticket.status),
                escape(&clock(ticket.updated_at)),
                id = ticket.id
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str(&footer());
    layout("Your requests", &body)
}

/// How to name each message's author on the ticket page.
pub struct Authors<'a> {
    /// The signed-in customer.
    pub customer: rapport_core::CustomerId,
    /// Names of the agents who wrote, by id.
    pub agents: &'a [(rapport_core::AgentId, String)],
}

/// One ticket as its customer sees it, with a reply box.
pub fn ticket_page(
    ticket: &Ticket,
    messages: &[Message],
    authors: &Authors<'_>,
    reply: &str,
    submission: &str,
    errors: &[FieldError],
) -> String {
    let mut body = format!(
        "<p><a href=\"/help/tickets\">All your requests</a></p><h1>{} <span class=\"meta\">#{}</span></h1>\
         <p>Status: <strong>{}</strong></p>",
        escape(&ticket.subject),
        ticket.id,
        status_words(ticket.status)
    );
    for message in messages.iter().filter(|message| message.kind != MessageKind::Note) {
        let (who, mine) = match message.author {
            Author::Customer(id) if id == authors.customer => ("You".to_owned(), " mine"),
            Author::Customer(_) => ("Another participant".to_owned(), ""),
            Author::Agent(id) => {
                let name = authors.agents.iter().find(|(agent, _)| *agent == id).map(|(_, name)| name.as_str());
                (format!("{} (Support)", name.unwrap_or("Our team")), "")
            }
            Author::System => ("Support".to_owned(), ""),
        };
        let _ = write!(
            body,
            "<article class=\"message{mine}\"><p class=\"meta\"><strong>{}</strong> · {}</p>\
             <div class=\"text\">{}</div>",
            escape(&who),
            escape(&clock(message.created_at)),
            escape(&message.text)
        );
        if !message.attachments.is_empty() {
            body.push_str("<p class=\"meta\">Attached: ");
            // Each name links to its download (served as an attachment, never shown inline).
            let names: Vec<String> = message
                .attachments
                .iter()
                .enumerate()
                .map(|(index, attachment)| {
                    format!(
                        "<a href=\"/help/tickets/{}/messages/{}/attachments/{index}\" download>{}</a>",
                        ticket.id,
                        message.id,
                        escape(&attachment.filename)
                    )
                })
                .collect();
            body.push_str(&names.join(", "));
            body.push_str("</p>");
        }
        body.push_str("</article>");
    }
    let closed = if ticket.status == Status::Closed {
        "<p class=\"hint\">This ticket is closed. Writing here opens a new ticket that refers to it.</p>"
    } else {
        ""
    };
    let (attributes, error) = field_state(errors, "message");
    let (files_attributes, files_error) = field_state(errors, "attachments");
    let _ = write!(
        body,
        "<h2>Reply</h2>{closed}{summary}<form method=\"post\" action=\"/help/tickets/{id}/reply\" \
         enctype=\"multipart/form-data\"><label for=\"message\">Your message</label>{error}\
         <textarea id=\"message\" name=\"message\" required{attributes}>{reply}</textarea>\
         <label for=\"attachments\">Attachments (optional)</label>{files_error}\
         <input type=\"file\" id=\"attachments\" name=\"attachments\" multiple{files_attributes}>\
         <input type=\"hidden\" name=\"submission\" value=\"{submission}\">\
         <button type=\"submit\">Send reply</button></form>",
        summary = error_summary(errors),
        id = ticket.id,
        reply = escape(reply),
        submission = escape(submission),
    );
    body.push_str(&footer());
    layout(&format!("#{} {}", ticket.id, ticket.subject), &body)
}

/// The page after signing out.
pub fn signed_out() -> String {
    layout(
        "Signed out",
        "<h1>You are signed out</h1><p>To see your requests again, open the link from one of our emails, \
         or <a href=\"/help/new\">send us a new request</a>.</p>",
    )
}

/// The page for a reply held back (the sender sent too much too quickly).
pub fn reply_held() -> String {
    layout(
        "Message received",
        "<h1>Message received</h1><p>We have kept your message for our team to look at. \
         <a href=\"/help/tickets\">Back to your requests</a></p>",
    )
}

/// The page for a form that could not be read (a client that sent no form).
pub fn bad_form(message: &str) -> String {
    let body = format!(
        "<h1>We could not read that form</h1><p>{}</p><p><a href=\"/help/new\">Back to the form</a></p>",
        escape(message)
    );
    layout("We could not read that form", &body)
}

/// The page for a form larger than we accept.
pub fn too_large(limit: usize) -> String {
    let body = format!(
        "<h1>That was too large</h1><p>We accept up to {} of attachments with one message. Please go back \
         and attach smaller or fewer files, or share large files by link.</p>",
        escape(&human_size(limit))
    );
    layout("That was too large", &body)
}

/// The page for a fault on our side.
pub fn internal_error() -> String {
    layout(
        "Something went wrong",
        "<h1>Something went wrong on our side</h1><p>Your request was not saved. Please try again in a few \
         minutes, or write to us by email.</p>",
    )
}

fn footer() -> String {
    "<form method=\"post\" action=\"/help/signout\"><button type=\"submit\" class=\"quiet\">Sign out</button>\
     </form>"
        .to_owned()
}

/// Status words for customers.
fn status_words(status: Status) -> &'static str {
    match status {
        Status::New | Status::Open => "Open",
        Status::Pending => "Waiting for your reply",
        Status::OnHold => "In progress",
        Status::Solved => "Solved",
        Status::Closed => "Closed",
    }
}

/// `2025-03-01 09:30 UTC`.
fn clock(at: Timestamp) -> String {
    match jiff::Timestamp::from_millisecond(at.0) {
        Ok(instant) => instant.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => at.0.to_string(),
    }
}

/// `10 MB`, `512 KB`.
pub fn human_size(bytes: usize) -> String {
    const MB: usize = 1024 * 1024;
    if bytes >= MB { format!("{} MB", bytes / MB) } else { format!("{} KB", bytes.div_ceil(1024)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_attributes() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn the_form_keeps_input_and_ties_errors_to_fields() {
        let form = RequestForm { email: "\"><script>".into(), submission: "abc".into(), ..RequestForm::default() };
        let html = request_form(&form, &[("email", "not an address".into())], 10 * 1024 * 1024);
        assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;\""), "{html}");
        assert!(html.contains("aria-describedby=\"email-error\"") && html.contains("id=\"email-error\""));
        assert!(html.contains("Up to 10 MB in all."));
        assert!(!html.contains("<script>"));
    }
}
