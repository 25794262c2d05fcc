//! Messaging apps' customer-service window. WhatsApp, Messenger and Instagram
//! accept a free-form reply only within 24 hours of the customer's last
//! message; after that, only an approved template may open the conversation
//! again. The window is decided here so that the API shows it and the outbox
//! picks the right kind of message from the same rule.

use crate::ticket::Channel;
use crate::time::{HOUR, Timestamp};
use serde::{Deserialize, Serialize};

/// How long after the customer's last message a free-form reply is allowed.
pub const SERVICE_WINDOW_MS: i64 = 24 * HOUR;

/// Where a conversation stands for free-form replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ServiceWindow {
    /// The channel has no window: any reply may be free-form.
    Unlimited,
    /// Free-form replies are allowed until `closes_at`.
    Open {
        /// The instant the window closes (exclusive).
        closes_at: Timestamp,
    },
    /// Only a template message may be sent.
    Closed {
        /// When it closed; `None` when the customer never wrote on this channel.
        closed_at: Option<Timestamp>,
    },
}

/// True for channels whose providers enforce the 24-hour window.
pub fn has_service_window(channel: Channel) -> bool {
    matches!(channel, Channel::Whatsapp | Channel::Messenger | Channel::Instagram)
}

/// The window on `channel` at `now`, given the customer's last message on it.
pub fn service_window(channel: Channel, last_customer_message: Option<Timestamp>, now: Timestamp) -> ServiceWindow {
    if !has_service_window(channel) {
        return ServiceWindow::Unlimited;
    }
    match last_customer_message {
        Some(last) => {
            let closes_at = last.plus_millis(SERVICE_WINDOW_MS);
            if now < closes_at {
                ServiceWindow::Open { closes_at }
            } else {
                ServiceWindow::Closed { closed_at: Some(closes_at) }
            }
        }
        None => ServiceWindow::Closed { closed_at: None },
    }
}

/// True when a reply must be sent as an approved template.
pub fn needs_template(window: ServiceWindow) -> bool {
    matches!(window, ServiceWindow::Closed { .. })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T: Timestamp = Timestamp(1_790_000_000_000);

    #[test]
    fn the_window_is_24_hours_on_meta_channels_only() {
        let last = Some(T);
        let open = service_window(Channel::Whatsapp, last, T.plus_millis(23 * HOUR));
        assert_eq!(open, ServiceWindow::Open { closes_at: T.plus_millis(24 * HOUR) });
        assert!(!needs_template(open));
        let edge = service_window(Channel::Whatsapp, last, T.plus_millis(24 * HOUR));
        assert_eq!(edge, ServiceWindow::Closed { closed_at: Some(T.plus_millis(24 * HOUR)) }, "the end is exclusive");
        assert!(needs_template(edge));
        assert_eq!(service_window(Channel::Messenger, None, T), ServiceWindow::Closed { closed_at: None });
        assert!(needs_template(service_window(Channel::Instagram, last, T.plus_millis(30 * HOUR))));
        for channel in [Channel::Email, Channel::Telegram, Channel::Sms, Channel::Chat, Channel::Web] {
            assert_eq!(service_window(channel, None, T), ServiceWindow::Unlimited, "{channel}");
        }
    }

    proptest! {
        #[test]
        fn open_exactly_within_24_hours(elapsed in 0_i64..(72 * HOUR)) {
            let window = service_window(Channel::Whatsapp, Some(T), T.plus_millis(elapsed));
            prop_assert_eq!(needs_template(window), elapsed >= SERVICE_WINDOW_MS);
        }
    }
}
