//! The phone: Twilio's voice webhooks into call events, and the TwiML
//! answers that put a caller in the queue, offer a callback and take a
//! voicemail.
//!
//! Every voice request names the call (`CallSid`) and its parties. What it
//! says about the call's lifecycle becomes core's [`CallEvent`]s: a status
//! callback's `CallStatus`, the `<Enqueue>` action's `QueueResult` and
//! `QueueTime`, a recording's `RecordingUrl`. Status callbacks carry a
//! `Timestamp` (RFC 2822) when Twilio sends one; that instant is used, so a
//! callback that arrives late still dates the event correctly.

use rapport_core::call::CallEvent;
use rapport_core::intake::InboundMessage;
use rapport_core::{Channel, Identity, TeamId, Timestamp};

use super::{Params, ParamsError, xml_escape};

/// What one voice request says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceRequest {
    /// The call's sid.
    pub sid: String,
    /// The customer's number: `From` on an inbound call, `To` on an outbound one.
    pub customer: Identity,
    /// When it happened: the request's `Timestamp`, else when it arrived.
    pub at: Timestamp,
    /// `CallStatus`, if given.
    pub status: Option<String>,
    /// `QueueResult` of the `<Enqueue>` action.
    pub queue_result: Option<String>,
    /// `QueueTime` in seconds.
    pub queue_secs: Option<i64>,
    /// `RecordingUrl` of a voicemail.
    pub recording_url: Option<String>,
    /// `Digits` the caller pressed in a `<Gather>`.
    pub digits: Option<String>,
}

/// Reads a voice request's fields.
pub fn parse_call(params: &Params, received_at: Timestamp) -> Result<VoiceRequest, ParamsError> {
    let sid = params.require("CallSid")?;
    let outbound = params.get("Direction").is_some_and(|direction| direction.starts_with("outbound"));
    let (field, number) = if outbound { ("To", params.require("To")?) } else { ("From", params.require("From")?) };
    let customer = Identity::phone(number).map_err(|_| ParamsError::Invalid { field, value: number.to_owned() })?;
    let at = params
        .get("Timestamp")
        .and_then(mail_parser::DateTime::parse_rfc822)
        .map_or(received_at, |date| Timestamp(date.to_timestamp().saturating_mul(1000)));
    let queue_secs = match params.get("QueueTime") {
        Some(value) => Some(
            value
                .trim()
                .parse::<i64>()
                .map_err(|_| ParamsError::Invalid { field: "QueueTime", value: value.to_owned() })?,
        ),
        None => None,
    };
    Ok(VoiceRequest {
        sid: sid.to_owned(),
        customer,
        at,
        status: params.get("CallStatus").map(str::to_owned),
        queue_result: params.get("QueueResult").map(str::to_owned),
        queue_secs,
        recording_url: params.get("RecordingUrl").map(str::to_owned),
        digits: params.get("Digits").map(str::to_owned),
    })
}

impl VoiceRequest {
    /// The call's message on its ticket: "Call from +…", named
    /// `twilio:call:<CallSid>` so each call is filed once.
    pub fn message(&self, team: Option<TeamId>, received_at: Timestamp) -> InboundMessage {
        let text = format!("Call from {}", self.customer.value);
        InboundMessage {
            external_id: Some(format!("twilio:call:{}", self.sid)),
            team,
            ..InboundMessage::new(Channel::Phone, self.customer.clone(), text.clone(), text, received_at)
        }
    }

    /// What the `CallStatus` of a status callback says. `queued`, `ringing`,
    /// `in-progress` (answered) and the endings `completed`, `busy`,
    /// `no-answer`, `canceled`, `failed`.
    pub fn status_event(&self) -> Option<CallEvent> {
        Some(match self.status.as_deref()? {
            "queued" => CallEvent::Queued(self.at),
            "ringing" => CallEvent::Ringing(self.at),
            "in-progress" | "answered" => CallEvent::Answered(self.at),
            "completed" | "busy" | "no-answer" | "canceled" | "failed" => CallEvent::Ended(self.at),
            _ => return None,
        })
    }

