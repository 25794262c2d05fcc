//! Magic links, verified identities, portal sessions and rate counters (issue 3).

use rapport_core::intake::{InboundMessage, NewTicketReason, PORTAL_LINK_STAND_IN};
use rapport_core::outbox::{OutboundPayload, SendOutcome};
use rapport_core::time::{DAY, HOUR};
use rapport_core::{Actor, Author, Channel, CustomerId, Identity, MessageKind, Role, TicketId, Timestamp};
use rapport_store::{
    CreateTicket, CustomerChanges, FileInbound, Filed, MagicLink, NewMessage, NewPortalSession, PortalReach, RateCheck,
    Store, StoreError,
};

use crate::harness::*;

/// A link whose secret is `secret` (the store only ever sees its hash).
fn link(secret: &str) -> MagicLink {
    MagicLink { token_hash: hash(secret), url: format!("https://help.example/help/t/{secret}"), valid_days: 7 }
}

fn hash(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

fn session(secret: &str, expires_at: Timestamp) -> NewPortalSession {
    NewPortalSession { token_hash: hash(secret), expires_at }
}

fn notice(text: &str) -> OutboundPayload {
    OutboundPayload {
        ticket: None,
        to: vec![],
        cc: vec![],
        subject: "Your link".into(),
        in_reply_to: None,
        references: vec![],
        author_name: None,
        text: text.to_owned(),
        html: None,
        automatic: None,
    }
}

async fn opened(store: &Store, message: InboundMessage) -> TicketId {
    match store.file_inbound(filing(message, None)).await.unwrap() {
        Filed::Opened { ticket, .. } => ticket,
        other => panic!("expected a new ticket, got {other:?}"),
    }
}

#[tokio::test]
async fn only_a_verified_address_reaches_the_customers_other_tickets() {
    let store = fresh_store().await;
    let ticket = opened(&store, email("ann@work.example", "m1@x", "Invoice", at(0))).await;
    let customer = store.get_ticket(ticket, None).await.unwrap().customer;
    // Ann's home address belongs to her record, but nobody has proved it yet.
    let home = Identity::email("ann@home.example").unwrap();
    let changes = CustomerChanges { add_identities: vec![home.clone()], ..Default::default() };
    let ann = store.update_customer(customer, changes).await.unwrap();
    assert!(ann.identities.contains(&home) && ann.verified.is_empty(), "{ann:?}");

    let mut before = email("ann@home.example", "m2@x", &format!("Re: Invoice [#{ticket}]"), at(10));
    before.thread.tokens = vec![ticket];
    match store.file_inbound(filing(before, None)).await.unwrap() {
        Filed::Opened { linked_to, reason, .. } => {
            assert_eq!((linked_to, reason), (Some(ticket), NewTicketReason::NotAllowed), "a look-alike takes nothing");
        }
        other => panic!("an unverified address must not land on the ticket: {other:?}"),
    }

    assert!(
        store.send_magic_link(home.clone(), link("home-secret"), "l1@us".into(), notice("x"), at(20)).await.unwrap()
    );
    let followed =
        store.follow_magic_link(hash("home-secret"), session("s1", at(20 + 3600)), at(30)).await.unwrap().unwrap();
    assert_eq!((followed.customer, &followed.identity, followed.ticket), (customer, &home, None));
    assert_eq!(store.get_customer(customer).await.unwrap().verified, vec![home.clone()]);

    let mut after = email("ann@home.example", "m3@x", &format!("Re: Invoice [#{ticket}]"), at(40));
    after.thread.tokens = vec![ticket];
    let filed = store.file_inbound(filing(after, None)).await.unwrap();
    assert!(matches!(filed, Filed::Added { ticket: t, .. } if t == ticket), "a verified address lands: {filed:?}");
}

#[tokio::test]
async fn links_work_once_and_expire_and_are_stored_only_as_hashes() {
    let store = fresh_store().await;
    let ticket = opened(&store, email("ann@example.com", "m1@x", "Hi", at(0))).await;
    let ann = Identity::email("ann@example.com").unwrap();
    let stranger = Identity::email("nobody@example.com").unwrap();
    assert!(!store.send_magic_link(stranger, link("s"), "l0@us".into(), notice("x"), at(1)).await.unwrap());
    assert!(store.count_outbox().await.unwrap().is_empty(), "an unknown address gets nothing");

    assert!(store.send_magic_link(ann.clone(), link("once"), "l1@us".into(), notice("x"), at(1)).await.unwrap());
    assert_eq!(store.count_outbox().await.unwrap(), vec![("queued".to_owned(), 1)]);
    assert!(
        store.follow_magic_link("once".into(), session("a", at(9999)), at(2)).await.unwrap().is_none(),
        "the secret is not the key"
    );
    assert!(store.follow_magic_link(hash("once"), session("b", at(9999)), at(2)).await.unwrap().is_some());
    assert!(store.follow_magic_link(hash("once"), session("c", at(9999)), at(3)).await.unwrap().is_none(), "used");

    let sent_at = at(100);
    assert!(store.send_magic_link(ann.clone(), link("late"), "l2@us".into(), notice("x"), sent_at).await.unwrap());
    let expired = sent_at.plus_millis(7 * DAY);
    assert!(store.follow_magic_link(hash("late"), session("d", at(9999)), expired).await.unwrap().is_none());
    assert!(store.follow_magic_link(hash("unknown"), session("e", at(9999)), at(5)).await.unwrap().is_none());

    // Sessions: found while unexpired, gone after, and gone when signed out.
    let found = store.find_portal_session(hash("b"), at(10)).await.unwrap().unwrap();
    assert_eq!((found.customer, found.identity), (store.get_ticket(ticket, None).await.unwrap().customer, ann));
    assert!(store.find_portal_session(hash("b"), at(9999)).await.unwrap().is_none(), "expired");
    assert!(store.find_portal_session(hash("c"), at(10)).await.unwrap().is_none(), "never begun");
    store.delete_portal_session(hash("b")).await.unwrap();
    assert!(store.find_portal_session(hash("b"), at(10)).await.unwrap().is_none());
}

#[tokio::test]
async fn the_web_forms_acknowledgment_carries_a_link_that_is_kept_nowhere() {
    let store = fresh_store().await;
    let mut message = email("ann@example.com", "web-1@us", "Printer", at(0));
    message.channel = Channel::Web;
    let request = FileInbound { acknowledgment: Some("ack@us".into()), ..filing(message, None) };
    let filed = store.file_inbound_with_link(request, link("web-secret")).await.unwrap();
    let Filed::Opened { ticket, acknowledgment: Some(ack), .. } = filed else { panic!("{filed:?}") };

    let detail = store.get_ticket_detail(ticket, None).await.unwrap();
    let kept = detail.messages.iter().find(|message| message.id == ack).unwrap();
    assert!(kept.text.contains(PORTAL_LINK_STAND_IN) && !kept.text.contains("web-secret"), "{}", kept.text);
    let sent = store.claim_outbox(at(1), 60_000, 10).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].channel, Channel::Web);
    assert!(sent[0].payload.text.contains("https://help.example/help/t/web-secret"), "{}", sent[0].payload.text);
    assert!(sent[0].payload.text.contains(&format!("#{ticket}")));

    let followed = store.follow_magic_link(hash("web-secret"), session("s", at(9999)), at(5)).await.unwrap().unwrap();
    assert_eq!(followed.ticket, Some(ticket));
    assert_eq!(followed.identity, Identity::email("ann@example.com").unwrap());
}

