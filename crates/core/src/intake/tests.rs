use super::*;

const ALICE: CustomerId = CustomerId(1);
const MALLORY: CustomerId = CustomerId(2);

fn candidate(ticket: i64, status: Status, customer: CustomerId, sender_participates: bool) -> Candidate {
    Candidate { ticket: TicketId(ticket), status, customer, sender_participates }
}

fn check(sender: Option<Sender>, candidates: &[Candidate], expected: Placement) {
    assert_eq!(place(sender, candidates), expected, "sender {sender:?}, candidates {candidates:?}");
}

#[test]
fn placement_follows_thread_hints_and_the_lifecycle() {
    let verified = Some(Sender { customer: ALICE, verified: true });
    let unverified = Some(Sender { customer: ALICE, verified: false });
    let stranger = Some(Sender { customer: MALLORY, verified: true });
    let no_thread = Placement::New { linked_to: None, reason: NewTicketReason::NoThread };
    check(verified, &[], no_thread);
    check(None, &[], no_thread);
    check(
        verified,
        &[candidate(7, Status::Open, ALICE, false)],
        Placement::Existing { ticket: TicketId(7), reopens: false },
    );
    check(
        verified,
        &[candidate(7, Status::Solved, ALICE, false)],
        Placement::Existing { ticket: TicketId(7), reopens: true },
    );
    check(
        verified,
        &[candidate(7, Status::Pending, ALICE, true)],
        Placement::Existing { ticket: TicketId(7), reopens: true },
    );
    check(
        verified,
        &[candidate(7, Status::Closed, ALICE, true)],
        Placement::New { linked_to: Some(TicketId(7)), reason: NewTicketReason::Closed },
    );
    // An unverified identity of the same customer reaches only tickets it is on.
    check(
        unverified,
        &[candidate(7, Status::Open, ALICE, false)],
        Placement::New { linked_to: Some(TicketId(7)), reason: NewTicketReason::NotAllowed },
    );
    check(
        unverified,
        &[candidate(7, Status::Open, ALICE, true)],
        Placement::Existing { ticket: TicketId(7), reopens: false },
    );
    // A stranger quoting Alice's ticket number opens a new ticket linked to it.
    check(
        stranger,
        &[candidate(7, Status::Open, ALICE, false)],
        Placement::New { linked_to: Some(TicketId(7)), reason: NewTicketReason::NotAllowed },
    );
    check(
        None,
        &[candidate(7, Status::Open, ALICE, false)],
        Placement::New { linked_to: Some(TicketId(7)), reason: NewTicketReason::NotAllowed },
    );
    // A follower (Cc) may write even though the ticket is another customer's.
    check(
        stranger,
        &[candidate(7, Status::New, ALICE, true)],
        Placement::Existing { ticket: TicketId(7), reopens: false },
    );
    // The first ticket the sender may join wins, even behind a refused one.
    check(verified, &[candidate(9, Status::Open, MALLORY, false), candidate(7, Status::Open, ALICE, false)], {
        Placement::Existing { ticket: TicketId(7), reopens: false }
    });
}

fn signals() -> MailSignals {
    MailSignals::default()
}

#[test]
fn classify_reads_rfc_3834_and_common_practice() {
    let cases: Vec<(MailSignals, Noise)> = vec![
        (signals(), Noise::Person),
        (MailSignals { auto_submitted: Some("no".into()), ..signals() }, Noise::Person),
        (
            MailSignals { auto_submitted: Some("auto-replied".into()), ..signals() },
            Noise::Automatic(AutomaticReason::AutoSubmitted),
        ),
        (
            MailSignals { auto_submitted: Some("auto-generated".into()), ..signals() },
            Noise::Automatic(AutomaticReason::AutoSubmitted),
        ),
        (MailSignals { precedence: Some("bulk".into()), ..signals() }, Noise::Automatic(AutomaticReason::Precedence)),
        (MailSignals { precedence: Some("junk".into()), ..signals() }, Noise::Automatic(AutomaticReason::Precedence)),
        (MailSignals { precedence: Some("list".into()), ..signals() }, Noise::Automatic(AutomaticReason::Precedence)),
        (MailSignals { precedence: Some("first-class".into()), ..signals() }, Noise::Person),
        (
            MailSignals { auto_response_suppress: true, ..signals() },
            Noise::Automatic(AutomaticReason::AutoResponseSuppress),
        ),
        (MailSignals { list: true, ..signals() }, Noise::Automatic(AutomaticReason::List)),
        (MailSignals { null_return_path: true, ..signals() }, Noise::Automatic(AutomaticReason::NullReturnPath)),
        (MailSignals { system_sender: true, ..signals() }, Noise::Automatic(AutomaticReason::SystemSender)),
        (MailSignals { own_address: true, ..signals() }, Noise::Automatic(AutomaticReason::OwnAddress)),
        (MailSignals { own_loop_header: true, ..signals() }, Noise::Loop),
        (MailSignals { own_loop_header: true, auto_submitted: Some("no".into()), ..signals() }, Noise::Loop),
    ];
    for (signals, expected) in cases {
        assert_eq!(classify(&signals), expected, "{signals:?}");
    }
}