    /// What the `<Enqueue>` action says: `bridged` (an agent took the call
    /// after `QueueTime`) or `hangup` (the caller gave up). Other results
    /// (`leave` for a callback or voicemail, errors) end nothing by themselves.
    pub fn queue_event(&self) -> Option<CallEvent> {
        match self.queue_result.as_deref()? {
            "bridged" => {
                Some(CallEvent::Bridged { queue_ms: self.queue_secs.unwrap_or(0).saturating_mul(1000), at: self.at })
            }
            "hangup" => Some(CallEvent::Ended(self.at)),
            _ => None,
        }
    }

    /// A voicemail recording, if this request brings one.
    pub fn voicemail_event(&self) -> Option<CallEvent> {
        self.recording_url.as_ref().map(|url| CallEvent::Voicemail { at: self.at, url: url.clone() })
    }
}

/// The URLs the TwiML answers point Twilio at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceUrls {
    /// The `<Enqueue>` action (`/hooks/twilio/voice/queue`).
    pub queue: String,
    /// The wait and `<Gather>` URL (`/hooks/twilio/voice/gather`).
    pub gather: String,
    /// The `<Record>` action (`/hooks/twilio/voice/voicemail`).
    pub voicemail: String,
}

/// The answer to an incoming call: into the queue `queue`, waiting to the
/// gather URL's prompts.
pub fn enqueue(queue: &str, urls: &VoiceUrls) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Enqueue action="{}" method="POST" waitUrl="{}" waitUrlMethod="POST">{}</Enqueue></Response>"#,
        xml_escape(&urls.queue),
        xml_escape(&urls.gather),
        xml_escape(queue)
    )
}

/// While waiting: the caller's place and the callback offer ("press 1"),
/// then a pause before Twilio asks again.
pub fn wait_prompt(position: Option<i64>, urls: &VoiceUrls) -> String {
    let place = match position {
        Some(position) if position > 0 => format!("You are number {position} in line. "),
        _ => String::new(),
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Gather numDigits="1" action="{}" method="POST" timeout="5"><Say>{}Press 1 to be called back, keeping your place in line.</Say></Gather><Pause length="10"/></Response>"#,
        xml_escape(&urls.gather),
        xml_escape(&place)
    )
}

/// After a callback request: tell the caller and take them out of the queue.
pub fn callback_confirmed() -> String {
    r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say>Thank you. We will call you back; you keep your place in line. Goodbye.</Say><Leave/></Response>"#.to_owned()
}

/// When the wait is over the configured limit: out of the queue, to leave a voicemail.
pub fn leave_queue() -> String {
    r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say>All our agents are still busy.</Say><Leave/></Response>"#
        .to_owned()
}

/// Records a voicemail, posted to the voicemail URL.
pub fn record_voicemail(urls: &VoiceUrls, max_secs: u32) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say>Please leave a message after the tone.</Say><Record action="{}" method="POST" maxLength="{max_secs}" playBeep="true"/></Response>"#,
        xml_escape(&urls.voicemail)
    )
}