#[tokio::test]
async fn customers_see_their_own_tickets_without_notes() {
    let store = fresh_store().await;
    let ticket = opened(&store, email("ann@example.com", "m1@x", "Mine", at(0))).await;
    let other = opened(&store, email("bob@example.com", "m2@x", "Bob's", at(1))).await;
    let ann = portal_session(store.get_ticket(ticket, None).await.unwrap().customer, "ann@example.com");
    let admin = agent(&store, "admin@us.example", Role::Admin, vec![]).await;
    let note = NewMessage {
        kind: MessageKind::Note,
        author: Author::Agent(admin.agent),
        text: "internal: refund fraud?".into(),
        html: None,
        attachments: vec![],
        origin: Default::default(),
        now: at(5),
    };
    store.add_message(ticket, Some(admin.clone()), note.clone()).await.unwrap();
    let reply = NewMessage { kind: MessageKind::Reply, text: "We are on it".into(), now: at(6), ..note };
    store.add_message(ticket, Some(admin), reply).await.unwrap();

    let shown = store.get_customer_ticket(&ann, ticket).await.unwrap();
    let texts: Vec<&str> = shown.messages.iter().map(|message| message.text.as_str()).collect();
    assert_eq!(texts, vec!["text of m1@x", "We are on it"]);
    assert!(matches!(store.get_customer_ticket(&ann, other).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.get_customer_ticket(&ann, TicketId(999)).await, Err(StoreError::NotFound(_))));
    let listed: Vec<TicketId> = store.list_customer_tickets(&ann, 10).await.unwrap().iter().map(|t| t.id).collect();
    assert_eq!(listed, vec![ticket]);
}

