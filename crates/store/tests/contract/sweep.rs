//! The sweep after a policy change takes only the open tickets the change
//! can alter, and still leaves every ticket as its event log measures it:
//! after a change, after a change undone before the sweep ran, and after a
//! second change that interrupts a sweep.

use rapport_core::sla::TargetSpec;
use rapport_core::sla::projection::KeptTarget;
use rapport_core::{Channel, Timestamp};
use rapport_store::{Store, StoredPolicy};

use crate::harness::*;

async fn project_all(store: &Store, now: Timestamp) {
    while store.project_changed(500, now).await.unwrap() > 0 {}
}

async fn sweep_to_the_end(store: &Store, limit: i64, now: Timestamp) -> rapport_store::SweepProgress {
    for _ in 0..100 {
        let progress = store.project_sweep(limit, now).await.unwrap();
        if progress.done {
            return progress;
        }
    }
    panic!("the sweep does not end");
}

async fn named(store: &Store, name: &str) -> StoredPolicy {
    store.list_policies().await.unwrap().into_iter().find(|stored| stored.policy.name == name).unwrap()
}

/// Four email tickets and three chats, measured under the shipped policies.
async fn tickets(store: &Store) -> Vec<rapport_core::Ticket> {
    store.install_default_policies(T0).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..7 {
        let mut create = request(&format!("Case {n}"), &format!("s{n}@example.com"));
        if n % 2 == 1 {
            create.channel = Channel::Chat;
        }
        ids.push(store.create_ticket(create).await.unwrap().ticket);
    }
    project_all(store, at(10)).await;
    sweep_to_the_end(store, 100, at(10)).await;
    ids
}

/// Every ticket's kept targets, brought forward to `now`, equal a fresh
/// measurement from its event log.
async fn assert_all_hold(store: &Store, ids: &[rapport_core::TicketId], now: Timestamp) {
    let (_, set) = store.policy_set().await.unwrap();
    for id in ids {
        let kept = store.find_ticket_sla(*id).await.unwrap().unwrap();
        let (policy, live) = store.measure_ticket(*id, now).await.unwrap().unwrap();
        let calendar = set.calendar(&set.policy(policy).unwrap().calendar);
        let forward: Vec<KeptTarget> =
            kept.targets.iter().map(|target| target.at(kept.computed_at, now, calendar)).collect();
        assert_eq!((kept.policy, forward), (Some(policy), live), "ticket {}", id.0);
    }
}

async fn set_first_response(store: &Store, name: &str, seconds: i64, now: Timestamp) {
    let stored = named(store, name).await;
    let mut changed = stored.policy.clone();
    changed.targets.first_response = Some(TargetSpec { seconds, business_hours: false });
    store.update_policy(stored.id, changed, None, rapport_core::Actor::System, now).await.unwrap();
}

#[tokio::test]
async fn a_change_of_one_policys_targets_sweeps_only_its_tickets() {
    let store = fresh_store().await;
    let made = tickets(&store).await;
    let ids: Vec<rapport_core::TicketId> = made.iter().map(|ticket| ticket.id).collect();
    set_first_response(&store, "Email and web", 1800, at(20)).await;
    // The first step sets the sweep's scope: the four email tickets.
    let first = store.project_sweep(1, at(30)).await.unwrap();
    let email = named(&store, "Email and web").await;
    let scope = first.scope.clone().expect("a sweep with a scope");
    assert_eq!((scope.policies.into_iter().collect::<Vec<_>>(), scope.unmatched), (vec![email.id], false));
    assert_eq!(store.count_sweep_scope(&first).await.unwrap(), 4);
    let done = sweep_to_the_end(&store, 1, at(30)).await;
    assert_eq!(done.after, ids[6].0, "the last email ticket");
    assert_all_hold(&store, &ids, at(30)).await;
    for id in ids.iter().step_by(2) {
        let kept = store.find_ticket_sla(*id).await.unwrap().unwrap();
        assert_eq!((kept.computed_at, kept.targets[0].seconds), (at(30), 1800), "ticket {}", id.0);
    }
    for id in ids.iter().skip(1).step_by(2) {
        assert_eq!(store.find_ticket_sla(*id).await.unwrap().unwrap().computed_at, at(10), "chat {} untouched", id.0);
    }
    // Renaming a policy changes nothing a ticket measures, but the sweep
    // cannot know the name is unused: its tickets are looked at and left.
    let chat = named(&store, "Live chat").await;
    let mut renamed = chat.policy.clone();
    renamed.name = "Chat".to_owned();
    store.update_policy(chat.id, renamed, None, rapport_core::Actor::System, at(40)).await.unwrap();
    let progress = sweep_to_the_end(&store, 100, at(41)).await;
    assert_eq!(store.count_sweep_scope(&progress).await.unwrap(), 3);
    assert_eq!(store.find_ticket_sla(ids[1]).await.unwrap().unwrap().computed_at, at(10));
}

