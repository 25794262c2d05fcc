//! The SLA policies Rapport ships with, installed when a database has none.
//!
//! Customers judge support by waiting: a call answered within a minute, a
//! chat within a minute, a social or messaging DM within two hours, an email
//! or web form within six business hours (on the default calendar). Premium
//! customers get tighter targets, and so do urgent tickets (the tier ×
//! urgency matrix sets the priority). The first matching policy applies, so
//! the tighter ones come first.

use super::{DEFAULT_CALENDAR, PolicyMatch, SlaPolicy, TargetSpec, Targets};
use crate::priority::{Level, Tier};
use crate::ticket::Channel;

/// The share of calls the phone policy aims to answer within its target.
pub const PHONE_GOAL_PERCENT: u8 = 80;

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;

fn real(seconds: i64) -> Option<TargetSpec> {
    Some(TargetSpec { seconds, business_hours: false })
}

fn business(seconds: i64) -> Option<TargetSpec> {
    Some(TargetSpec { seconds, business_hours: true })
}

fn policy(name: &str, conditions: PolicyMatch, targets: Targets) -> SlaPolicy {
    SlaPolicy {
        name: name.to_owned(),
        conditions,
        targets,
        pause_when_pending: true,
        calendar: DEFAULT_CALENDAR.to_owned(),
    }
}

const MESSAGING: [Channel; 5] =
    [Channel::Whatsapp, Channel::Telegram, Channel::Messenger, Channel::Instagram, Channel::Sms];
const WRITTEN: [Channel; 3] = [Channel::Email, Channel::Web, Channel::Api];

/// The shipped policies, tightest first.
pub fn default_policies() -> Vec<SlaPolicy> {
    let premium = || vec![Tier("premium".to_owned())];
    let on = |channels: &[Channel]| PolicyMatch { channels: channels.to_vec(), ..PolicyMatch::default() };
    let premium_on = |channels: &[Channel]| PolicyMatch { tiers: premium(), ..on(channels) };
    vec![
        policy(
            "Premium phone",
            premium_on(&[Channel::Phone]),
            Targets { first_response: real(30), ..Targets::default() },
        ),
        policy(
            "Premium live chat",
            premium_on(&[Channel::Chat]),
            Targets { first_response: real(30), next_response: real(MINUTE), ..Targets::default() },
        ),
        policy(
            "Premium messaging",
            premium_on(&MESSAGING),
            Targets { first_response: real(30 * MINUTE), next_response: real(HOUR), ..Targets::default() },
        ),
        policy(
            "Premium email and web",
            premium_on(&WRITTEN),
            Targets {
                first_response: business(2 * HOUR),
                next_response: business(4 * HOUR),
                resolution: business(16 * HOUR),
            },
        ),
        policy(
            "Urgent email and web",
            PolicyMatch { priorities: vec![Level::Urgent], ..on(&WRITTEN) },
            Targets {
                first_response: business(HOUR),
                next_response: business(2 * HOUR),
                resolution: business(8 * HOUR),
            },
        ),
        policy("Phone", on(&[Channel::Phone]), Targets { first_response: real(MINUTE), ..Targets::default() }),
        policy(
            "Live chat",
            on(&[Channel::Chat]),
            Targets { first_response: real(MINUTE), next_response: real(2 * MINUTE), ..Targets::default() },
        ),
        policy(
            "Messaging",
            on(&MESSAGING),
            Targets { first_response: real(2 * HOUR), next_response: real(2 * HOUR), ..Targets::default() },
        ),
        policy(
            "Email and web",
            on(&WRITTEN),
            Targets {
                first_response: business(6 * HOUR),
                next_response: business(6 * HOUR),
                resolution: business(24 * HOUR),
            },
        ),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::sla::{TicketFacts, first_match};

    fn facts(channel: Channel, tier: &str, priority: Level) -> TicketFacts {
        TicketFacts { channel, tier: Tier(tier.to_owned()), priority, team: None, tags: vec![] }
    }

    #[test]
    fn every_channel_has_a_default_and_premium_is_tighter() {
        let policies = default_policies();
        for policy in &policies {
            policy.validate().unwrap();
        }
        let first = |channel, tier, priority| {
            let policy = first_match(&policies, &facts(channel, tier, priority)).unwrap();
            policy.targets.first_response.unwrap()
        };
        assert_eq!(first(Channel::Phone, "basic", Level::Normal), TargetSpec { seconds: 60, business_hours: false });
        assert_eq!(first(Channel::Chat, "basic", Level::Normal).seconds, 60);
        assert_eq!(first(Channel::Whatsapp, "basic", Level::Normal).seconds, 2 * HOUR);
        assert_eq!(
            first(Channel::Email, "basic", Level::Normal),
            TargetSpec { seconds: 6 * HOUR, business_hours: true }
        );
        assert_eq!(first(Channel::Web, "business", Level::High).seconds, 6 * HOUR);
        for channel in [Channel::Phone, Channel::Chat, Channel::Sms, Channel::Email, Channel::Web, Channel::Telegram] {
            assert!(first(channel, "premium", Level::Normal).seconds < first(channel, "basic", Level::Normal).seconds);
        }
        assert!(
            first(Channel::Email, "basic", Level::Urgent).seconds
                < first(Channel::Email, "basic", Level::Normal).seconds
        );
    }
}
