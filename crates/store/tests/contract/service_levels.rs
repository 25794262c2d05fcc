//! Calendars, SLA policies and the projector: the shipped defaults, the
//! validation that names the bad field, each ticket's targets kept in step
//! with its events, and the sweep that re-measures open tickets after a
//! policy change.

use rapport_core::sla::projection::KeptTarget;
use rapport_core::sla::{PolicyMatch, SlaPolicy, TargetKind, TargetSpec, TargetStatus, Targets};
use rapport_core::{Author, Channel, MessageKind, Role, Status, TeamId, Timestamp};
use rapport_store::{NewMessage, Rejection, Store, StoreError};

use crate::harness::*;

fn instant(text: &str) -> Timestamp {
    Timestamp(text.parse::<jiff::Timestamp>().unwrap().as_millisecond())
}

fn invalid_field(error: StoreError) -> String {
    match error {
        StoreError::Rejected(Rejection::Invalid { field, .. }) => field,
        other => panic!("expected a refusal naming a field, got {other:?}"),
    }
}

fn policy(name: &str, channels: Vec<Channel>, seconds: i64) -> SlaPolicy {
    SlaPolicy {
        name: name.to_owned(),
        conditions: PolicyMatch { channels, ..PolicyMatch::default() },
        targets: Targets { first_response: Some(TargetSpec { seconds, business_hours: false }), ..Targets::default() },
        pause_when_pending: true,
        calendar: "default".to_owned(),
    }
}

async fn project_all(store: &Store, now: Timestamp) {
    while store.project_changed(500, now).await.unwrap() > 0 {}
    assert_eq!(store.count_sla_backlog().await.unwrap(), 0);
}

fn first_response(targets: &[KeptTarget]) -> KeptTarget {
    *targets.iter().find(|target| target.kind == TargetKind::FirstResponse).unwrap()
}

#[tokio::test]
async fn the_shipped_policies_are_installed_once_and_bad_ones_are_refused_by_field() {
    let store = fresh_store().await;
    assert_eq!(store.install_default_policies(T0).await.unwrap(), 9);
    assert_eq!(store.install_default_policies(T0).await.unwrap(), 0);
    let policies = store.list_policies().await.unwrap();
    assert_eq!(policies.len(), 9);
    assert_eq!(policies.first().unwrap().policy.name, "Premium phone");
    assert_eq!(policies.last().unwrap().policy.name, "Email and web");

    let mut unknown_calendar = policy("Berlin email", vec![Channel::Email], 60);
    unknown_calendar.calendar = "berlin".to_owned();
    assert_eq!(
        invalid_field(store.insert_policy(unknown_calendar, None, rapport_core::Actor::System, T0).await.unwrap_err()),
        "calendar"
    );
    let mut missing_team = policy("Team", vec![], 60);
    missing_team.conditions.teams = vec![TeamId(999)];
    assert_eq!(
        invalid_field(store.insert_policy(missing_team, None, rapport_core::Actor::System, T0).await.unwrap_err()),
        "conditions.teams[0]"
    );
    let zero = policy("Zero", vec![], 0);
    assert_eq!(
        invalid_field(store.insert_policy(zero, None, rapport_core::Actor::System, T0).await.unwrap_err()),
        "targets.first_response.seconds"
    );
    let taken = policy("Phone", vec![Channel::Phone], 30);
    assert_eq!(
        invalid_field(store.insert_policy(taken, None, rapport_core::Actor::System, T0).await.unwrap_err()),
        "name"
    );
    assert_eq!(store.list_policies().await.unwrap().len(), 9, "nothing half-written");

    let added = store
        .insert_policy(policy("Web first", vec![Channel::Web], 600), Some(1), rapport_core::Actor::System, T0)
        .await
        .unwrap();
    assert_eq!(store.list_policies().await.unwrap().first().unwrap().id, added.id);
    store.delete_policy(added.id, rapport_core::Actor::System, T0).await.unwrap();
    let again = store.delete_policy(added.id, rapport_core::Actor::System, T0).await;
    assert!(matches!(again, Err(StoreError::NotFound(_))), "{again:?}");
}

