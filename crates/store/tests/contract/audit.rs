//! The audit log (issue 18): a change of a setting is recorded with who,
//! when, before and after, in the change's own transaction; a change that
//! changes nothing, or is refused, records nothing; entries list newest
//! first, by subject or by agent, a page at a time.

use rapport_core::event::OwnerOnReply;
use rapport_core::{Actor, Role};
use rapport_store::{AuditFilter, NewAuditEntry, StoreError, TeamChanges};
use serde_json::json;

use crate::harness::*;

/// A team's changes, without the creations.
async fn team_changes(store: &rapport_store::Store) -> Vec<rapport_store::AuditEntry> {
    let entries = store.list_audit(of("team")).await.unwrap();
    entries.into_iter().filter(|entry| entry.entry.verb != "created").collect()
}

fn of(subject: &str) -> AuditFilter {
    AuditFilter { subject: Some(subject.to_owned()), limit: 50, ..AuditFilter::default() }
}

#[tokio::test]
async fn a_team_change_is_recorded_with_its_actor_before_and_after_and_only_when_it_changes_something() {
    let store = fresh_store().await;
    let lead = agent(&store, "lead@desk.example", Role::Supervisor, vec![]).await;
    let team = store.insert_team("Billing".into(), "Invoices".into(), at(0)).await.unwrap();
    let other = store.insert_team("Care".into(), String::new(), at(0)).await.unwrap();
    let actor = Actor::Agent(lead.agent);

    let changes = TeamChanges {
        owner_on_reply: Some(OwnerOnReply::None),
        reply_undo_seconds: Some(30),
        ..TeamChanges::default()
    };
    store.update_team_and_overflow(team.id, changes, None, actor, at(5)).await.unwrap();
    let created = store.list_audit(of("team")).await.unwrap();
    assert_eq!(created.iter().filter(|entry| entry.entry.verb == "created").count(), 2, "both teams' creations");
    let entries = team_changes(&store).await;
    assert_eq!(entries.len(), 1);
    let entry = &entries[0].entry;
    assert_eq!(
        (entry.actor, entry.subject_id.as_str(), entry.verb.as_str(), entry.at),
        (actor, &*team.id.0.to_string(), "changed", at(5))
    );
    let old = entry.old.as_ref().unwrap();
    let new = entry.new.as_ref().unwrap();
    assert_eq!((old["owner_on_reply"].clone(), new["owner_on_reply"].clone()), (json!("replier"), json!("none")));
    assert_eq!((old["reply_undo_seconds"].clone(), new["reply_undo_seconds"].clone()), (json!(10), json!(30)));
    assert_eq!(new["name"], "Billing");

    // The same values again change nothing and record nothing.
    let same = TeamChanges { reply_undo_seconds: Some(30), ..TeamChanges::default() };
    store.update_team_and_overflow(team.id, same, None, actor, at(6)).await.unwrap();
    assert_eq!(team_changes(&store).await.len(), 1);

    // A refused change (a name taken) changes nothing and records nothing.
    let taken = TeamChanges { name: Some("Care".into()), ..TeamChanges::default() };
    let refused = store.update_team_and_overflow(team.id, taken, None, actor, at(7)).await;
    assert!(matches!(refused, Err(StoreError::Conflict { .. })), "{refused:?}");
    assert_eq!(team_changes(&store).await.len(), 1);
    assert_eq!(store.get_team(other.id).await.unwrap().name, "Care");
}

#[tokio::test]
async fn entries_list_newest_first_by_subject_or_agent_a_page_at_a_time() {
    let store = fresh_store().await;
    let ada = agent(&store, "ada@desk.example", Role::Admin, vec![]).await;
    let bo = agent(&store, "bo@desk.example", Role::Admin, vec![]).await;
    for (n, (who, subject)) in
        [(ada.agent, "calendar"), (bo.agent, "policy"), (ada.agent, "policy"), (ada.agent, "calendar")]
            .into_iter()
            .enumerate()
    {
        let entry = NewAuditEntry {
            actor: Actor::Agent(who),
            subject: subject.to_owned(),
            subject_id: format!("{n}"),
            verb: "created".to_owned(),
            old: None,
            new: Some(json!({"n": n})),
            at: at(i64::try_from(n).unwrap()),
        };
        store.record_audit(entry).await.unwrap();
    }
    let ids = |entries: Vec<rapport_store::AuditEntry>| {
        entries.iter().map(|entry| entry.entry.subject_id.clone()).collect::<Vec<_>>()
    };
    // Creating the two agents was recorded first.
    let (ada_id, bo_id) = (ada.agent.0.to_string(), bo.agent.0.to_string());
    assert_eq!(
        ids(store.list_audit(AuditFilter { limit: 10, ..AuditFilter::default() }).await.unwrap()),
        ["3", "2", "1", "0", bo_id.as_str(), ada_id.as_str()]
    );
    assert_eq!(ids(store.list_audit(of("policy")).await.unwrap()), ["2", "1"]);
    let by_ada = AuditFilter { agent: Some(ada.agent), limit: 10, ..AuditFilter::default() };
    assert_eq!(ids(store.list_audit(by_ada).await.unwrap()), ["3", "2", "0"]);
    let first = store.list_audit(AuditFilter { limit: 2, ..AuditFilter::default() }).await.unwrap();
    let next = AuditFilter { before: Some(first[1].id), limit: 2, ..AuditFilter::default() };
    assert_eq!(ids(store.list_audit(next).await.unwrap()), ["1", "0"]);
    let created = &store.list_audit(of("calendar")).await.unwrap()[0].entry;
    assert_eq!((created.old.clone(), created.new.clone()), (None, Some(json!({"n": 3}))));
}