#[tokio::test]
async fn a_change_undone_before_the_sweep_still_re_measures_what_was_measured_in_between() {
    let store = fresh_store().await;
    let made = tickets(&store).await;
    let ids: Vec<rapport_core::TicketId> = made.iter().map(|ticket| ticket.id).collect();
    let original = named(&store, "Email and web").await;
    set_first_response(&store, "Email and web", 1800, at(20)).await;
    // A customer message marks ticket 0, which the projector measures under
    // the changed policy before any sweep step runs.
    let note = rapport_store::NewMessage {
        kind: rapport_core::MessageKind::Inbound,
        author: rapport_core::Author::Customer(made[0].customer),
        text: "Any news?".into(),
        html: None,
        attachments: vec![],
        origin: Default::default(),
        now: at(25),
    };
    store.add_message(ids[0], None, note).await.unwrap();
    project_all(&store, at(26)).await;
    assert_eq!(store.find_ticket_sla(ids[0]).await.unwrap().unwrap().targets[0].seconds, 1800);
    // The change is undone: the policies print as the tickets were swept under.
    store.update_policy(original.id, original.policy.clone(), None, rapport_core::Actor::System, at(27)).await.unwrap();
    sweep_to_the_end(&store, 100, at(30)).await;
    assert_all_hold(&store, &ids, at(30)).await;
    // Only the row written in between was measured again.
    for (n, id) in ids.iter().enumerate() {
        let kept = store.find_ticket_sla(*id).await.unwrap().unwrap();
        let when = if n == 0 { at(30) } else { at(10) };
        assert_eq!(kept.computed_at, when, "ticket {}", id.0);
    }
    assert_eq!(store.find_ticket_sla(ids[0]).await.unwrap().unwrap().targets[0].seconds, 6 * 3600);
}

#[tokio::test]
async fn a_second_change_during_a_sweep_re_measures_what_either_change_touched() {
    let store = fresh_store().await;
    let made = tickets(&store).await;
    let ids: Vec<rapport_core::TicketId> = made.iter().map(|ticket| ticket.id).collect();
    set_first_response(&store, "Email and web", 1800, at(20)).await;
    let partway = store.project_sweep(1, at(21)).await.unwrap();
    assert!(!partway.done);
    set_first_response(&store, "Live chat", 120, at(22)).await;
    let progress = sweep_to_the_end(&store, 2, at(23)).await;
    let scope = progress.scope.clone().unwrap();
    let (email, chat) = (named(&store, "Email and web").await, named(&store, "Live chat").await);
    assert!(scope.policies.contains(&email.id) && scope.policies.contains(&chat.id), "{scope:?}");
    assert_all_hold(&store, &ids, at(23)).await;
    for id in &ids {
        let kept = store.find_ticket_sla(*id).await.unwrap().unwrap();
        let expected = if id.0 % 2 == ids[0].0 % 2 { 1800 } else { 120 };
        assert_eq!(kept.targets[0].seconds, expected, "ticket {}", id.0);
    }
}