#[tokio::test]
async fn calendars_round_trip_and_one_in_use_cannot_be_deleted() {
    let store = fresh_store().await;
    let bad = store
        .put_calendar("berlin".into(), "timezone = \"Mars/Olympus\"\n".into(), rapport_core::Actor::System, T0)
        .await
        .unwrap_err();
    assert_eq!(invalid_field(bad), "source");
    let overlap = "timezone = \"Europe/Berlin\"\n[hours]\nmon = [\"09:00-12:00\", \"11:00-13:00\"]\n";
    assert_eq!(
        invalid_field(
            store.put_calendar("berlin".into(), overlap.into(), rapport_core::Actor::System, T0).await.unwrap_err()
        ),
        "source"
    );
    assert_eq!(
        invalid_field(
            store
                .put_calendar("no spaces".into(), "preset = \"24x7\"\n".into(), rapport_core::Actor::System, T0)
                .await
                .unwrap_err()
        ),
        "name"
    );
    let source = "timezone = \"Europe/Berlin\"\nholidays = [\"2026-12-24\"]\n[hours]\nmon = [\"08:00-12:00\", \"13:00-18:00\"]\n";
    store.put_calendar("berlin".into(), source.into(), rapport_core::Actor::System, T0).await.unwrap();
    let calendars = store.list_calendars().await.unwrap();
    assert_eq!(calendars.len(), 1);
    assert_eq!((calendars[0].name.as_str(), calendars[0].source.as_str()), ("berlin", source));

    let mut berlin = policy("Berlin email", vec![Channel::Email], 3600);
    berlin.calendar = "berlin".to_owned();
    let stored = store.insert_policy(berlin, None, rapport_core::Actor::System, T0).await.unwrap();
    assert_eq!(
        invalid_field(store.delete_calendar("berlin".into(), rapport_core::Actor::System, T0).await.unwrap_err()),
        "name"
    );
    store.delete_policy(stored.id, rapport_core::Actor::System, T0).await.unwrap();
    store.delete_calendar("berlin".into(), rapport_core::Actor::System, T0).await.unwrap();
    assert!(store.list_calendars().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_projector_keeps_each_tickets_targets_in_step_with_its_events() {
    let store = fresh_store().await;
    store.install_default_policies(T0).await.unwrap();
    let agent = agent(&store, "agent@example.com", Role::Agent, vec![]).await;
    // T0 is Monday 2026-09-21 14:13:20 UTC: 2 h 46 min 40 s of business time
    // remain that day, the other 3 h 13 min 20 s of six hours run on Tuesday.
    let ticket = store.create_ticket(request("Printer on fire", "ann@example.com")).await.unwrap().ticket;
    project_all(&store, at(1)).await;
    let kept = store.find_ticket_sla(ticket.id).await.unwrap().unwrap();
    let (email_policy, _) = store.measure_ticket(ticket.id, at(1)).await.unwrap().unwrap();
    assert_eq!(kept.policy, Some(email_policy));
    let first = first_response(&kept.targets);
    assert_eq!((first.state, first.seconds, first.business_hours), (TargetStatus::Active, 6 * 3600, true));
    assert_eq!(first.due, Some(instant("2026-09-22T12:13:20Z")));
    assert_eq!(kept.counters.messages, 1);

    let reply = NewMessage {
        kind: MessageKind::Reply,
        author: Author::Agent(agent.agent),
        text: "On it".into(),
        html: None,
        attachments: vec![],
        origin: Default::default(),
        now: at(1800),
    };
    store.add_message(ticket.id, Some(agent.clone()), reply).await.unwrap();
    project_all(&store, at(1801)).await;
    let kept = store.find_ticket_sla(ticket.id).await.unwrap().unwrap();
    let first = first_response(&kept.targets);
    assert_eq!((first.state, first.met_at, first.elapsed_seconds), (TargetStatus::Met, Some(at(1800)), 1800));
    // The live measurement and the kept one agree.
    let (_, live) = store.measure_ticket(ticket.id, at(1801)).await.unwrap().unwrap();
    assert_eq!(live, kept.targets);
    assert_eq!(kept.counters.messages, 2);
    // The agent who sent the first reply owns the ticket from then on (issue 14).
    assert_eq!(kept.unowned_since, None);

    // A page of tickets reads its kept rows at once; a ticket not measured
    // yet has none.
    let later = store.create_ticket(request("Scanner too", "bob@example.com")).await.unwrap().ticket;
    let page = store.find_ticket_slas(&[ticket.id, later.id, rapport_core::TicketId(999)]).await.unwrap();
    assert_eq!(page, vec![kept]);
    assert!(store.find_ticket_slas(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn after_a_policy_change_the_sweep_re_measures_every_open_ticket_once() {
    let store = fresh_store().await;
    store.install_default_policies(T0).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..25 {
        let ticket = store.create_ticket(request(&format!("Case {n}"), &format!("c{n}@example.com"))).await.unwrap();
        ids.push(ticket.ticket.id);
    }
    let viewer = agent(&store, "lead@example.com", Role::Admin, vec![]).await;
    let solved = rapport_core::event::TicketPatch { status: Some(Status::Solved), ..Default::default() };
    store.patch_ticket(ids[0], viewer, solved, None, at(5)).await.unwrap();
    project_all(&store, at(10)).await;
    // Nothing to sweep under the generation the tickets were measured with.
    let mut progress = store.project_sweep(10, at(11)).await.unwrap();
    while !progress.done {
        progress = store.project_sweep(10, at(11)).await.unwrap();
    }

    let email = store.list_policies().await.unwrap().into_iter().find(|p| p.policy.name == "Email and web").unwrap();
    let mut faster = email.policy.clone();
    faster.targets.first_response = Some(TargetSpec { seconds: 3600, business_hours: false });
    store.update_policy(email.id, faster, None, rapport_core::Actor::System, at(20)).await.unwrap();
    let mut steps = 0;
    loop {
        let progress = store.project_sweep(10, at(21)).await.unwrap();
        steps += 1;
        if progress.done {
            break;
        }
        assert!(steps < 10, "the sweep does not end");
    }
    assert_eq!(steps, 4, "24 open tickets in batches of 10, then one step to find the end");
    for id in &ids[1..] {
        let kept = store.find_ticket_sla(*id).await.unwrap().unwrap();
        let first = first_response(&kept.targets);
        assert_eq!((first.seconds, first.business_hours, first.due), (3600, false, Some(T0.plus_millis(3_600_000))));
    }
    // The solved ticket keeps what it had when it was solved.
    let solved = store.find_ticket_sla(ids[0]).await.unwrap().unwrap();
    assert_eq!(first_response(&solved.targets).seconds, 6 * 3600);
    assert!(store.project_sweep(10, at(22)).await.unwrap().done);
}

fn message(kind: MessageKind, author: Author, now: Timestamp) -> NewMessage {
    NewMessage { kind, author, text: "Text".into(), html: None, attachments: vec![], origin: Default::default(), now }
}

#[tokio::test]
async fn the_sweep_measures_from_the_kept_text_what_the_event_log_gives() {
    let (store, url) = fresh_store_with_url().await;
    store.install_default_policies(T0).await.unwrap();
    let lead = agent(&store, "lead@example.com", Role::Admin, vec![]).await;
    let mut ids = Vec::new();
    for n in 0..7 {
        let mut create = request(&format!("Case {n}"), &format!("k{n}@example.com"));
        if n == 6 {
            // A chat: the email policy's change leaves its row as it was.
            create.channel = Channel::Chat;
        }
        ids.push(store.create_ticket(create).await.unwrap().ticket);
    }
    let patch = |status| rapport_core::event::TicketPatch { status: Some(status), ..Default::default() };
    let reply = |now| message(MessageKind::Reply, Author::Agent(lead.agent), now);
    // 1: answered, then the customer wrote again (a next-response cycle runs).
    store.add_message(ids[1].id, Some(lead.clone()), reply(at(600))).await.unwrap();
    let customer = message(MessageKind::Inbound, Author::Customer(ids[1].customer), at(900));
    store.add_message(ids[1].id, None, customer).await.unwrap();
    // 2: pending on the customer, who then wrote.
    store.patch_ticket(ids[2].id, lead.clone(), patch(Status::Pending), None, at(300)).await.unwrap();
    let customer = message(MessageKind::Inbound, Author::Customer(ids[2].customer), at(4000));
    store.add_message(ids[2].id, None, customer).await.unwrap();
    // 3: on hold and back.
    store.patch_ticket(ids[3].id, lead.clone(), patch(Status::OnHold), None, at(100)).await.unwrap();
    store.patch_ticket(ids[3].id, lead.clone(), patch(Status::Open), None, at(7300)).await.unwrap();
    // 4 and 5: tagged and raised.
    let raise = rapport_core::event::TicketPatch {
        priority: Some((rapport_core::Level::Urgent, "Outage".into())),
        tags: Some(vec!["vip-customer".into(), "needs:review".into()]),
        ..Default::default()
    };
    store.patch_ticket(ids[4].id, lead.clone(), raise.clone(), None, at(50)).await.unwrap();
    store.patch_ticket(ids[5].id, lead.clone(), raise, None, at(60)).await.unwrap();
    project_all(&store, at(8000)).await;
    // 4 and 5 with damaged kept text: both are measured from their event log instead.
    execute_sql(&url, &format!("UPDATE ticket_sla SET happenings = 'c1 x2' WHERE ticket_id = {}", ids[4].id.0)).await;
    execute_sql(&url, &format!("UPDATE ticket_sla SET card = 'open 9' WHERE ticket_id = {}", ids[5].id.0)).await;

    // Pausing while pending off, every target tighter, in real time.
    let email = store.list_policies().await.unwrap().into_iter().find(|p| p.policy.name == "Email and web").unwrap();
    let mut changed = email.policy.clone();
    changed.pause_when_pending = false;
    changed.targets.first_response = Some(TargetSpec { seconds: 1800, business_hours: false });
    changed.targets.next_response = Some(TargetSpec { seconds: 900, business_hours: false });
    store.update_policy(email.id, changed, None, rapport_core::Actor::System, at(9000)).await.unwrap();
    let now = at(9100);
    while !store.project_sweep(4, now).await.unwrap().done {}

    let (_, set) = store.policy_set().await.unwrap();
    for ticket in &ids {
        let kept = store.find_ticket_sla(ticket.id).await.unwrap().unwrap();
        let (policy, live) = store.measure_ticket(ticket.id, now).await.unwrap().unwrap();
        let calendar = set.calendar(&set.policy(policy).unwrap().calendar);
        let forward: Vec<KeptTarget> =
            kept.targets.iter().map(|target| target.at(kept.computed_at, now, calendar)).collect();
        assert_eq!((kept.policy, &forward), (Some(policy), &live), "ticket {}", ticket.id.0);
        let rewritten = ticket.channel == Channel::Email;
        assert_eq!(kept.computed_at == now, rewritten, "ticket {} rewritten: {}", ticket.id.0, !rewritten);
    }
    for ticket in &ids[..4] {
        assert_eq!(kept_target(&store, ticket.id, TargetKind::FirstResponse).await.seconds, 1800);
    }
    let next = kept_target(&store, ids[1].id, TargetKind::NextResponse).await;
    assert_eq!((next.start, next.due), (at(900), Some(at(1800))));
    // The damaged texts are whole again: a timer rule sees both tickets.
    store
        .put_escalation_plan(
            rapport_core::rules::EscalationPlan { levels: vec![], on_call: Some(lead.agent) },
            rapport_core::Actor::System,
            at(0),
        )
        .await
        .unwrap();
    let rule: rapport_core::rules::Rule = serde_json::from_value(serde_json::json!({
        "name": "Urgent and late", "trigger": { "type": "target_breached", "target": "first_response" },
        "conditions": [{ "field": "tags", "op": "contains", "value": "vip-customer" }],
        "actions": [{ "type": "notify_supervisor", "message": "Late" }],
    }))
    .unwrap();
    store.insert_rule(rule, None, rapport_core::Actor::System, now).await.unwrap();
    let pass = store.run_timers(now, &mut rapport_store::FiredMemory::default()).await.unwrap();
    assert_eq!((pass.tickets, pass.enqueued), (7, 2));

    // After a restart, a pass that forgot sends both firings again (the
    // unique key drops them); one that remembered from the jobs sends none.
    let forgot = store.run_timers(now, &mut rapport_store::FiredMemory::default()).await.unwrap();
    assert_eq!((forgot.firings, forgot.sent, forgot.enqueued), (2, 2, 0));
    let mut remembered = rapport_store::FiredMemory::default();
    assert_eq!(store.remember_firings(&mut remembered).await.unwrap(), 2);
    let pass = store.run_timers(now, &mut remembered).await.unwrap();
    assert_eq!((pass.firings, pass.sent, pass.enqueued), (2, 0, 0));
}

async fn kept_target(store: &Store, ticket: rapport_core::TicketId, kind: TargetKind) -> KeptTarget {
    let kept = store.find_ticket_sla(ticket).await.unwrap().unwrap();
    *kept.targets.iter().find(|target| target.kind == kind).unwrap()
}

#[tokio::test]
async fn a_change_of_tier_measures_the_customers_open_tickets_again() {
    let store = fresh_store().await;
    store.install_default_policies(T0).await.unwrap();
    let ticket = store.create_ticket(request("Slow export", "vip@example.com")).await.unwrap().ticket;
    let other = store.create_ticket(request("Other customer", "basic@example.com")).await.unwrap().ticket;
    project_all(&store, at(10)).await;
    let policy_name = |id: Option<i64>, policies: &[rapport_store::StoredPolicy]| {
        policies.iter().find(|stored| Some(stored.id) == id).map(|stored| stored.policy.name.clone())
    };
    let policies = store.list_policies().await.unwrap();
    let before = store.find_ticket_sla(ticket.id).await.unwrap().unwrap();
    assert_eq!(policy_name(before.policy, &policies).as_deref(), Some("Email and web"));

    let premium =
        rapport_store::CustomerChanges { tier: Some(Some(rapport_core::Tier("premium".into()))), ..Default::default() };
    store.update_customer(ticket.customer, premium).await.unwrap();
    assert_eq!(store.count_sla_backlog().await.unwrap(), 1, "only the customer's open ticket is marked");
    project_all(&store, at(20)).await;
    let after = store.find_ticket_sla(ticket.id).await.unwrap().unwrap();
    assert_eq!(after.tier.0, "premium");
    let (live, _) = store.measure_ticket(ticket.id, at(20)).await.unwrap().unwrap();
    assert_eq!(after.policy, Some(live));
    assert_ne!(after.policy, before.policy, "a premium policy applies now");
    let untouched = store.find_ticket_sla(other.id).await.unwrap().unwrap();
    assert_eq!(untouched.computed_at, at(10));

    // The other customer joins an organization, whose tier then changes:
    // each change marks the customer's open ticket.
    let org = store
        .insert_organization("Globex".into(), rapport_core::Tier("basic".into()), rapport_core::Actor::System, at(30))
        .await
        .unwrap();
    let join = rapport_store::CustomerChanges { organization: Some(Some(org.id)), ..Default::default() };
    store.update_customer(other.customer, join).await.unwrap();
    assert_eq!(store.count_sla_backlog().await.unwrap(), 1);
    project_all(&store, at(40)).await;
    let upgrade =
        rapport_store::OrganizationChanges { tier: Some(rapport_core::Tier("premium".into())), ..Default::default() };
    store.update_organization(org.id, upgrade, rapport_core::Actor::System, at(40)).await.unwrap();
    assert_eq!(store.count_sla_backlog().await.unwrap(), 1);
    project_all(&store, at(50)).await;
    let upgraded = store.find_ticket_sla(other.id).await.unwrap().unwrap();
    assert_eq!((upgraded.tier.0.as_str(), upgraded.policy), ("premium", after.policy));
}

#[tokio::test]
async fn issue_15_three_instances_starting_together_on_a_new_database_all_start() {
    for _ in 0..5 {
        let (url, _dir) = match std::env::var("RAPPORT_TEST_DATABASE_URL") {
            Ok(base) if !base.is_empty() => (fresh_postgres_database(&base).await, None),
            _ => {
                let dir = tempfile::tempdir().unwrap();
                (format!("sqlite://{}", dir.path().join("new.db").display()), Some(dir))
            }
        };
        // What `rapport serve` does first: open (migrating) and install the shipped policies.
        let start = |url: String| async move {
            let store = rapport_store::Store::open(&url, rapport_store::StoreOptions::default()).await?;
            let installed = store.install_default_policies(T0).await?;
            Ok::<_, rapport_store::StoreError>((store, installed))
        };
        let (a, b, c) = tokio::join!(start(url.clone()), start(url.clone()), start(url.clone()));
        let started = [a, b, c].map(|result| result.expect("every instance starts"));
        let installed: usize = started.iter().map(|(_, installed)| installed).sum();
        let policies = started[0].0.list_policies().await.unwrap();
        assert!(installed > 0 && installed == policies.len(), "installed once: {installed} of {}", policies.len());
        for (store, _) in started {
            store.close().await;
        }
    }
}

#[tokio::test]
async fn issue_16_a_reply_written_after_the_projector_read_its_clock_is_kept_as_met() {
    // The projector reads its clock, then the changed tickets' event logs: an
    // event committed in between is in the log but after that `now`. Measured
    // at that `now` it would be ignored, the mark removed, and the kept row
    // would show the first response running until the next event.
    let store = fresh_store().await;
    store.install_default_policies(T0).await.unwrap();
    let lead = agent(&store, "lead@example.com", Role::Supervisor, vec![]).await;
    let ticket = store.create_ticket(request("Late", "late@example.com")).await.unwrap().ticket;
    project_all(&store, at(1)).await;
    let reply = NewMessage {
        kind: MessageKind::Reply,
        author: Author::Agent(lead.agent),
        text: "On it".into(),
        html: None,
        attachments: vec![],
        origin: Default::default(),
        now: at(1800),
    };
    store.add_message(ticket.id, Some(lead.clone()), reply).await.unwrap();
    // The pass read its clock a moment before the reply was stamped.
    project_all(&store, at(1799)).await;
    let kept = store.find_ticket_sla(ticket.id).await.unwrap().unwrap();
    let first = first_response(&kept.targets);
    assert_eq!((first.state, first.met_at), (TargetStatus::Met, Some(at(1800))), "{kept:?}");
    let (_, live) = store.measure_ticket(ticket.id, at(1800)).await.unwrap().unwrap();
    assert_eq!(first, first_response(&live));

    // A sweep that reads its clock before the kept row's measurement keeps it too.
    let policies = store.list_policies().await.unwrap();
    let email = policies.iter().find(|stored| stored.policy.name == "Email and web").unwrap();
    let mut changed = email.policy.clone();
    changed.targets.resolution = Some(TargetSpec { seconds: 7200, business_hours: false });
    store.update_policy(email.id, changed, None, rapport_core::Actor::System, at(1799)).await.unwrap();
    while !store.project_sweep(500, at(1799)).await.unwrap().done {}
    let swept = store.find_ticket_sla(ticket.id).await.unwrap().unwrap();
    assert_eq!(first_response(&swept.targets).state, TargetStatus::Met, "{swept:?}");
}

#[tokio::test]
async fn policy_changes_are_audited_and_a_preview_measures_a_ticket_under_an_unsaved_policy() {
    let store = fresh_store().await;
    let by = rapport_core::Actor::System;
    let email = policy("Email", vec![Channel::Email], 600);
    let stored = store.insert_policy(email.clone(), None, by, T0).await.unwrap();
    let faster = SlaPolicy { name: "Email fast".into(), ..email.clone() };
    store.update_policy(stored.id, faster.clone(), None, by, at(1)).await.unwrap();
    store.update_policy(stored.id, faster, None, by, at(2)).await.unwrap();
    store.delete_policy(stored.id, by, at(3)).await.unwrap();
    let filter = rapport_store::AuditFilter { subject: Some("policy".into()), limit: 10, ..Default::default() };
    let verbs: Vec<String> =
        store.list_audit(filter).await.unwrap().into_iter().map(|entry| entry.entry.verb).collect();
    assert_eq!(verbs, ["deleted", "changed", "created"], "the same text again records nothing");

    // A preview: the unsaved policy alone, checked as saving checks it.
    let mut elsewhere = policy("Berlin", vec![Channel::Email], 600);
    elsewhere.calendar = "berlin".into();
    assert_eq!(invalid_field(store.preview_policy_set(elsewhere).await.unwrap_err()), "calendar");
    let ticket = store.create_ticket(request("Preview me", "ana@example.com")).await.unwrap().ticket.id;
    let set = store.preview_policy_set(policy("Email now", vec![Channel::Email], 600)).await.unwrap();
    let (_, targets) = store.measure_ticket_under(ticket, &set, at(5)).await.unwrap().expect("it applies");
    assert_eq!(targets[0].kind, TargetKind::FirstResponse);
    let chat_only = store.preview_policy_set(policy("Chat", vec![Channel::Chat], 600)).await.unwrap();
    assert!(store.measure_ticket_under(ticket, &chat_only, at(5)).await.unwrap().is_none(), "it does not apply");
    assert!(store.list_policies().await.unwrap().is_empty(), "a preview saves nothing");
}

#[tokio::test]
async fn a_rules_dry_run_lists_the_open_tickets_it_would_fire_on_and_saves_nothing() {
    let store = fresh_store().await;
    store.install_default_policies(T0).await.unwrap();
    let ticket = store.create_ticket(request("Dry run", "ana@example.com")).await.unwrap().ticket.id;
    store.project_changed(100, at(1)).await.unwrap();
    let rule = |statuses: &str, trigger: serde_json::Value| -> rapport_core::rules::Rule {
        serde_json::from_value(serde_json::json!({
            "name": "Dry",
            "trigger": trigger,
            "conditions": [{"field": "status", "op": "in", "value": [statuses]}],
            "actions": [{"type": "raise_priority"}]
        }))
        .unwrap()
    };
    let event = serde_json::json!({"type": "event", "event": "customer_replied"});
    let found = store.dry_run_rule(rule("new", event.clone()), at(2)).await.unwrap();
    assert_eq!((found.checked, found.cut), (1, false));
    assert_eq!(found.tickets.len(), 1);
    assert_eq!(found.tickets[0].0, ticket);
    assert!(found.tickets[0].1.contains("customer_replied"), "{:?}", found.tickets);
    assert!(store.dry_run_rule(rule("pending", event), at(2)).await.unwrap().tickets.is_empty());

    // A timer rule: the first reply's target breached a day later.
    let breached = serde_json::json!({"type": "target_breached", "target": "first_response"});
    let later = store.dry_run_rule(rule("new", breached.clone()), at(86_400 * 3)).await.unwrap();
    assert_eq!(later.tickets.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [ticket]);
    assert!(later.tickets[0].1.contains("breached"), "the timer key: {:?}", later.tickets);
    assert!(store.dry_run_rule(rule("new", breached), at(2)).await.unwrap().tickets.is_empty(), "not yet");

    let mut unknown = rule("new", serde_json::json!({"type": "event", "event": "created"}));
    unknown.actions = vec![rapport_core::rules::Action::MoveToTeam { team: TeamId(999) }];
    assert!(invalid_field(store.dry_run_rule(unknown, at(2)).await.unwrap_err()).starts_with("actions[0]"));
    assert!(store.list_rules().await.unwrap().is_empty(), "a dry run saves nothing");
}
