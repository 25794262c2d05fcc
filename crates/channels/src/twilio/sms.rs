//! SMS and MMS: Twilio's messaging webhook into core's inbound message, and
//! its status callbacks into delivery receipts.
//!
//! The sender is the `From` number (an E.164 phone identity, which SMS,
//! WhatsApp and voice share), the message is named `twilio:<MessageSid>` so a
//! retried webhook is filed once, and MMS media are listed for the webhook
//! to fetch (with the account's credentials) and keep as attachments.

use rapport_core::intake::{InboundMessage, summary_subject};
use rapport_core::outbox::DeliveryState;
use rapport_core::{Channel, Identity, TeamId, Timestamp};

use super::{Params, ParamsError};

/// One media file of an MMS, still at Twilio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRef {
    /// `MediaUrlN`.
    pub url: String,
    /// `MediaContentTypeN`.
    pub content_type: String,
}

/// An inbound SMS or MMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    /// The message in core's shape (without its media).
    pub message: InboundMessage,
    /// The media to fetch and attach.
    pub media: Vec<MediaRef>,
}

/// Reads the messaging webhook's fields.
pub fn parse_message(params: &Params, team: Option<TeamId>, received_at: Timestamp) -> Result<Sms, ParamsError> {
    let sid = params.require("MessageSid")?;
    let from = params.require("From")?;
    let sender = Identity::phone(from).map_err(|_| ParamsError::Invalid { field: "From", value: from.to_owned() })?;
    let count = match params.get("NumMedia") {
        Some(count) => count
            .trim()
            .parse::<usize>()
            .map_err(|_| ParamsError::Invalid { field: "NumMedia", value: count.to_owned() })?,
        None => 0,
    };
    // Twilio sends at most 10 media per message.
    let media: Vec<MediaRef> = (0..count.min(10))
        .filter_map(|index| {
            let url = params.get(&format!("MediaUrl{index}"))?;
            let content_type = params.get(&format!("MediaContentType{index}")).unwrap_or("application/octet-stream");
            Some(MediaRef { url: url.to_owned(), content_type: content_type.to_owned() })
        })
        .collect();
    let body = params.get("Body").map(str::trim).unwrap_or_default().to_owned();
    let text = match (body.is_empty(), media.is_empty()) {
        (false, _) => body,
        (true, false) => media.iter().map(|media| format!("[{}]", media.content_type)).collect::<Vec<_>>().join(" "),
        (true, true) => "[empty message]".to_owned(),
    };
    let message = InboundMessage {
        external_id: Some(external_id(sid)),
        team,
        ..InboundMessage::new(Channel::Sms, sender, summary_subject(&text), text, received_at)
    };
    Ok(Sms { message, media })
}

/// The external id of the message with Twilio sid `sid`.
pub fn external_id(sid: &str) -> String {
    format!("twilio:{sid}")
}

/// A file name for the `index`th media of message `sid`, from its content type.
pub fn media_filename(sid: &str, index: usize, content_type: &str) -> String {
    let extension = match content_type.split(';').next().unwrap_or_default().trim() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "video/mp4" => "mp4",
        "audio/mpeg" => "mp3",
        "text/vcard" | "text/x-vcard" => "vcf",
        "application/pdf" => "pdf",
        _ => "bin",
    };
    format!("{sid}-{index}.{extension}")
}

/// A delivery report for a message we sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The message's sid (what the send returned).
    pub sid: String,
    /// What it says.
    pub state: DeliveryState,
    /// The error code of a failure, for the agent.
    pub detail: Option<String>,
}