/// Says `text` and hangs up.
pub fn say_and_hang_up(text: &str) -> String {
    format!(r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say>{}</Say><Hangup/></Response>"#, xml_escape(text))
}

/// An empty answer (status callbacks need none).
pub fn empty() -> String {
    r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &str) -> VoiceRequest {
        parse_call(&Params::parse(body.as_bytes()), Timestamp(5_000)).unwrap()
    }

    // The fields of Twilio's documented voice webhook request.
    const INCOMING: &str = "AccountSid=ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX&ApiVersion=2010-04-01\
        &CallSid=CA1234567890ABCDE&CallStatus=ringing&Called=%2B18005551212&Caller=%2B12349013030\
        &Direction=inbound&From=%2B12349013030&To=%2B18005551212&FromCountry=US&ToCountry=US";

    #[test]
    fn an_incoming_call_names_the_caller() {
        let call = request(INCOMING);
        assert_eq!(call.sid, "CA1234567890ABCDE");
        assert_eq!(call.customer, Identity::phone("+12349013030").unwrap());
        assert_eq!(call.at, Timestamp(5_000));
        let message = call.message(None, Timestamp(5_000));
        assert_eq!(message.channel, Channel::Phone);
        assert_eq!(message.text, "Call from +12349013030");
        assert_eq!(message.external_id.as_deref(), Some("twilio:call:CA1234567890ABCDE"));
        assert_eq!(call.status_event(), Some(CallEvent::Ringing(Timestamp(5_000))));
    }

    #[test]
    fn status_callbacks_queue_results_and_recordings_become_events() {
        let dated = request(
            "CallSid=CA1&From=%2B12349013030&CallStatus=in-progress&Timestamp=Mon%2C+16+Aug+2010+03%3A45%3A01+%2B0000",
        );
        assert_eq!(dated.status_event(), Some(CallEvent::Answered(Timestamp(1_281_930_301_000))));
        for (status, ends) in [
            ("completed", true),
            ("busy", true),
            ("no-answer", true),
            ("canceled", true),
            ("failed", true),
            ("queued", false),
        ] {
            let call = request(&format!("CallSid=CA1&From=%2B12349013030&CallStatus={status}"));
            assert_eq!(call.status_event() == Some(CallEvent::Ended(Timestamp(5_000))), ends, "{status}");
        }
        let bridged = request("CallSid=CA1&From=%2B12349013030&QueueResult=bridged&QueueTime=42");
        assert_eq!(bridged.queue_event(), Some(CallEvent::Bridged { queue_ms: 42_000, at: Timestamp(5_000) }));
        let hangup = request("CallSid=CA1&From=%2B12349013030&QueueResult=hangup&QueueTime=7");
        assert_eq!(hangup.queue_event(), Some(CallEvent::Ended(Timestamp(5_000))));
        assert_eq!(request("CallSid=CA1&From=%2B12349013030&QueueResult=leave").queue_event(), None);
        let recording = request(
            "CallSid=CA1&From=%2B12349013030&RecordingUrl=https%3A%2F%2Fapi.twilio.com%2FRE1&RecordingDuration=12",
        );
        assert_eq!(
            recording.voicemail_event(),
            Some(CallEvent::Voicemail { at: Timestamp(5_000), url: "https://api.twilio.com/RE1".into() })
        );
        let outbound = request("CallSid=CA2&From=%2B18005551212&To=%2B12349013030&Direction=outbound-api");
        assert_eq!(outbound.customer.value, "+12349013030");
        assert_eq!(request("CallSid=CA1&From=%2B12349013030&Digits=1").digits.as_deref(), Some("1"));
    }

    #[test]
    fn unreadable_requests_name_the_field() {
        let parse = |body: &str| parse_call(&Params::parse(body.as_bytes()), Timestamp(0));
        assert_eq!(parse("From=%2B12349013030"), Err(ParamsError::Missing("CallSid")));
        assert_eq!(parse("CallSid=CA1"), Err(ParamsError::Missing("From")));
        assert!(matches!(
            parse("CallSid=CA1&From=%2B12349013030&QueueTime=soon"),
            Err(ParamsError::Invalid { field: "QueueTime", .. })
        ));
    }

    #[test]
    fn twiml_answers() {
        let urls = VoiceUrls { queue: "/q?a=1&b=2".into(), gather: "/g".into(), voicemail: "/v".into() };
        assert_eq!(
            enqueue("support", &urls),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Enqueue action="/q?a=1&amp;b=2" method="POST" waitUrl="/g" waitUrlMethod="POST">support</Enqueue></Response>"#
        );
        assert!(wait_prompt(Some(3), &urls).contains("<Say>You are number 3 in line. Press 1 to be called back"));
        assert!(record_voicemail(&urls, 120).contains(r#"<Record action="/v" method="POST" maxLength="120""#));
        assert!(callback_confirmed().ends_with("<Leave/></Response>"));
        assert_eq!(
            say_and_hang_up("a < b"),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say>a &lt; b</Say><Hangup/></Response>"#
        );
    }
}
