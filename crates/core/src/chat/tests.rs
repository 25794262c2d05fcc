use super::*;
use serde_json::json;

fn line(id: i64) -> TranscriptLine {
    TranscriptLine {
        id: MessageId(id),
        from: Party::Visitor,
        name: None,
        text: format!("line {id}"),
        at: Timestamp(id),
    }
}

#[test]
fn ids_are_checked() {
    assert!(VisitorId::parse("v-0123456789abcdef").is_ok());
    assert_eq!(VisitorId::parse("short"), Err(ChatIdError::Visitor));
    assert_eq!(VisitorId::parse("has space in it"), Err(ChatIdError::Visitor));
    assert_eq!(VisitorId::parse(&"a".repeat(65)), Err(ChatIdError::Visitor));
    assert!(ClientMessageId::parse("k3.17").is_ok());
    assert_eq!(ClientMessageId::parse(""), Err(ChatIdError::ClientMessage));
    assert_eq!(ClientMessageId::parse("a:b"), Err(ChatIdError::ClientMessage));
}

#[test]
fn external_ids_name_the_sender_and_the_client_id() {
    let visitor = VisitorId::parse("visitor-1").unwrap();
    let client = ClientMessageId::parse("m1").unwrap();
    assert_eq!(visitor_external_id(&visitor, &client), "chat:visitor-1:m1");
    assert_eq!(agent_external_id(AgentId(4), &client), "chat-agent:4:m1");
}

#[test]
fn replay_sends_what_follows_the_last_seen_id() {
    let transcript = vec![line(3), line(5), line(9)];
    assert_eq!(replay_after(&transcript, None).len(), 3);
    assert_eq!(replay_after(&transcript, Some(MessageId(5))), &transcript[2..]);
    assert_eq!(replay_after(&transcript, Some(MessageId(4))), &transcript[1..]);
    assert!(replay_after(&transcript, Some(MessageId(9))).is_empty());
    assert_eq!(replay_after(&transcript, Some(MessageId(1))).len(), 3);
}

#[test]
fn visitor_frames_parse_by_type() {
    let hello: VisitorRequest =
        serde_json::from_value(json!({"type": "hello", "visitor": "visitor-1", "last_seen": 12})).unwrap();
    assert_eq!(
        hello,
        VisitorRequest::Hello {
            visitor: VisitorId::parse("visitor-1").unwrap(),
            last_seen: Some(MessageId(12)),
            name: None
        }
    );
    let message: VisitorRequest =
        serde_json::from_value(json!({"type": "message", "client_id": "c1", "text": "hi"})).unwrap();
    assert!(matches!(message, VisitorRequest::Message { ref text, .. } if text == "hi"));
    assert!(serde_json::from_value::<VisitorRequest>(json!({"type": "end"})).is_ok());
    // Unknown types, unknown fields and bad ids are refused.
    assert!(serde_json::from_value::<VisitorRequest>(json!({"type": "shout"})).is_err());
    assert!(serde_json::from_value::<VisitorRequest>(json!({"type": "typing", "typing": true, "x": 1})).is_err());
    assert!(serde_json::from_value::<VisitorRequest>(json!({"type": "hello", "visitor": "x"})).is_err());
}

#[test]
fn events_serialise_with_their_type() {
    let check = |event: VisitorEvent, expected: serde_json::Value| {
        assert_eq!(serde_json::to_value(&event).unwrap(), expected);
        assert_eq!(serde_json::from_value::<VisitorEvent>(expected).unwrap(), event);
    };
    check(
        VisitorEvent::Ack {
            client_id: ClientMessageId::parse("c1").unwrap(),
            message_id: MessageId(7),
            duplicate: false,
        },
        json!({"type": "ack", "client_id": "c1", "message_id": 7, "duplicate": false}),
    );
    check(
        VisitorEvent::Queued { position: 2, wait_minutes: Some(4) },
        json!({"type": "queued", "position": 2, "wait_minutes": 4}),
    );
    check(
        VisitorEvent::Message(line(3)),
        json!({"type": "message", "id": 3, "from": "visitor", "text": "line 3", "at": 3}),
    );
    let agent = AgentEvent::Message { chat: ChatId(2), line: line(3) };
    let value = serde_json::to_value(&agent).unwrap();
    assert_eq!(value, json!({"type": "message", "chat": 2, "id": 3, "from": "visitor", "text": "line 3", "at": 3}));
    assert_eq!(serde_json::from_value::<AgentEvent>(value).unwrap(), agent);
    let request: AgentRequest =
        serde_json::from_value(json!({"type": "message", "chat": 2, "client_id": "a1", "text": "hello"})).unwrap();
    assert!(matches!(request, AgentRequest::Message { chat: ChatId(2), .. }));
}

#[test]
fn expected_wait_grows_with_the_queue_and_shrinks_with_agents() {
    let check = |ahead, agents, average, expected: Option<i64>| {
        assert_eq!(expected_wait_ms(ahead, agents, average), expected, "{ahead} ahead, {agents} agents");
    };
    check(0, 1, 60_000, Some(60_000));
    check(1, 1, 60_000, Some(120_000));
    check(3, 2, 60_000, Some(120_000));
    check(4, 2, 60_000, Some(180_000));
    check(0, 0, 60_000, None);
    assert_eq!(wait_minutes(1), 1);
    assert_eq!(wait_minutes(60_000), 1);
    assert_eq!(wait_minutes(60_001), 2);
    assert_eq!(wait_minutes(0), 1);
}

#[test]
fn first_answer_average_follows_recent_chats() {
    let mut times = FirstAnswerTimes::default();
    assert_eq!(times.average_ms(), DEFAULT_FIRST_ANSWER_MS);
    times.record(10_000);
    assert_eq!(times.average_ms(), 10_000);
    times.record(60_000);
    assert_eq!(times.average_ms(), 20_000);
    times.record(-5);
    assert_eq!(times.average_ms(), 16_000);
}

#[test]
fn chat_states_round_trip() {
    for state in [ChatState::Queued, ChatState::Active, ChatState::Offline, ChatState::Ended] {
        assert_eq!(ChatState::parse(state.as_str()), Some(state));
    }
    assert_eq!(ChatState::parse("lost"), None);
    assert!(ChatState::Queued.is_live() && !ChatState::Offline.is_live());
}

#[test]
fn the_offline_notice_asks_for_an_email_only_without_one() {
    assert!(offline_notice(Some(TicketId(4)), false).contains("leave your email"));
    assert!(offline_notice(Some(TicketId(4)), false).contains("#4"));
    assert!(!offline_notice(None, true).contains("leave your email"));
}
