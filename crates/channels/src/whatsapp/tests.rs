//! Tests against Meta's published WhatsApp example payloads.

use super::*;
use crate::webhook::{meta_signature, verify_meta};

const PHONE_NUMBER_ID: &str = "106540352242922";

// Meta's text message example (WhatsApp Cloud API, "messages webhook reference"), on one line.
const TEXT: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},"field":"messages"}]}]}"#;

// The image example's message (caption, MIME type, SHA-256 and media id as Meta documents them).
const IMAGE: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"8856996819413533","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"16505553333","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Kerry Fisher"},"wa_id":"16315551234"}],"messages":[{"from":"16315551234","id":"wamid.id","timestamp":"1603059201","type":"image","image":{"caption":"This is a caption","mime_type":"image/jpeg","sha256":"81d3bd8a8db4868c9520ed47186e8b7c5789e61ff79f7f834be6950b808a90d3","id":"2754859441498128"}}]},"field":"messages"}]}]}"#;

// Meta's status examples: sent (with conversation and pricing), then delivered, read and failed.
const STATUSES: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"1314702302917944","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15556459128","phone_number_id":"106540352242922"},"statuses":[{"id":"wamid.HBgNNTUxNjk5MjMxODIyMhUCABEYEjgxQkVFRDVBQTVDODFDOTg3MQA=","status":"sent","timestamp":"1750857384","recipient_id":"5516992318222","conversation":{"id":"a75d17ad06104c51166f948319b03c6a","expiration_timestamp":"1750943820","origin":{"type":"service"}},"pricing":{"billable":true,"pricing_model":"CBP","category":"service"}},{"id":"wamid.HBgNNTUxNjk5MjMxODIyMhUCABEYEjgxQkVFRDVBQTVDODFDOTg3MQA=","status":"delivered","timestamp":"1750857384","recipient_id":"5516992318222"},{"id":"wamid.HBgNNTUxNjk5MjMxODIyMhUCABEYEjgxQkVFRDVBQTVDODFDOTg3MQA=","status":"read","timestamp":"1750857390","recipient_id":"5516992318222"},{"id":"wamid.failed","status":"failed","timestamp":"1750857391","recipient_id":"5516992318222","errors":[{"code":131014,"title":"Request for url https://URL.jpg failed with error: 404 (Not Found)"}]}]},"field":"messages"}]}]}"#;

fn parse(body: &str) -> Notification {
    parse_notification(body.as_bytes(), PHONE_NUMBER_ID, None, Timestamp(7)).unwrap()
}

#[test]
fn the_documented_text_message_becomes_an_inbound_message() {
    let notification = parse(TEXT);
    assert!(notification.receipts.is_empty());
    let [inbound] = &notification.messages[..] else { panic!("{notification:?}") };
    let message = &inbound.message;
    assert_eq!(message.channel, Channel::Whatsapp);
    assert_eq!(message.sender, Identity::phone("+16505551234").unwrap());
    assert_eq!(message.sender_name.as_deref(), Some("Sheena Nelson"));
    assert_eq!(
        message.external_id.as_deref(),
        Some("whatsapp:wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=")
    );
    assert_eq!(message.text, "Does it come in another color?");
    assert_eq!(message.subject, "Does it come in another color?");
    assert_eq!(message.received_at, Timestamp(7));
    assert!(inbound.media.is_empty());
}

#[test]
fn the_documented_image_message_lists_its_media() {
    let notification = parse(IMAGE);
    let [inbound] = &notification.messages[..] else { panic!("{notification:?}") };
    assert_eq!(inbound.message.text, "This is a caption\n[image]");
    assert_eq!(
        inbound.media,
        vec![MediaRef {
            source: "2754859441498128".into(),
            filename: "image-2754859441498128.jpg".into(),
            content_type: "image/jpeg".into(),
            kind: "image".into(),
        }]
    );
    let mut message = inbound.message.clone();
    graph::attach(&mut message, &inbound.media[0], Ok((b"jpeg".to_vec(), None))).unwrap();
    assert_eq!(message.attachments[0].content, b"jpeg");
    assert_eq!(message.attachments[0].content_type, "image/jpeg");
    let mut gone = inbound.message.clone();
    graph::attach(&mut gone, &inbound.media[0], Err(FetchError::Permanent("404".into()))).unwrap();
    assert!(gone.attachments.is_empty());
    assert!(gone.text.ends_with("[the image could not be kept: 404]"), "{}", gone.text);
    let retry = graph::attach(&mut gone, &inbound.media[0], Err(FetchError::Transient("503".into())));
    assert!(retry.is_err(), "a transient failure is the caller's to retry");
}

