//! Which channel carries a public reply, and why.
//!
//! A public reply always has a delivery: it goes on the channel the agent
//! asked for, else on the ticket's own channel, else on the customer's most
//! recent channel that can reach them. A reply that no channel can carry is
//! refused before anything is stored, so an agent never believes they
//! answered a customer who will never see it. The store gathers the facts
//! (which addresses the customer has, which channels they wrote on lately);
//! [`route`] decides.

use crate::identity::{Identity, IdentityKind};
use crate::ticket::Channel;
use serde::{Deserialize, Serialize};

/// Why a reply went out on its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ReplyRoute {
    /// The agent named the channel.
    Requested,
    /// The ticket's own channel (where the conversation is).
    #[serde(rename = "ticket_channel")]
    Ticket,
    /// The ticket's channel cannot reach the customer (no address there), so
    /// the reply takes the customer's most recent channel that can.
    Fallback {
        /// The ticket's channel, which could not carry it.
        unreachable: Channel,
    },
    /// A live-chat message typed at the chat desk, shown on the visitor's socket.
    LiveChat,
}

impl ReplyRoute {
    /// The word kept in the database and shown in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyRoute::Requested => "requested",
            ReplyRoute::Ticket => "ticket_channel",
            ReplyRoute::Fallback { .. } => "fallback",
            ReplyRoute::LiveChat => "live_chat",
        }
    }

    /// How the route is kept in one column: the word, and for a fallback the
    /// channel that could not carry it (`fallback:whatsapp`).
    pub fn encode(self) -> String {
        match self {
            ReplyRoute::Fallback { unreachable } => format!("fallback:{}", unreachable.as_str()),
            other => other.as_str().to_owned(),
        }
    }

    /// Reads [`ReplyRoute::encode`]'s text; `None` for anything else.
    pub fn decode(text: &str) -> Option<ReplyRoute> {
        match text.split_once(':') {
            Some(("fallback", channel)) => channel.parse().ok().map(|unreachable| ReplyRoute::Fallback { unreachable }),
            Some(_) => None,
            None => [ReplyRoute::Requested, ReplyRoute::Ticket, ReplyRoute::LiveChat]
                .into_iter()
                .find(|route| route.as_str() == text),
        }
    }

    /// A sentence for the agent: why the reply took `channel`.
    pub fn explain(self, channel: Channel) -> String {
        match self {
            ReplyRoute::Requested => format!("sent on {} as the agent chose", channel.label()),
            ReplyRoute::Ticket => format!("sent on {}, the ticket's channel", channel.label()),
            ReplyRoute::Fallback { unreachable } => format!(
                "sent on {}, the customer's most recent channel that reaches them: they have no address on {}",
                channel.label(),
                unreachable.label()
            ),
            ReplyRoute::LiveChat => "shown in the live chat".to_owned(),
        }
    }
}

/// A reply's channel and the reason for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routed {
    /// The channel that carries it.
    pub channel: Channel,
    /// Why.
    pub route: ReplyRoute,
}

/// A reply no channel can carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The agent named a channel on which the customer has no address.
    #[error("the customer has no address on {}: choose another channel or add their {} first", .channel.label(), .channel.address_word())]
    RequestedUnreachable {
        /// The channel asked for.
        channel: Channel,
    },
    /// The customer has no address any channel can reach.
    #[error(
        "the customer cannot be reached on any channel: they have no email address, phone number or messaging handle; add one to the customer, or write an internal note instead"
    )]
    Unreachable,
}

/// The kind of identity a reply on `channel` goes to, and the prefix its
/// value carries (handles name their network). Email carries replies for
/// email, the web form and the API; WhatsApp, SMS and the phone reach a
/// phone number; Telegram, Messenger and Instagram a handle on their
/// network; live chat its visitor.
pub fn reply_identity(channel: Channel) -> (IdentityKind, &'static str) {
    match channel {
        Channel::Email | Channel::Web | Channel::Api => (IdentityKind::Email, ""),
        Channel::Whatsapp | Channel::Sms | Channel::Phone => (IdentityKind::Phone, ""),
        Channel::Telegram => (IdentityKind::Handle, "telegram:"),
        Channel::Messenger => (IdentityKind::Handle, "messenger:"),
        Channel::Instagram => (IdentityKind::Handle, "instagram:"),
        Channel::Chat => (IdentityKind::Chat, ""),
    }
}

/// Whether `identity` can receive a reply on `channel`.
pub fn reaches(identity: &Identity, channel: Channel) -> bool {
    let (kind, prefix) = reply_identity(channel);
    identity.kind == kind && identity.value.starts_with(prefix)
}

/// The channel a reply to `identity` takes when the customer never wrote on
/// one that reaches it: email for an address, SMS for a phone number (it
/// reaches every phone, while WhatsApp needs the customer to have written
/// first), the handle's network, the live chat.
pub fn channel_for(identity: &Identity) -> Option<Channel> {
    match identity.kind {
        IdentityKind::Email => Some(Channel::Email),
        IdentityKind::Phone => Some(Channel::Sms),
        IdentityKind::Chat => Some(Channel::Chat),
        IdentityKind::Handle => [Channel::Telegram, Channel::Messenger, Channel::Instagram]
            .into_iter()
            .find(|channel| identity.value.starts_with(reply_identity(*channel).1)),
    }
}