/// Reads a message status callback. `Ok(None)` for statuses that say nothing
/// new about a sent message (`accepted`, `scheduled`, `receiving`, ...).
pub fn parse_status(params: &Params) -> Result<Option<Receipt>, ParamsError> {
    let sid = params.require("MessageSid")?;
    let status =
        params.get("MessageStatus").or_else(|| params.get("SmsStatus")).ok_or(ParamsError::Missing("MessageStatus"))?;
    let state = match status {
        "queued" | "sending" => DeliveryState::Queued,
        "sent" => DeliveryState::Sent,
        "delivered" => DeliveryState::Delivered,
        "read" => DeliveryState::Read,
        "undelivered" | "failed" => DeliveryState::Failed,
        _ => return Ok(None),
    };
    let detail = params.get("ErrorCode").map(|code| match params.get("ErrorMessage") {
        Some(message) => format!("Twilio error {code}: {message}"),
        None => format!("Twilio error {code}"),
    });
    Ok(Some(Receipt { sid: sid.to_owned(), state, detail }))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The fields of Twilio's documented incoming-message webhook.
    const INCOMING: &str = "ToCountry=US&ToState=CA&SmsMessageSid=SM1342fe1b2c904d1ab04f0fc7a58abca9\
        &NumMedia=0&ToCity=SAN+FRANCISCO&FromZip=94105&SmsSid=SM1342fe1b2c904d1ab04f0fc7a58abca9\
        &FromState=CA&SmsStatus=received&FromCity=SAN+FRANCISCO&Body=Hello+from+Twilio%21\
        &FromCountry=US&To=%2B15557122661&ToZip=94105&NumSegments=1\
        &MessageSid=SM1342fe1b2c904d1ab04f0fc7a58abca9&AccountSid=ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\
        &From=%2B14155551234&ApiVersion=2010-04-01";

    #[test]
    fn an_incoming_sms_becomes_an_inbound_message() {
        let sms = parse_message(&Params::parse(INCOMING.as_bytes()), None, Timestamp(9)).unwrap();
        let message = sms.message;
        assert_eq!(message.channel, Channel::Sms);
        assert_eq!(message.sender, Identity::phone("+14155551234").unwrap());
        assert_eq!(message.external_id.as_deref(), Some("twilio:SM1342fe1b2c904d1ab04f0fc7a58abca9"));
        assert_eq!(message.text, "Hello from Twilio!");
        assert_eq!(message.subject, "Hello from Twilio!");
        assert_eq!(message.received_at, Timestamp(9));
        assert!(sms.media.is_empty());
    }

    #[test]
    fn mms_media_are_listed_for_fetching() {
        let body = "MessageSid=MM800f449d0399ed014aae2bcc0cc2f2ec&From=%2B14155551234&To=%2B15557122661&Body=\
            &NumMedia=2&MediaContentType0=image%2Fjpeg\
            &MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC1%2FMessages%2FMM8%2FMedia%2FME1\
            &MediaContentType1=application%2Fpdf&MediaUrl1=https%3A%2F%2Fapi.twilio.com%2FME2";
        let sms = parse_message(&Params::parse(body.as_bytes()), None, Timestamp(0)).unwrap();
        assert_eq!(sms.media.len(), 2);
        assert_eq!(sms.media[0].url, "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM8/Media/ME1");
        assert_eq!(sms.media[1].content_type, "application/pdf");
        assert_eq!(sms.message.text, "[image/jpeg] [application/pdf]");
        assert_eq!(media_filename("MM8", 0, "image/jpeg"), "MM8-0.jpg");
    }

    #[test]
    fn unreadable_messages_name_the_field() {
        let missing = parse_message(&Params::parse(b"From=%2B14155551234&Body=x"), None, Timestamp(0));
        assert_eq!(missing, Err(ParamsError::Missing("MessageSid")));
        let bad = parse_message(&Params::parse(b"MessageSid=SM1&From=hello&Body=x"), None, Timestamp(0));
        assert_eq!(bad, Err(ParamsError::Invalid { field: "From", value: "hello".to_owned() }));
    }

    #[test]
    fn status_callbacks_become_receipts() {
        let status = |body: &str| parse_status(&Params::parse(body.as_bytes())).unwrap();
        let delivered = status("SmsSid=SM1&SmsStatus=delivered&MessageStatus=delivered&MessageSid=SM1&AccountSid=AC1");
        assert_eq!(delivered, Some(Receipt { sid: "SM1".into(), state: DeliveryState::Delivered, detail: None }));
        let failed = status("MessageSid=SM2&MessageStatus=undelivered&ErrorCode=30003");
        assert_eq!(failed.unwrap().detail.as_deref(), Some("Twilio error 30003"));
        assert_eq!(status("MessageSid=SM3&MessageStatus=read").unwrap().state, DeliveryState::Read);
        assert_eq!(status("MessageSid=SM3&MessageStatus=sent").unwrap().state, DeliveryState::Sent);
        assert_eq!(status("MessageSid=SM3&MessageStatus=accepted"), None);
        assert!(parse_status(&Params::parse(b"MessageStatus=sent")).is_err());
    }
}