#[tokio::test]
async fn an_agent_is_recorded_when_created_changed_and_deactivated_never_with_a_password() {
    let store = fresh_store().await;
    let admin = agent(&store, "admin@desk.example", Role::Admin, vec![]).await;
    let team = store.insert_team("Care".into(), String::new(), at(0)).await.unwrap();
    let ben = agent(&store, "ben@desk.example", Role::Agent, vec![]).await;
    let by = Actor::Agent(admin.agent);
    let created = store.list_audit(of("agent")).await.unwrap();
    let ben_created = created.iter().find(|e| e.entry.subject_id == ben.agent.0.to_string()).expect("created");
    assert_eq!((ben_created.entry.verb.as_str(), ben_created.entry.old.is_none()), ("created", true));
    assert_eq!(ben_created.entry.new.as_ref().unwrap()["email"], "ben@desk.example");

    let changes = rapport_store::AgentChanges {
        role: Some(Role::Supervisor),
        teams: Some(vec![team.id]),
        chat_capacity: Some(Some(2)),
        password_hash: Some("$argon2id$not-really".into()),
        ..Default::default()
    };
    store.update_agent(ben.agent, changes, by, at(10)).await.unwrap();
    let entry = store.list_audit(of("agent")).await.unwrap().remove(0).entry;
    assert_eq!((entry.actor, entry.verb.as_str(), entry.at), (by, "changed", at(10)));
    let (old, new) = (entry.old.unwrap(), entry.new.unwrap());
    assert_eq!((old["role"].clone(), new["role"].clone()), (json!("agent"), json!("supervisor")));
    assert_eq!((old["chat_capacity"].clone(), new["chat_capacity"].clone()), (json!(null), json!(2)));
    assert_eq!(new["teams"], json!([team.id.0]));
    assert!(!new.to_string().contains("argon2"), "no password hash in the log: {new}");

    // A password alone is recorded as such, without values.
    let password = rapport_store::AgentChanges { password_hash: Some("$argon2id$again".into()), ..Default::default() };
    store.update_agent(ben.agent, password, by, at(11)).await.unwrap();
    let entry = store.list_audit(of("agent")).await.unwrap().remove(0).entry;
    assert_eq!((entry.verb.as_str(), entry.old, entry.new), ("password_changed", None, None));

    let off = rapport_store::AgentChanges { active: Some(false), ..Default::default() };
    store.update_agent(ben.agent, off, by, at(12)).await.unwrap();
    let entry = store.list_audit(of("agent")).await.unwrap().remove(0).entry;
    assert_eq!(entry.verb, "deactivated");
    assert_eq!(
        (entry.old.unwrap()["active"].clone(), entry.new.unwrap()["active"].clone()),
        (json!(true), json!(false))
    );

    // Refused (the last admin) records nothing.
    let before = store.list_audit(of("agent")).await.unwrap().len();
    let demote = rapport_store::AgentChanges { role: Some(Role::Agent), ..Default::default() };
    assert!(store.update_agent(admin.agent, demote, by, at(13)).await.is_err());
    assert_eq!(store.list_audit(of("agent")).await.unwrap().len(), before);
}