#[test]
fn system_addresses() {
    for address in ["MAILER-DAEMON@example.com", "postmaster@example.org", "no-reply@shop.example", "bounce+x@a.b"] {
        assert!(is_system_address(address), "{address}");
    }
    for address in ["alice@example.com", "daemon@example.com", "postmasters@example.com"] {
        assert!(!is_system_address(address), "{address}");
    }
}

#[test]
fn rate_limit_quiets_then_quarantines() {
    let limit = RateLimit { replies: 2, messages: 4 };
    let verdicts: Vec<RateVerdict> = (0..6).map(|recent| over_rate(recent, limit)).collect();
    assert_eq!(
        verdicts,
        vec![
            RateVerdict::Normal,
            RateVerdict::Normal,
            RateVerdict::Quiet,
            RateVerdict::Quiet,
            RateVerdict::Storm,
            RateVerdict::Storm
        ]
    );
}

#[test]
fn tokens_in_subjects_and_addresses() {
    assert_eq!(subject_tokens("Re: Printer on fire [#42]"), vec![TicketId(42)]);
    assert_eq!(subject_tokens("[#1] and [#2] and [#1]"), vec![TicketId(1), TicketId(2)]);
    assert_eq!(subject_tokens("[#] [#x1] [#12 ] [#0] #5"), Vec::<TicketId>::new());
    assert_eq!(subject_tokens("[#99999999999999999999999]"), Vec::<TicketId>::new());
    assert_eq!(subject_tokens("Ünïcode [#7] ✓"), vec![TicketId(7)]);
    assert_eq!(address_token("support+12@Example.com", "support@example.com"), Some(TicketId(12)));
    assert_eq!(address_token("support@example.com", "support@example.com"), None);
    assert_eq!(address_token("sales+12@example.com", "support@example.com"), None);
    assert_eq!(address_token("support+12@other.com", "support@example.com"), None);
    assert_eq!(address_token("support+abc@example.com", "support@example.com"), None);
}

#[test]
fn reply_subjects_carry_one_token() {
    let ticket = TicketId(42);
    assert_eq!(reply_subject(ticket, "Printer on fire"), "Re: Printer on fire [#42]");
    assert_eq!(reply_subject(ticket, "RE: Re: AW: Printer on fire [#42]"), "Re: Printer on fire [#42]");
    assert_eq!(reply_subject(ticket, "  "), "Re: [#42]");
}

#[test]
fn acknowledgment_names_the_ticket() {
    let english = Words::english();
    let text = acknowledgment_text(&english, TicketId(12345), Some("Ada"), "Broken login");
    assert!(text.starts_with("Hello Ada,"));
    assert!(text.contains("#12345") && text.contains("[#12345]") && text.contains("Broken login"), "{text}");
    assert!(acknowledgment_text(&english, TicketId(5), None, "x").starts_with("Hello,"));
    let french = Words::of("fr").unwrap_or_default();
    let text = acknowledgment_text(&french, TicketId(5), Some("Ada"), "Connexion");
    assert!(text.starts_with("Bonjour Ada,") && text.contains("« Connexion »") && text.contains("[#5]"), "{text}");
    assert_eq!(web_acknowledgment_subject(&french, TicketId(5)), "Votre demande [#5]");
}

#[test]
fn the_portal_paragraph_carries_the_link_and_its_lifetime() {
    let english = Words::english();
    let text = portal_link_text(&english, "https://help.example/help/t/abc", 7);
    assert!(text.contains("\nhttps://help.example/help/t/abc\n") && text.contains("within 7 days"), "{text}");
    assert!(portal_link_text(&english, PORTAL_LINK_STAND_IN, 1).contains("within 1 day,"));
    let request = portal_link_request_text(&english, "https://help.example/help/t/abc", 1);
    assert!(request.starts_with("Hello,\n\nyou asked") && request.contains("within 1 day."), "{request}");
}

#[test]
fn summaries_take_the_first_line() {
    assert_eq!(summary_subject("\n  hi there \nmore"), "hi there");
    assert_eq!(summary_subject(""), "(no subject)");
    let long = "x".repeat(100);
    assert_eq!(summary_subject(&long).chars().count(), 81);
}

#[test]
fn subjects_are_fitted_not_refused() {
    assert_eq!(fit_subject("  Printer \t on   fire "), "Printer on fire");
    assert_eq!(fit_subject(" \n "), "(no subject)");
    let long = "é".repeat(800);
    let fitted = fit_subject(&long);
    assert_eq!(fitted.chars().count(), crate::event::MAX_SUBJECT_CHARS);
    assert!(fitted.ends_with('…'));
}

#[test]
fn messaging_channels_join_the_latest_ticket() {
    for channel in [Channel::Whatsapp, Channel::Telegram, Channel::Sms, Channel::Chat, Channel::Messenger] {
        assert!(joins_latest_ticket(channel), "{channel}");
    }
    for channel in [Channel::Email, Channel::Web, Channel::Api, Channel::Phone] {
        assert!(!joins_latest_ticket(channel), "{channel}");
    }
}
