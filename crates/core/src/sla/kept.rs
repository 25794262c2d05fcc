//! The compact text form in which the store keeps a ticket's happenings, so
//! that re-measuring every open ticket after a policy change reads one short
//! column per ticket instead of its whole event log.
//!
//! The form is tokens separated by single spaces, in order: `c<ms>` created,
//! `m<ms>` a customer message, `r<ms>` an agent's reply, `s<ms>:<status>` a
//! status change (milliseconds since the Unix epoch, UTC). An empty list is
//! the empty string.

use std::fmt::Write as _;

use super::Happening;
use super::timeline::{instant, timestamp};
use crate::ticket::Status;

/// Kept text that cannot be read back; names the part that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable kept SLA text at {part:?}: {reason}")]
pub struct KeptFormatError {
    /// The token or field that failed.
    pub part: String,
    /// Why.
    pub reason: &'static str,
}

impl KeptFormatError {
    /// An error about `part`.
    pub fn new(part: &str, reason: &'static str) -> KeptFormatError {
        KeptFormatError { part: part.chars().take(80).collect(), reason }
    }
}

/// The happenings as kept text.
pub fn encode_happenings(happenings: &[Happening]) -> String {
    let mut text = String::with_capacity(happenings.len() * 16);
    for (index, happening) in happenings.iter().enumerate() {
        if index > 0 {
            text.push(' ');
        }
        let millis = timestamp(happening.at()).0;
        // Writing to a String cannot fail.
        let _ = match happening {
            Happening::Created(_) => write!(text, "c{millis}"),
            Happening::CustomerMessage(_) => write!(text, "m{millis}"),
            Happening::AgentReply(_) => write!(text, "r{millis}"),
            Happening::Status(_, status) => write!(text, "s{millis}:{}", status.as_str()),
        };
    }
    text
}

/// Reads [`encode_happenings`]'s text back.
pub fn decode_happenings(text: &str) -> Result<Vec<Happening>, KeptFormatError> {
    let mut happenings = Vec::with_capacity(text.len() / 14 + 1);
    if text.is_empty() {
        return Ok(happenings);
    }
    for token in text.split(' ') {
        let millis = |digits: &str| {
            digits
                .parse::<i64>()
                .map(|ms| instant(crate::time::Timestamp(ms)))
                .map_err(|_| KeptFormatError::new(token, "expected milliseconds"))
        };
        let (tag, rest) = token.split_at_checked(1).ok_or_else(|| KeptFormatError::new(token, "empty token"))?;
        let happening = match tag {
            "c" => Happening::Created(millis(rest)?),
            "m" => Happening::CustomerMessage(millis(rest)?),
            "r" => Happening::AgentReply(millis(rest)?),
            "s" => {
                let (at, status) =
                    rest.split_once(':').ok_or_else(|| KeptFormatError::new(token, "a status change needs :status"))?;
                let status: Status = status.parse().map_err(|_| KeptFormatError::new(token, "unknown status"))?;
                Happening::Status(millis(at)?, status)
            }
            _ => return Err(KeptFormatError::new(token, "unknown happening")),
        };
        happenings.push(happening);
    }
    Ok(happenings)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn happening() -> impl Strategy<Value = Happening> {
        let at = (-10_000_000_000_000i64..10_000_000_000_000).prop_map(|ms| instant(crate::time::Timestamp(ms)));
        let status = prop_oneof![
            Just(Status::New),
            Just(Status::Open),
            Just(Status::Pending),
            Just(Status::OnHold),
            Just(Status::Solved),
            Just(Status::Closed)
        ];
        prop_oneof![
            at.clone().prop_map(Happening::Created),
            at.clone().prop_map(Happening::CustomerMessage),
            at.clone().prop_map(Happening::AgentReply),
            (at, status).prop_map(|(at, status)| Happening::Status(at, status)),
        ]
    }

    proptest! {
        #[test]
        fn happenings_read_back_as_written(list in proptest::collection::vec(happening(), 0..12)) {
            prop_assert_eq!(decode_happenings(&encode_happenings(&list)).unwrap(), list);
        }
    }

    #[test]
    fn the_text_is_short_and_readable() {
        let at = |ms| instant(crate::time::Timestamp(ms));
        let list = vec![
            Happening::Created(at(1_000)),
            Happening::AgentReply(at(2_000)),
            Happening::Status(at(3_000), Status::Pending),
            Happening::CustomerMessage(at(4_000)),
        ];
        assert_eq!(encode_happenings(&list), "c1000 r2000 s3000:pending m4000");
        assert_eq!(decode_happenings("").unwrap(), vec![]);
    }

    #[test]
    fn bad_text_names_the_token() {
        let error = decode_happenings("c1000 x5").unwrap_err();
        assert_eq!((error.part.as_str(), error.reason), ("x5", "unknown happening"));
        let error = decode_happenings("s1000:asleep").unwrap_err();
        assert_eq!((error.part.as_str(), error.reason), ("s1000:asleep", "unknown status"));
        let error = decode_happenings("c10 m").unwrap_err();
        assert_eq!(error.reason, "expected milliseconds");
        assert!(decode_happenings("c1000  r2000").is_err(), "an empty token is refused");
    }
}