#[tokio::test]
async fn a_quarantined_message_is_decided_once_filed_or_discarded_and_each_decision_is_recorded() {
    use rapport_core::Channel;
    use rapport_store::QuarantineReason;
    let store = fresh_store().await;
    let admin = agent(&store, "admin@desk.example", Role::Admin, vec![]).await;
    let by = Actor::Agent(admin.agent);
    let raw = b"From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n".to_vec();
    // (The same bytes twice are one entry: each message here is its own.)
    let quarantine = |detail: &str| {
        let mut raw = raw.clone();
        raw.extend_from_slice(detail.as_bytes());
        store.quarantine(Channel::Email, QuarantineReason::RateLimited, detail.to_owned(), raw, at(1))
    };
    let first = match quarantine("storm").await.unwrap() {
        rapport_store::Filed::Quarantined { id, .. } => id,
        other => panic!("{other:?}"),
    };
    let second = match quarantine("storm again").await.unwrap() {
        rapport_store::Filed::Quarantined { id, .. } => id,
        other => panic!("{other:?}"),
    };
    let card = store.get_quarantined(first).await.unwrap();
    assert_eq!((card.state.as_str(), card.detail.as_str(), card.size), ("held", "storm", raw.len() as i64 + 5));

    let ticket = store.create_ticket(request("Hi", "a@example.com")).await.unwrap().ticket.id;
    assert!(store.resolve_quarantined(first, Some(ticket), by, at(2)).await.unwrap());
    assert!(!store.resolve_quarantined(first, Some(ticket), by, at(3)).await.unwrap(), "decided once");
    assert!(!store.discard_quarantined(first, by, at(3)).await.unwrap(), "a filed message stays filed");
    assert!(store.discard_quarantined(second, by, at(4)).await.unwrap());
    let (filed, discarded) =
        (store.get_quarantined(first).await.unwrap(), store.get_quarantined(second).await.unwrap());
    assert_eq!((filed.state.as_str(), filed.ticket), ("resolved", Some(ticket)));
    assert_eq!(discarded.state, "ignored");
    assert!(store.list_quarantine(Some("held"), 10).await.unwrap().is_empty());
    assert!(matches!(store.discard_quarantined(999_999, by, at(5)).await, Err(StoreError::NotFound(_))));

    let entries = store.list_audit(of("quarantine")).await.unwrap();
    let verbs: Vec<(&str, &str)> =
        entries.iter().map(|entry| (entry.entry.subject_id.as_str(), entry.entry.verb.as_str())).collect();
    assert_eq!(verbs, [(&*second.to_string(), "discarded"), (&*first.to_string(), "filed")]);
    assert_eq!(entries[1].entry.new.as_ref().unwrap()["ticket"], json!(ticket.0));
    assert_eq!(entries[1].entry.actor, by);
}

#[tokio::test]
async fn rules_and_the_escalation_plan_are_recorded_with_who_before_and_after() {
    let store = fresh_store().await;
    let lead = agent(&store, "lead@desk.example", Role::Supervisor, vec![]).await;
    let actor = Actor::Agent(lead.agent);
    let rule = |name: &str| -> rapport_core::rules::Rule {
        serde_json::from_value(json!({
            "name": name, "trigger": { "type": "target_breached", "target": "first_response" },
            "conditions": [], "actions": [{ "type": "notify_supervisor", "message": "Late" }],
        }))
        .unwrap()
    };
    let stored = store.insert_rule(rule("Late"), None, actor, at(1)).await.unwrap();
    store.update_rule(stored.id, rule("Very late"), Some(5), actor, at(2)).await.unwrap();
    store.delete_rule(stored.id, Actor::System, at(3)).await.unwrap();
    let entries = store.list_audit(of("rule")).await.unwrap();
    let verbs: Vec<&str> = entries.iter().map(|entry| entry.entry.verb.as_str()).collect();
    assert_eq!(verbs, ["deleted", "changed", "created"], "newest first");
    let changed = &entries[1].entry;
    assert_eq!((changed.actor, changed.subject_id.as_str()), (actor, stored.id.0.to_string().as_str()));
    let (old, new) = (changed.old.as_ref().unwrap(), changed.new.as_ref().unwrap());
    assert_eq!((old["name"].clone(), new["name"].clone()), (json!("Late"), json!("Very late")));
    assert_eq!(new["position"], json!(5));
    assert_eq!(entries[0].entry.actor, Actor::System);
    assert!(entries[0].entry.new.is_none() && entries[0].entry.old.is_some());
    // A refused rule records nothing.
    let before = store.list_audit(of("rule")).await.unwrap().len();
    let missing = store.update_rule(stored.id, rule("Gone"), None, actor, at(4)).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound(_)), "{missing:?}");
    assert_eq!(store.list_audit(of("rule")).await.unwrap().len(), before);

    let plan = rapport_core::rules::EscalationPlan { levels: vec![None], on_call: Some(lead.agent) };
    store.put_escalation_plan(plan, actor, at(5)).await.unwrap();
    let entry = store.list_audit(of("escalation_plan")).await.unwrap().remove(0).entry;
    assert_eq!((entry.verb.as_str(), entry.actor), ("changed", actor));
    assert_eq!(entry.old, Some(json!({"levels": [], "on_call": null})));
    assert_eq!(entry.new, Some(json!({"levels": [null], "on_call": lead.agent.0})));
}
