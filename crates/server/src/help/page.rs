//! The HTML of the help pages, written by hand: a handful of small pages do
//! not justify a template engine. Every value from a person or the database,
//! and every text from the message catalogs, goes through [`escape`];
//! nothing else is interpolated into markup.
//!
//! The pages need no JavaScript and load nothing from elsewhere: one inline
//! style sheet, real `<label>`s, errors tied to their fields with
//! `aria-describedby`, and a summary of errors that screen readers announce.
//! Their words come from the visitor's language ([`Visit::words`]); every
//! form carries the visitor's CSRF token ([`Visit::csrf`]).

use std::fmt::Write as _;

use rapport_catalog::{Arg, Words};
use rapport_core::{Author, Message, MessageKind, Status, Ticket, Timestamp};

/// Who a page is for: their language, their forms' CSRF token, and the
/// address they signed in with, if they did.
#[derive(Debug, Clone, Default)]
pub struct Visit {
    /// The words of their language.
    pub words: Words,
    /// The token every form carries.
    pub csrf: String,
    /// The verified address of their session.
    pub signed_in: Option<String>,
}

impl Visit {
    fn t(&self, id: &str) -> String {
        escape(&self.words.get(id))
    }

    fn t_with(&self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        escape(&self.words.with(id, args))
    }

