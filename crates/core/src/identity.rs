//! Customer identities and their normalisation.
//!
//! One person reaches us from several places: an email address, a phone that
//! sends SMS and WhatsApp, a chat visitor id, a Telegram handle. Each is an
//! [`Identity`]; matching is by the normalised value, so `Ann@Example.COM`
//! and `ann@example.com` are one customer, and a WhatsApp id `447700900123`
//! matches the SMS number `+44 7700 900123`.

use crate::event::Actor;
use crate::ids::AgentId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of an identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// An email address, lower-cased.
    Email,
    /// A phone number in E.164 (`+` and 8–15 digits); SMS, WhatsApp and voice share it.
    Phone,
    /// A live-chat visitor id.
    Chat,
    /// A messaging handle as `network:id`, such as `telegram:123456`.
    Handle,
}

impl IdentityKind {
    /// The word used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Email => "email",
            IdentityKind::Phone => "phone",
            IdentityKind::Chat => "chat",
            IdentityKind::Handle => "handle",
        }
    }

    /// Parses the database/JSON word.
    pub fn parse(word: &str) -> Option<IdentityKind> {
        [IdentityKind::Email, IdentityKind::Phone, IdentityKind::Chat, IdentityKind::Handle]
            .into_iter()
            .find(|kind| kind.as_str() == word)
    }
}

impl fmt::Display for IdentityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One normalised address or handle of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Identity {
    /// What kind of address this is.
    pub kind: IdentityKind,
    /// The normalised value.
    pub value: String,
}

/// An address that cannot be normalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Not a usable email address.
    #[error("{0:?} is not an email address (expected local@domain.tld)")]
    Email(String),
    /// Not a usable phone number.
    #[error("{0:?} is not a phone number in international form (expected + and country code, 8-15 digits)")]
    Phone(String),
    /// Empty, too long or containing control characters.
    #[error("{0:?} is not a valid {1} identity")]
    Other(String, IdentityKind),
}

impl Identity {
    /// Normalises an email address: trimmed and lower-cased, with one `@`, a
    /// non-empty local part and a dotted domain.
    pub fn email(raw: &str) -> Result<Identity, IdentityError> {
        let value = raw.trim().to_lowercase();
        let valid = value.len() <= 254
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            })
            && !value.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
        if valid {
            Ok(Identity { kind: IdentityKind::Email, value })
        } else {
            Err(IdentityError::Email(raw.to_owned()))
        }
    }

    /// Normalises a phone number to E.164.
    ///
    /// Accepts `+CC…` and `00CC…` with spaces, dots, dashes and parentheses,
    /// and bare digit strings that already carry the country code (the form
    /// WhatsApp ids take). A national number with a trunk `0` cannot be
    /// resolved without knowing the country, so it is refused rather than guessed.
    pub fn phone(raw: &str) -> Result<Identity, IdentityError> {
        let trimmed = raw.trim();
        let without_prefix = trimmed.strip_prefix("tel:").unwrap_or(trimmed);
        let mut digits = String::with_capacity(16);
        for (index, c) in without_prefix.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if index == 0 => {}
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(IdentityError::Phone(raw.to_owned())),
            }
        }
        let international = if let Some(rest) = digits.strip_prefix("00") {
            rest.to_owned()
        } else if digits.starts_with('0') {
            return Err(IdentityError::Phone(raw.to_owned()));
        } else {
            digits
        };
        if !(8..=15).contains(&international.len()) {
            return Err(IdentityError::Phone(raw.to_owned()));
        }
        Ok(Identity { kind: IdentityKind::Phone, value: format!("+{international}") })
    }

    /// A live-chat visitor id: trimmed, 1–128 visible characters.
    pub fn chat(raw: &str) -> Result<Identity, IdentityError> {
        Self::opaque(raw, IdentityKind::Chat)
    }

    /// A messaging handle, `network:id`; the network is lower-cased.
    pub fn handle(raw: &str) -> Result<Identity, IdentityError> {
        let trimmed = raw.trim();
        match trimmed.split_once(':') {
            Some((network, id)) if !network.is_empty() && !id.is_empty() => {
                Self::opaque(&format!("{}:{}", network.to_lowercase(), id), IdentityKind::Handle)
            }
            _ => Err(IdentityError::Other(raw.to_owned(), IdentityKind::Handle)),
        }
    }

    /// Normalises `raw` as an identity of `kind`.
    pub fn parse(kind: IdentityKind, raw: &str) -> Result<Identity, IdentityError> {
        match kind {
            IdentityKind::Email => Self::email(raw),
            IdentityKind::Phone => Self::phone(raw),
            IdentityKind::Chat => Self::chat(raw),
            IdentityKind::Handle => Self::handle(raw),
        }
    }

    fn opaque(raw: &str, kind: IdentityKind) -> Result<Identity, IdentityError> {
        let value = raw.trim();
        if value.is_empty() || value.len() > 128 || value.chars().any(char::is_control) {
            return Err(IdentityError::Other(raw.to_owned(), kind));
        }
        Ok(Identity { kind, value: value.to_owned() })
    }
}

/// The agent who vouches for the identities `actor` records, if an agent
/// records them. Such identities start unverified and, until a supervisor or
/// admin confirms them, reach only the tickets they are on (see
/// [`crate::customer::Customer::added_by_agent`]): an agent could otherwise
/// add an address of their own to any customer, follow a magic link to it
/// and read the customer's tickets of teams hidden from them. Identities that
/// arrive on their own (an email, the web form) record no one.
pub fn added_by_agent(actor: Actor) -> Option<AgentId> {
    match actor {
        Actor::Agent(agent) => Some(agent),
        _ => None,
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_phone(raw: &str, expected: Option<&str>) {
        assert_eq!(Identity::phone(raw).ok().map(|identity| identity.value), expected.map(str::to_owned), "{raw}");
    }

    #[test]
    fn phones_normalise_to_e164() {
        check_phone("+44 7700 900123", Some("+447700900123"));
        check_phone("447700900123", Some("+447700900123"));
        check_phone("0044 (7700) 900-123", Some("+447700900123"));
        check_phone("tel:+1-202-555-0143", Some("+12025550143"));
        check_phone("07700 900123", None);
        check_phone("+12", None);
        check_phone("+1 202 555 0143 ext 2", None);
        check_phone("12+34567890", None);
    }

    #[test]
    fn whatsapp_id_and_sms_number_match() {
        assert_eq!(Identity::phone("447700900123"), Identity::phone("+44 7700 900123"));
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(Identity::email(" Ann@Example.COM ").unwrap().value, "ann@example.com");
        for bad in
            ["ann", "ann@", "@example.com", "ann@localhost", "a b@example.com", "ann@@example.com", "ann@example..com"]
        {
            assert!(Identity::email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_agents_vouch_for_the_identities_they_record() {
        assert_eq!(added_by_agent(Actor::Agent(crate::AgentId(1))), Some(crate::AgentId(1)));
        assert_eq!(added_by_agent(Actor::System), None);
        assert_eq!(added_by_agent(Actor::Customer(crate::CustomerId(1))), None);
    }

    #[test]
    fn handles_and_chat_ids() {
        assert_eq!(Identity::handle("Telegram:12345").unwrap().value, "telegram:12345");
        assert!(Identity::handle("12345").is_err());
        assert!(Identity::chat("").is_err());
        assert_eq!(Identity::chat(" v-1 ").unwrap().value, "v-1");
    }
}