#[test]
fn the_documented_statuses_become_receipts() {
    let notification = parse(STATUSES);
    assert!(notification.messages.is_empty());
    let wamid = "wamid.HBgNNTUxNjk5MjMxODIyMhUCABEYEjgxQkVFRDVBQTVDODFDOTg3MQA=";
    let states: Vec<(&str, DeliveryState)> =
        notification.receipts.iter().map(|receipt| (receipt.provider_id.as_str(), receipt.state)).collect();
    assert_eq!(
        states,
        vec![
            (wamid, DeliveryState::Sent),
            (wamid, DeliveryState::Delivered),
            (wamid, DeliveryState::Read),
            ("wamid.failed", DeliveryState::Failed)
        ]
    );
    assert_eq!(
        notification.receipts[3].detail.as_deref(),
        Some("WhatsApp error 131014: Request for url https://URL.jpg failed with error: 404 (Not Found)")
    );
}

#[test]
fn one_post_carries_several_messages_and_other_kinds() {
    let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
        {"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},
         "contacts":[{"profile":{"name":"A"},"wa_id":"4915112345678"},{"profile":{"name":"B"},"wa_id":"447700900123"}],
         "messages":[
           {"from":"4915112345678","id":"wamid.1","timestamp":"1","type":"document","document":{"id":"55","mime_type":"application/pdf","filename":"invoice.pdf"}},
           {"from":"447700900123","id":"wamid.2","timestamp":"1","type":"location","location":{"latitude":51.5,"longitude":-0.12,"name":"Shop","address":"1 High St"}},
           {"from":"447700900123","id":"wamid.3","timestamp":"1","type":"reaction","reaction":{"message_id":"wamid.x","emoji":"+"}},
           {"from":"447700900123","id":"wamid.4","timestamp":"1","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"b1","title":"Yes please"}}}],
         "statuses":[{"id":"wamid.9","status":"deleted"}]}},
        {"field":"messages","value":{"metadata":{"phone_number_id":"999"},"messages":[{"from":"1","id":"wamid.other","type":"text","text":{"body":"x"}}]}},
        {"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}}]}]}"#;
    let notification = parse(body);
    let texts: Vec<&str> = notification.messages.iter().map(|inbound| inbound.message.text.as_str()).collect();
    assert_eq!(texts, vec!["[document: invoice.pdf]", "[location] Shop, 1 High St (51.5, -0.12)", "Yes please"]);
    assert_eq!(notification.messages[0].message.sender_name.as_deref(), Some("A"));
    assert_eq!(notification.messages[1].message.sender_name.as_deref(), Some("B"));
    assert_eq!(notification.messages[1].message.sender.value, "+447700900123");
    assert_eq!(notification.messages[0].media[0].filename, "invoice.pdf");
    assert!(notification.receipts.is_empty(), "a deleted status records nothing");
    assert!(parse_notification(b"not json", PHONE_NUMBER_ID, None, Timestamp(0)).is_err());
    assert!(parse_notification(br#"{"object":"page","entry":[]}"#, PHONE_NUMBER_ID, None, Timestamp(0)).is_err());
}

#[test]
fn the_signature_over_the_documented_body_matches_an_independent_hmac() {
    // python3 -c 'import hmac,hashlib; print(hmac.new(b"meta-app-secret-1", TEXT, hashlib.sha256).hexdigest())'
    // with TEXT the exact bytes of the constant above.
    let expected = "sha256=7bdcebd0ce9a87ea1b32aadae0570921812fe5298075183344b02eb0c5620c87";
    assert_eq!(meta_signature("meta-app-secret-1", TEXT.as_bytes()), expected);
    assert!(verify_meta("meta-app-secret-1", Some(expected), TEXT.as_bytes()).is_ok());
    assert!(verify_meta("meta-app-secret-2", Some(expected), TEXT.as_bytes()).is_err());
}

#[test]
fn template_parameters_are_folded_onto_one_line_and_capped() {
    assert_eq!(template_parameter("Hello,\n\n  it\tships     today."), "Hello, it ships today.");
    let long = "x".repeat(2000);
    let cut = template_parameter(&long);
    assert_eq!(cut.chars().count(), 1024);
    assert!(cut.ends_with('…'));
}