/// Chooses the channel of a public reply: the one `requested` (refused when
/// it cannot reach the customer), else `ticket_channel`, else the first of
/// `recent` (the customer's channels, most recent first) that reaches one of
/// `identities` (the ticket's requesters and the customer's identities).
pub fn route(
    requested: Option<Channel>,
    ticket_channel: Channel,
    recent: &[Channel],
    identities: &[Identity],
) -> Result<Routed, RouteError> {
    let reachable = |channel: Channel| identities.iter().any(|identity| reaches(identity, channel));
    if let Some(channel) = requested {
        return if reachable(channel) {
            Ok(Routed { channel, route: ReplyRoute::Requested })
        } else {
            Err(RouteError::RequestedUnreachable { channel })
        };
    }
    if reachable(ticket_channel) {
        return Ok(Routed { channel: ticket_channel, route: ReplyRoute::Ticket });
    }
    let fallback = ReplyRoute::Fallback { unreachable: ticket_channel };
    recent
        .iter()
        .copied()
        .chain(identities.iter().filter_map(channel_for))
        .find(|channel| reachable(*channel))
        .map(|channel| Routed { channel, route: fallback })
        .ok_or(RouteError::Unreachable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(kind: IdentityKind, value: &str) -> Identity {
        Identity::parse(kind, value).unwrap()
    }

    fn email() -> Identity {
        identity(IdentityKind::Email, "ana@example.com")
    }
    fn phone() -> Identity {
        identity(IdentityKind::Phone, "+4915112345678")
    }
    fn telegram() -> Identity {
        identity(IdentityKind::Handle, "telegram:4711")
    }
    fn visitor() -> Identity {
        identity(IdentityKind::Chat, "visitor-1")
    }

    fn check(
        requested: Option<Channel>,
        ticket: Channel,
        recent: &[Channel],
        ids: &[Identity],
        expected: Result<Routed, RouteError>,
    ) {
        assert_eq!(route(requested, ticket, recent, ids), expected, "{requested:?} {ticket:?} {recent:?} {ids:?}");
    }

    fn routed(channel: Channel, route: ReplyRoute) -> Result<Routed, RouteError> {
        Ok(Routed { channel, route })
    }

    #[test]
    fn the_ticket_channel_carries_a_reply_when_it_reaches_the_customer() {
        check(None, Channel::Whatsapp, &[], &[phone()], routed(Channel::Whatsapp, ReplyRoute::Ticket));
        check(None, Channel::Web, &[], &[email()], routed(Channel::Web, ReplyRoute::Ticket));
        check(None, Channel::Telegram, &[], &[telegram(), email()], routed(Channel::Telegram, ReplyRoute::Ticket));
    }

    #[test]
    fn an_unreachable_ticket_channel_falls_back_to_the_most_recent_reachable_one() {
        let fallback = ReplyRoute::Fallback { unreachable: Channel::Whatsapp };
        check(None, Channel::Whatsapp, &[], &[email()], routed(Channel::Email, fallback));
        check(
            None,
            Channel::Whatsapp,
            &[Channel::Whatsapp, Channel::Telegram, Channel::Email],
            &[email(), telegram()],
            routed(Channel::Telegram, fallback),
        );
        let fallback = ReplyRoute::Fallback { unreachable: Channel::Chat };
        check(None, Channel::Chat, &[], &[phone()], routed(Channel::Sms, fallback));
    }

    #[test]
    fn a_requested_channel_is_used_or_refused_never_replaced() {
        check(
            Some(Channel::Email),
            Channel::Whatsapp,
            &[],
            &[phone(), email()],
            routed(Channel::Email, ReplyRoute::Requested),
        );
        check(
            Some(Channel::Whatsapp),
            Channel::Email,
            &[],
            &[email()],
            Err(RouteError::RequestedUnreachable { channel: Channel::Whatsapp }),
        );
    }

    #[test]
    fn a_customer_without_any_address_cannot_be_answered() {
        check(None, Channel::Phone, &[Channel::Phone], &[], Err(RouteError::Unreachable));
    }

    #[test]
    fn every_channel_against_every_combination_of_identities() {
        let all = [email(), phone(), telegram(), visitor(), identity(IdentityKind::Handle, "instagram:ana")];
        for mask in 0u32..(1 << all.len()) {
            let ids: Vec<Identity> =
                all.iter().enumerate().filter(|(bit, _)| mask & (1 << bit) != 0).map(|(_, id)| id.clone()).collect();
            for ticket in Channel::ALL {
                match route(None, ticket, &[], &ids) {
                    Ok(routed) => {
                        assert!(ids.iter().any(|id| reaches(id, routed.channel)), "{ticket:?} {ids:?} -> {routed:?}");
                        let on_ticket = ids.iter().any(|id| reaches(id, ticket));
                        assert_eq!(routed.route == ReplyRoute::Ticket, on_ticket, "{ticket:?} {ids:?}");
                    }
                    Err(error) => {
                        assert_eq!(error, RouteError::Unreachable);
                        assert!(ids.is_empty(), "{ticket:?} {ids:?} found no route");
                    }
                }
                for requested in Channel::ALL {
                    let reachable = ids.iter().any(|id| reaches(id, requested));
                    assert_eq!(route(Some(requested), ticket, &[], &ids).is_ok(), reachable);
                }
            }
        }
    }

    #[test]
    fn routes_are_kept_as_text_and_read_back() {
        for route in [
            ReplyRoute::Requested,
            ReplyRoute::Ticket,
            ReplyRoute::LiveChat,
            ReplyRoute::Fallback { unreachable: Channel::Instagram },
        ] {
            assert_eq!(ReplyRoute::decode(&route.encode()), Some(route));
        }
        assert_eq!(ReplyRoute::decode("fallback:pigeon"), None);
        assert_eq!(ReplyRoute::decode("whim"), None);
    }
}