#[tokio::test]
async fn agents_verify_only_identities_of_that_customer() {
    let store = fresh_store().await;
    let ticket = opened(&store, email("ann@example.com", "m1@x", "Hi", at(0))).await;
    let ann = store.get_ticket(ticket, None).await.unwrap().customer;
    let bob = Identity::email("bob@example.com").unwrap();
    let creator = agent(&store, "creator@us.example", Role::Admin, vec![]).await;
    let by_agent = CreateTicket { actor: Actor::Agent(creator.agent), ..request("Call me", "bob@example.com") };
    let created = store.create_ticket(by_agent).await.unwrap();
    let bob_customer = store.get_customer(created.ticket.customer).await.unwrap();
    assert!(bob_customer.verified.is_empty(), "an address an agent enters starts unverified");
    assert_eq!(bob_customer.added_by_agent, vec![(bob.clone(), creator.agent)]);

    let refused = store.verify_identity(ann, bob.clone(), at(5)).await.unwrap_err();
    assert!(matches!(refused, StoreError::NotFound(_)), "{refused:?}");
    let verified = store.verify_identity(ann, Identity::email("ann@example.com").unwrap(), at(5)).await.unwrap();
    assert_eq!(verified.verified, verified.identities);
    let confirmed = store.verify_identity(bob_customer.id, bob.clone(), at(6)).await.unwrap();
    assert_eq!((confirmed.verified, confirmed.added_by_agent), (vec![bob.clone()], vec![]), "a confirmation vouches");
    assert!(matches!(store.verify_identity(CustomerId(999), bob, at(5)).await, Err(StoreError::NotFound(_))));
}

#[tokio::test]
async fn rate_counters_count_per_window() {
    let store = fresh_store().await;
    let key = || "form:address:ann@example.com".to_owned();
    for second in 0..3 {
        assert_eq!(store.count_attempt(key(), HOUR, 3, at(second)).await.unwrap(), RateCheck::Allowed);
    }
    let limited = store.count_attempt(key(), HOUR, 3, at(10)).await.unwrap();
    assert_eq!(limited, RateCheck::Limited { retry_at: at(0).plus_millis(HOUR) });
    assert_eq!(store.count_attempt("form:ip:127.0.0.1".into(), HOUR, 3, at(10)).await.unwrap(), RateCheck::Allowed);
    // A new window starts once the last one ended.
    assert_eq!(store.count_attempt(key(), HOUR, 3, at(3600)).await.unwrap(), RateCheck::Allowed);
    assert!(store.purge_portal(HOUR, at(3 * 3600)).await.unwrap() >= 2, "spent counters are purged");
    assert_eq!(store.count_attempt(key(), HOUR, 1, at(3 * 3600)).await.unwrap(), RateCheck::Allowed);
}