    /// The hidden field with the CSRF token.
    fn token(&self) -> String {
        format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", escape(&self.csrf))
    }
}

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
input:focus,textarea:focus,button:focus,a:focus{outline:3px solid #2563eb;outline-offset:1px}\
[aria-invalid=true]{border-color:#b91c1c;border-width:2px}.error{color:#b91c1c;font-weight:600;margin:.2rem 0}\
.summary{border:2px solid #b91c1c;padding:.5rem 1rem;border-radius:.3rem;margin-bottom:1rem}\
button{margin-top:1rem;padding:.6rem 1.2rem;font:inherit;font-weight:600;color:#fff;background:#1d4ed8;\
border:0;border-radius:.3rem;cursor:pointer}button.quiet{background:#555;margin-top:0}\
.hp{position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden}\
.message{border-left:4px solid #94a3b8;padding:.3rem .8rem;margin:1rem 0}.message.mine{border-color:#1d4ed8}\
.meta{color:#555;font-size:.9rem}.text{white-space:pre-wrap;overflow-wrap:anywhere}\
.bar{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;\
border-top:1px solid #ddd;margin-top:2rem;padding-top:1rem}.bar form{margin:0}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem;border-bottom:1px solid #ddd}\
@media (max-width:40rem){main{margin:0;border-radius:0;padding:1rem}\
table,tbody,tr,td{display:block}thead{position:absolute;left:-10000px}tr{border-bottom:1px solid #ddd;padding:.4rem 0}\
td{border:0;padding:.1rem 0}}";

/// A whole page around `body` (already HTML), in the visitor's language.
pub fn layout(visit: &Visit, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{}</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>\n",
        visit.words.tag(),
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

/// The list of errors at the top of a form, each linking to its field (an
/// error of the whole form, such as an expired token, under `form`).
fn error_summary(visit: &Visit, errors: &[FieldError]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let mut html =
        format!("<div class=\"summary\" role=\"alert\"><p><strong>{}</strong></p><ul>", visit.t("errors-heading"));
    for (field, message) in errors {
        if *field == "form" {
            let _ = write!(html, "<li>{}</li>", escape(message));
        } else {
            let _ = write!(html, "<li><a href=\"#{field}\">{}</a></li>", escape(message));
        }
    }
    html.push_str("</ul></div>");
    html
}

/// The file input, described by its hint and by its error when it has one.
fn file_input(visit: &Visit, errors: &[FieldError], max_attachment_bytes: usize) -> String {
    let (_, files_error) = field_state(errors, "attachments");
    let described = if files_error.is_empty() {
        " aria-describedby=\"attachments-hint\"".to_owned()
    } else {
        " aria-invalid=\"true\" aria-describedby=\"attachments-hint attachments-error\"".to_owned()
    };
    format!(
        "<label for=\"attachments\">{label}</label><p class=\"hint\" id=\"attachments-hint\">{limit}</p>{files_error}\
         <input type=\"file\" id=\"attachments\" name=\"attachments\" multiple{described}>",
        label = visit.t("field-attachments"),
        limit = visit.t_with("attachments-limit", &[("size", human_size(max_attachment_bytes).as_str().into())]),
    )
}

/// The request form at `/help/new`. A signed-in customer is not asked who
/// they are: the request is filed from the address they signed in with.
pub fn request_form(visit: &Visit, form: &RequestForm, errors: &[FieldError], max_attachment_bytes: usize) -> String {
    let text_input = |field: &'static str, label: &str, kind: &str, value: &str, autocomplete: &str| {
        let (attributes, error) = field_state(errors, field);
        format!(
            "<label for=\"{field}\">{}</label>{error}<input type=\"{kind}\" id=\"{field}\" name=\"{field}\" \
             value=\"{}\" autocomplete=\"{autocomplete}\" required{attributes}>",
            visit.t(label),
            escape(value)
        )
    };
    let (message_attributes, message_error) = field_state(errors, "message");
    let (who, intro) = match visit.signed_in {
        Some(_) => (String::new(), "new-intro-signed-in"),
        None => (
            text_input("name", "field-name", "text", &form.name, "name")
                + &text_input("email", "field-email", "email", &form.email, "email"),
            "new-intro",
        ),
    };
    let title = visit.words.get("new-title");
    let body = format!(
        "<h1>{heading}</h1><p>{intro}</p>{summary}\
         <form method=\"post\" action=\"/help/new\" enctype=\"multipart/form-data\">{token}\
         {who}{subject}\
         <label for=\"message\">{message_label}</label>{message_error}\
         <textarea id=\"message\" name=\"message\" required{message_attributes}>{message}</textarea>{files}\
         <div class=\"hp\" aria-hidden=\"true\"><label for=\"website\">{honeypot}</label>\
         <input type=\"text\" id=\"website\" name=\"website\" value=\"\" autocomplete=\"off\" tabindex=\"-1\"></div>\
         <input type=\"hidden\" name=\"submission\" value=\"{submission}\">\
         <button type=\"submit\">{send}</button></form>{bar}",
        heading = escape(&title),
        intro = visit.t(intro),
        summary = error_summary(visit, errors),
        token = visit.token(),
        subject = text_input("subject", "field-subject", "text", &form.subject, "off"),
        message_label = visit.t("field-message"),
        message = escape(&form.message),
        files = file_input(visit, errors, max_attachment_bytes),
        honeypot = visit.t("honeypot-label"),
        submission = escape(&form.submission),
        send = visit.t("send"),
        bar = signed_in_bar(visit),
    );
    layout(visit, &title, &body)
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
/// confirmation is queued, not yet sent, so the page never says it was. A
/// signed-in customer is sent on to the ticket instead (see `submit_request`).
pub fn request_received(visit: &Visit, ticket: Option<rapport_core::TicketId>, email: &str, mail: Mail) -> String {
    let received = |ticket: rapport_core::TicketId| visit.t_with("received-ticket", &[("ticket", ticket.0.into())]);
    let mut body = format!("<h1>{}</h1>", visit.t("thanks-title"));
    match (ticket, mail) {
        (Some(ticket), Mail::Sending) => {
            let _ = write!(
                body,
                "<p><strong>{}</strong></p><p>{}</p>",
                received(ticket),
                visit.t_with("received-sending", &[("email", email.into())])
            );
        }
        (Some(ticket), Mail::Waiting) => {
            let _ = write!(
                body,
                "<p><strong>{}</strong></p><p>{}</p>",
                received(ticket),
                visit.t_with("received-waiting", &[("email", email.into())])
            );
        }
        (None, _) => {
            let _ = write!(body, "<p>{}</p>", visit.t("received-no-ticket"));
        }
    }
    let _ = write!(body, "<p><a href=\"/help/new\">{}</a></p>", visit.t("send-another"));
    layout(visit, &visit.words.get("thanks-title"), &body)
}

/// The page for a request refused by the rate limit.
pub fn too_many(visit: &Visit, retry_at: Timestamp, now: Timestamp) -> String {
    let minutes = ((retry_at.0.saturating_sub(now.0) + 59_999) / 60_000).max(1);
    let body = format!(
        "<h1>{}</h1><p>{}</p><p>{}</p>",
        visit.t("wait-title"),
        visit.t_with("wait-text", &[("time", clock(retry_at).as_str().into()), ("minutes", minutes.into())]),
        visit.t("wait-urgent")
    );
    layout(visit, &visit.words.get("wait-title"), &body)
}

/// A form that asks for a new link, with `errors` and the address typed so far.
fn link_form(visit: &Visit, email: &str, errors: &[FieldError]) -> String {
    let (attributes, error) = field_state(errors, "email");
    format!(
        "<form method=\"post\" action=\"/help/link\">{}\
         <label for=\"email\">{}</label>{error}\
         <input type=\"email\" id=\"email\" name=\"email\" value=\"{}\" autocomplete=\"email\" required{attributes}>\
         <button type=\"submit\">{}</button></form>",
        visit.token(),
        visit.t("field-email"),
        escape(email),
        visit.t("link-button")
    )
}

/// The page for a link that does not work (unknown, used or expired), or a
/// page that needs a session the visitor does not have. `heading` is a
/// message id.
pub fn link_not_working(visit: &Visit, heading: &str) -> String {
    let title = visit.words.get(heading);
    let body = format!(
        "<h1>{}</h1><p>{}</p>{}<p><a href=\"/help/new\">{}</a></p>",
        escape(&title),
        visit.t("link-explain"),
        link_form(visit, "", &[]),
        visit.t("or-new-request")
    );
    layout(visit, &title, &body)
}

/// The link-request page again, with an error next to the address.
pub fn link_request_invalid(visit: &Visit, email: &str, errors: &[FieldError]) -> String {
    let title = visit.words.get("new-link-title");
    let body =
        format!("<h1>{}</h1>{}{}", escape(&title), error_summary(visit, errors), link_form(visit, email, errors));
    layout(visit, &title, &body)
}

/// The neutral answer to a link request: the same whether or not the address
/// is known. The link is queued, not yet sent, so the page never says it was.
pub fn link_requested(visit: &Visit, email: &str, valid_days: i64, mail: Mail) -> String {
    let when = match mail {
        Mail::Sending => "link-requested-sending",
        Mail::Waiting => "link-requested-waiting",
    };
    let body = format!(
        "<h1>{}</h1><p>{} {}</p>",
        visit.t("check-email-title"),
        visit.t_with(when, &[("email", email.into())]),
        visit.t_with("link-valid-days", &[("days", valid_days.into())])
    );
    layout(visit, &visit.words.get("check-email-title"), &body)
}

/// One of a customer's tickets in their list: the ticket and its owner's name.
pub struct Listed<'a> {
    /// The ticket.
    pub ticket: &'a Ticket,
    /// Who handles it, if anyone does.
    pub owner: Option<&'a str>,
}

/// A customer's tickets, on every channel.
pub fn ticket_list(visit: &Visit, tickets: &[Listed<'_>]) -> String {
    let title = visit.words.get("list-title");
    let mut body = format!("<h1>{}</h1><p><a href=\"/help/new\">{}</a></p>", escape(&title), visit.t("new-request"));
    if tickets.is_empty() {
        let _ = write!(body, "<p>{}</p>", visit.t("list-empty"));
    } else {
        let _ = write!(
            body,
            "<table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            visit.t("column-ticket"),
            visit.t("column-subject"),
            visit.t("column-status"),
            visit.t("column-owner"),
            visit.t("column-updated"),
        );
        for Listed { ticket, owner } in tickets {
            let owner = owner.map_or_else(|| visit.t("owner-none"), escape);
            let _ = write!(
                body,
                "<tr><td><a href=\"/help/tickets/{id}\">#{id}</a></td><td>{}</td><td>{}</td><td>{owner}</td>\
                 <td>{}</td></tr>",
                escape(&ticket.subject),
                visit.t(status_id(ticket.status)),
                escape(&clock(ticket.updated_at)),
                id = ticket.id
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str(&signed_in_bar(visit));
    layout(visit, &title, &body)
}

/// How to name each message's author on the ticket page.
pub struct Authors<'a> {
    /// The signed-in customer.
    pub customer: rapport_core::CustomerId,
    /// Names of the agents who wrote, and of the owner, by id.
    pub agents: &'a [(rapport_core::AgentId, String)],
}

impl Authors<'_> {
    fn agent(&self, id: rapport_core::AgentId) -> Option<&str> {
        self.agents.iter().find(|(agent, _)| *agent == id).map(|(_, name)| name.as_str())
    }
}

/// A reply typed so far, with its errors.
pub struct Draft<'a> {
    /// The text.
    pub text: &'a str,
    /// The form's one-time id.
    pub submission: &'a str,
    /// What is wrong with it.
    pub errors: &'a [FieldError],
    /// The largest total of attachments.
    pub max_attachment_bytes: usize,
}

/// One ticket as its customer sees it, with who handles it and a reply box.
pub fn ticket_page(
    visit: &Visit,
    ticket: &Ticket,
    messages: &[Message],
    authors: &Authors<'_>,
    draft: &Draft<'_>,
) -> String {
    let owner = match ticket.owner.and_then(|owner| authors.agent(owner)) {
        Some(name) => visit.t_with("ticket-owner", &[("name", name.into())]),
        None => visit.t("ticket-no-owner"),
    };
    let mut body = format!(
        "<p><a href=\"/help/tickets\">{}</a></p><h1>{} <span class=\"meta\">#{}</span></h1>\
         <p>{} · {owner}</p>",
        visit.t("all-requests"),
        escape(&ticket.subject),
        ticket.id,
        visit.t_with("ticket-status", &[("status", visit.words.get(status_id(ticket.status)).as_str().into())]),
    );
    for message in messages.iter().filter(|message| message.kind != MessageKind::Note) {
        let (who, mine) = match message.author {
            Author::Customer(id) if id == authors.customer => (visit.t("author-you"), " mine"),
            Author::Customer(_) => (visit.t("author-participant"), ""),
            Author::Agent(id) => match authors.agent(id) {
                Some(name) => (visit.t_with("author-agent", &[("name", name.into())]), ""),
                None => (visit.t("author-team"), ""),
            },
            Author::System => (visit.t("author-support"), ""),
        };
        let _ = write!(
            body,
            "<article class=\"message{mine}\"><p class=\"meta\"><strong>{who}</strong> · {}</p>\
             <div class=\"text\">{}</div>",
            escape(&clock(message.created_at)),
            escape(&message.text)
        );
        if !message.attachments.is_empty() {
            let _ = write!(body, "<p class=\"meta\">{} ", visit.t("attached"));
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
        format!("<p class=\"hint\">{}</p>", visit.t("closed-hint"))
    } else {
        String::new()
    };
    let (attributes, error) = field_state(draft.errors, "message");
    let _ = write!(
        body,
        "<h2>{heading}</h2>{closed}{summary}<form method=\"post\" action=\"/help/tickets/{id}/reply\" \
         enctype=\"multipart/form-data\">{token}<label for=\"message\">{label}</label>{error}\
         <textarea id=\"message\" name=\"message\" required{attributes}>{reply}</textarea>{files}\
         <input type=\"hidden\" name=\"submission\" value=\"{submission}\">\
         <button type=\"submit\">{send}</button></form>",
        heading = visit.t("reply-heading"),
        summary = error_summary(visit, draft.errors),
        id = ticket.id,
        token = visit.token(),
        label = visit.t("field-reply"),
        reply = escape(draft.text),
        files = file_input(visit, draft.errors, draft.max_attachment_bytes),
        submission = escape(draft.submission),
        send = visit.t("send-reply"),
    );
    body.push_str(&signed_in_bar(visit));
    layout(visit, &format!("#{} {}", ticket.id, ticket.subject), &body)
}

/// The page after signing out.
pub fn signed_out(visit: &Visit) -> String {
    let title = visit.words.get("signed-out-title");
    let body = format!(
        "<h1>{}</h1><p>{}</p><p><a href=\"/help/new\">{}</a></p>",
        escape(&title),
        visit.t("signed-out-text"),
        visit.t("send-new-request")
    );
    layout(visit, &title, &body)
}

/// The page for a reply held back (the sender sent too much too quickly).
pub fn reply_held(visit: &Visit) -> String {
    let title = visit.words.get("held-title");
    let body = format!(
        "<h1>{}</h1><p>{} <a href=\"/help/tickets\">{}</a></p>",
        escape(&title),
        visit.t("held-text"),
        visit.t("back-to-requests")
    );
    layout(visit, &title, &body)
}

/// The page for a form that could not be read (a client that sent no form).
pub fn bad_form(visit: &Visit, message: &str) -> String {
    let title = visit.words.get("bad-form-title");
    let body = format!(
        "<h1>{}</h1><p>{}</p><p><a href=\"/help/new\">{}</a></p>",
        escape(&title),
        escape(message),
        visit.t("back-to-form")
    );
    layout(visit, &title, &body)
}

/// The page for a form larger than we accept.
pub fn too_large(visit: &Visit, limit: usize) -> String {
    let title = visit.words.get("too-large-title");
    let body = format!(
        "<h1>{}</h1><p>{}</p>",
        escape(&title),
        visit.t_with("too-large-text", &[("size", human_size(limit).as_str().into())])
    );
    layout(visit, &title, &body)
}

/// The page for a fault on our side.
pub fn internal_error(visit: &Visit) -> String {
    let title = visit.words.get("failed-title");
    let body = format!("<h1>{}</h1><p>{}</p>", escape(&title), visit.t("failed-text"));
    layout(visit, &title, &body)
}

/// Who is signed in and the way out, under a signed-in customer's pages.
fn signed_in_bar(visit: &Visit) -> String {
    let Some(email) = &visit.signed_in else { return String::new() };
    format!(
        "<div class=\"bar\"><p class=\"meta\">{}</p><form method=\"post\" action=\"/help/signout\">{}\
         <button type=\"submit\" class=\"quiet\">{}</button></form></div>",
        visit.t_with("signed-in-as", &[("email", email.into())]),
        visit.token(),
        visit.t("sign-out")
    )
}

/// The message id of a status's words for customers.
fn status_id(status: Status) -> &'static str {
    match status {
        Status::New | Status::Open => "status-open",
        Status::Pending => "status-pending",
        Status::OnHold => "status-in-progress",
        Status::Solved => "status-solved",
        Status::Closed => "status-closed",
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
    fn the_form_keeps_input_ties_errors_to_fields_and_carries_the_token() {
        let form = RequestForm { email: "\"><script>".into(), submission: "abc".into(), ..RequestForm::default() };
        let visit = Visit { csrf: "t0k3n".into(), ..Visit::default() };
        let html = request_form(&visit, &form, &[("email", "not an address".into())], 10 * 1024 * 1024);
        assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;\""), "{html}");
        assert!(html.contains("aria-describedby=\"email-error\"") && html.contains("id=\"email-error\""));
        assert!(html.contains("Up to 10 MB in all."));
        assert!(html.contains("name=\"csrf\" value=\"t0k3n\""));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn pages_speak_the_visitors_language() {
        let visit = Visit { words: Words::of("fr").unwrap_or_default(), ..Visit::default() };
        let html = request_form(&visit, &RequestForm::default(), &[], 1024);
        assert!(html.contains("<html lang=\"fr\">") && html.contains("Contacter le support"), "{html}");
        assert!(html.contains("Jusqu&#39;à 1 KB au total."), "{html}");
    }
}
