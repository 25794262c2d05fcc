//! Placeholders in notification messages and customer updates.
//!
//! `{{ticket.id}}`, `{{ticket.subject}}`, `{{customer.name}}`,
//! `{{ticket.status}}` and `{{ticket.priority}}` (spaces inside the braces are
//! allowed). Templates are checked when a rule is saved ([`check_template`]):
//! an unknown placeholder or a `{{` without its `}}` is refused there, so
//! rendering cannot fail when the rule fires.

use serde::{Deserialize, Serialize};

use super::model::TicketSnapshot;
use crate::ids::TicketId;
use crate::priority::Level;
use crate::ticket::Status;

/// The ticket facts a template may use that the snapshot does not carry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateData {
    /// The ticket's subject.
    pub subject: String,
    /// The customer's display name.
    pub customer_name: String,
}

/// The placeholders, as written between the braces.
pub const PLACEHOLDERS: &[&str] = &["ticket.id", "ticket.subject", "customer.name", "ticket.status", "ticket.priority"];

/// The values placeholders stand for at the moment of rendering.
pub(crate) struct Values<'a> {
    pub(crate) id: TicketId,
    pub(crate) status: Status,
    pub(crate) priority: Level,
    pub(crate) data: &'a TemplateData,
}

/// One piece of a template.
enum Piece<'t> {
    Text(&'t str),
    Placeholder(&'t str),
}

/// Splits a template into text and placeholder names; `Err` with the byte
/// offset of a `{{` that is never closed.
fn pieces(template: &str) -> impl Iterator<Item = Result<Piece<'_>, usize>> {
    let mut rest = template;
    let mut offset = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(open) = rest.find("{{") else {
            let text = rest;
            rest = "";
            return Some(Ok(Piece::Text(text)));
        };
        if open > 0 {
            let text = &rest[..open];
            rest = &rest[open..];
            offset += open;
            return Some(Ok(Piece::Text(text)));
        }
        match rest[2..].find("}}") {
            Some(close) => {
                let name = rest[2..2 + close].trim();
                rest = &rest[2 + close + 2..];
                offset += 2 + close + 2;
                Some(Ok(Piece::Placeholder(name)))
            }
            None => {
                let at = offset;
                rest = "";
                Some(Err(at))
            }
        }
    })
}

/// Checks a template's placeholders; the error is the problem, for a
/// [`RuleError`](super::RuleError).
pub fn check_template(template: &str) -> Result<(), String> {
    for piece in pieces(template) {
        match piece {
            Err(at) => return Err(format!("“{{{{” at byte {at} is not closed with “}}}}”")),
            Ok(Piece::Placeholder(name)) if !PLACEHOLDERS.contains(&name) => {
                let known: Vec<String> = PLACEHOLDERS.iter().map(|known| format!("{{{{{known}}}}}")).collect();
                return Err(format!("unknown placeholder {{{{{name}}}}}; use one of: {}", known.join(", ")));
            }
            Ok(_) => {}
        }
    }
    Ok(())
}

/// Renders a template for a ticket. A template that did not pass
/// [`check_template`] renders its bad parts verbatim.
pub fn render(template: &str, ticket: &TicketSnapshot, data: &TemplateData) -> String {
    render_values(template, &Values { id: ticket.id, status: ticket.status, priority: ticket.priority, data })
}

pub(crate) fn render_values(template: &str, values: &Values<'_>) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    for piece in pieces(template) {
        match piece {
            Ok(Piece::Text(text)) => {
                out.push_str(text);
                rest = &rest[text.len()..];
            }
            Ok(Piece::Placeholder(name)) => {
                let end = rest.find("}}").map_or(rest.len(), |close| close + 2);
                match name {
                    "ticket.id" => out.push_str(&values.id.to_string()),
                    "ticket.subject" => out.push_str(&values.data.subject),
                    "customer.name" => out.push_str(&values.data.customer_name),
                    "ticket.status" => out.push_str(values.status.as_str()),
                    "ticket.priority" => out.push_str(values.priority.as_str()),
                    _ => out.push_str(&rest[..end]),
                }
                rest = &rest[end..];
            }
            Err(_) => {
                out.push_str(rest);
                rest = "";
            }
        }
    }
    out
}