#[tokio::test]
async fn issue_15_a_sent_or_failed_link_leaves_no_secret_in_the_outbox() {
    let (store, url) = fresh_store_with_url().await;
    let mut message = email("ann@example.com", "web-1@us", "Printer", at(0));
    message.channel = Channel::Web;
    let request = FileInbound { acknowledgment: Some("ack@us".into()), ..filing(message, None) };
    store.file_inbound_with_link(request, link("first-secret")).await.unwrap();
    let ann = Identity::email("ann@example.com").unwrap();
    let body = "Your link: https://help.example/help/t/second-secret (valid 7 days)";
    assert!(store.send_magic_link(ann, link("second-secret"), "l1@us".into(), notice(body), at(1)).await.unwrap());
    let payloads = || query_texts(&url, "SELECT payload FROM outbox ORDER BY id");

    // Until it is sent, the outbox needs the link.
    let queued = payloads().await;
    assert!(queued[0].contains("first-secret") && queued[1].contains("second-secret"), "{queued:?}");
    let claimed = store.claim_outbox(at(2), 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let (ack, link_mail) = match claimed[0].payload.text.contains("first-secret") {
        true => (claimed[0].id, claimed[1].id),
        false => (claimed[1].id, claimed[0].id),
    };
    // A retry keeps it; a send or a permanent failure removes it.
    store.finish_outbox(ack, SendOutcome::Retry("busy".into()), at(3)).await.unwrap();
    assert!(payloads().await[0].contains("first-secret"));
    store.finish_outbox(link_mail, SendOutcome::Failed("refused".into()), at(4)).await.unwrap();
    let again = store.claim_outbox(at(10_000_000), 60_000, 10).await.unwrap();
    assert_eq!(again.iter().map(|entry| entry.id).collect::<Vec<_>>(), vec![ack]);
    store.finish_outbox(ack, SendOutcome::Sent, at(10_000_001)).await.unwrap();

    let kept = payloads().await;
    for payload in &kept {
        assert!(!payload.contains("secret"), "{payload}");
        assert!(payload.contains("(link removed once sent)"), "{payload}");
    }
    let secrets = query_texts(&url, "SELECT COALESCE(secret, '') FROM outbox").await;
    assert!(secrets.iter().all(String::is_empty), "{secrets:?}");
}

/// Issue 15: an agent added an address of their own to a customer, asked for
/// a magic link to it and read the customer's tickets of teams hidden from
/// them. An address an agent enters starts unverified, and even once a link
/// to it is followed it reaches only the tickets it is on, until a
/// supervisor confirms it.
#[tokio::test]
async fn issue_15_an_address_an_agent_adds_reaches_only_the_tickets_it_is_on() {
    let store = fresh_store().await;
    let first = opened(&store, email("ann@example.com", "m1@x", "Invoice", at(0))).await;
    let second = opened(&store, email("ann@example.com", "m2@x", "Refund", at(1))).await;
    let customer = store.get_ticket(first, None).await.unwrap().customer;
    let mallory = agent(&store, "mallory@us.example", Role::Agent, vec![]).await;
    let own = Identity::email("mallory@home.example").unwrap();
    let changes =
        CustomerChanges { add_identities: vec![own.clone()], added_by: Some(mallory.agent), ..Default::default() };
    let ann = store.update_customer(customer, changes).await.unwrap();
    assert!(ann.verified.is_empty() && ann.added_by_agent == vec![(own.clone(), mallory.agent)], "{ann:?}");

    assert!(store.send_magic_link(own.clone(), link("m-secret"), "l1@us".into(), notice("x"), at(10)).await.unwrap());
    let followed = store.follow_magic_link(hash("m-secret"), session("ms", at(9999)), at(11)).await.unwrap().unwrap();
    assert_eq!(followed.reach, PortalReach::OwnTickets);
    let found = store.find_portal_session(hash("ms"), at(12)).await.unwrap().unwrap();
    assert_eq!((found.customer, found.reach), (customer, PortalReach::OwnTickets));
    assert!(store.list_customer_tickets(&found, 10).await.unwrap().is_empty(), "none of Ann's tickets");
    for ticket in [first, second] {
        assert!(matches!(store.get_customer_ticket(&found, ticket).await, Err(StoreError::NotFound(_))));
    }

    // Quoting one of Ann's ticket numbers from that address joins nothing.
    let mut quoted = email("mallory@home.example", "m3@x", &format!("Re: Refund [#{second}]"), at(20));
    quoted.thread.tokens = vec![second];
    let own_ticket = match store.file_inbound(filing(quoted, None)).await.unwrap() {
        Filed::Opened { ticket, reason, .. } => {
            assert_eq!(reason, NewTicketReason::NotAllowed);
            ticket
        }
        other => panic!("an address an agent entered must not land on Ann's ticket: {other:?}"),
    };
    let listed: Vec<TicketId> = store.list_customer_tickets(&found, 10).await.unwrap().iter().map(|t| t.id).collect();
    assert_eq!(listed, vec![own_ticket], "only the ticket the address is on");

    // A supervisor's confirmation gives it the customer's whole reach.
    let confirmed = store.verify_identity(customer, own.clone(), at(30)).await.unwrap();
    assert!(confirmed.added_by_agent.is_empty() && confirmed.verified.contains(&own));
    let again = store.find_portal_session(hash("ms"), at(31)).await.unwrap().unwrap();
    assert_eq!(again.reach, PortalReach::Customer);
    assert!(store.get_customer_ticket(&again, first).await.is_ok());
}
