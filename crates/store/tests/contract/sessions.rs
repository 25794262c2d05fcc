use rapport_core::Role;
use rapport_store::{AgentChanges, NewAgentSession, RateCheck};

use crate::harness::*;

fn session(agent: rapport_core::AgentId, hash: &str, replaces: Option<&str>) -> NewAgentSession {
    NewAgentSession {
        agent,
        token_hash: hash.to_owned(),
        replaces: replaces.map(str::to_owned),
        now: at(0),
        expires_at: at(3600),
    }
}

#[tokio::test]
async fn a_session_signs_in_until_it_expires_is_ended_or_replaced() {
    let store = fresh_store().await;
    let ada = agent(&store, "ada@desk.example", Role::Agent, vec![]).await;
    store.begin_agent_session(session(ada.agent, "one", None)).await.unwrap();
    let found = store.find_agent_by_session("one", at(10)).await.unwrap().unwrap();
    assert_eq!(found.id, ada.agent);
    assert!(store.find_agent_by_session("one", at(3600)).await.unwrap().is_none(), "expired at its end");
    assert!(store.find_agent_by_session("unknown", at(10)).await.unwrap().is_none());

    // Signing in again from the same browser replaces its session: the old id no longer works.
    store.begin_agent_session(session(ada.agent, "two", Some("one"))).await.unwrap();
    assert!(store.find_agent_by_session("one", at(10)).await.unwrap().is_none());
    assert!(store.find_agent_by_session("two", at(10)).await.unwrap().is_some());

    store.end_agent_session("two".into()).await.unwrap();
    assert!(store.find_agent_by_session("two", at(10)).await.unwrap().is_none());
    store.end_agent_session("two".into()).await.unwrap();
    assert_eq!(store.purge_agent_sessions(at(10)).await.unwrap(), 0);
}

#[tokio::test]
async fn a_password_change_or_a_deactivation_ends_every_session_of_that_agent_only() {
    let store = fresh_store().await;
    let _admin = agent(&store, "root@desk.example", Role::Admin, vec![]).await;
    let ada = agent(&store, "ada@desk.example", Role::Agent, vec![]).await;
    let bo = agent(&store, "bo@desk.example", Role::Agent, vec![]).await;
    for (who, hash) in [(ada.agent, "ada-laptop"), (ada.agent, "ada-phone"), (bo.agent, "bo-laptop")] {
        store.begin_agent_session(session(who, hash, None)).await.unwrap();
    }
    assert_eq!(store.count_agent_sessions(ada.agent, at(1)).await.unwrap(), 2);

    let renamed = AgentChanges { name: Some("Ada L.".into()), ..Default::default() };
    store.update_agent(ada.agent, renamed, rapport_core::Actor::System, T0).await.unwrap();
    assert_eq!(store.count_agent_sessions(ada.agent, at(1)).await.unwrap(), 2, "a rename keeps them");

    let password = AgentChanges { password_hash: Some("$argon2id$new".into()), ..Default::default() };
    store.update_agent(ada.agent, password, rapport_core::Actor::System, T0).await.unwrap();
    assert_eq!(store.count_agent_sessions(ada.agent, at(1)).await.unwrap(), 0);
    assert!(store.find_agent_by_session("ada-phone", at(1)).await.unwrap().is_none());
    assert!(store.find_agent_by_session("bo-laptop", at(1)).await.unwrap().is_some(), "others keep theirs");

    let off = AgentChanges { active: Some(false), ..Default::default() };
    store.update_agent(bo.agent, off, rapport_core::Actor::System, T0).await.unwrap();
    assert!(store.find_agent_by_session("bo-laptop", at(1)).await.unwrap().is_none());
    assert_eq!(store.purge_agent_sessions(at(3600)).await.unwrap(), 0, "nothing was left to purge");
}

#[tokio::test]
async fn a_reset_counter_starts_again() {
    let store = fresh_store().await;
    let key = "sign-in:account:ada@desk.example".to_owned();
    for _ in 0..2 {
        assert_eq!(store.count_attempt(key.clone(), 60_000, 2, at(0)).await.unwrap(), RateCheck::Allowed);
    }
    assert!(matches!(store.count_attempt(key.clone(), 60_000, 2, at(1)).await.unwrap(), RateCheck::Limited { .. }));
    store.reset_attempts(key.clone()).await.unwrap();
    assert_eq!(store.count_attempt(key, 60_000, 2, at(2)).await.unwrap(), RateCheck::Allowed);
}

#[tokio::test]
async fn a_queue_count_stops_at_its_cap_and_honours_filters_and_visibility() {
    let store = fresh_store().await;
    let team = store.insert_team("Billing".into(), String::new(), at(0)).await.unwrap();
    let lead = agent(&store, "lead@desk.example", Role::Admin, vec![]).await;
    let outsider = agent(&store, "out@desk.example", Role::Agent, vec![]).await;
    for n in 0..7 {
        let mut ticket = request(&format!("Question {n}"), &format!("c{n}@mail.test"));
        if n < 3 {
            ticket.team = Some(team.id);
        }
        store.create_ticket(ticket).await.unwrap();
    }
    let all = rapport_store::TicketFilter::default();
    assert_eq!(store.count_tickets_capped(&all, &lead, 100).await.unwrap(), 7);
    assert_eq!(store.count_tickets_capped(&all, &lead, 5).await.unwrap(), 5, "stops at the cap");
    let billing = rapport_store::TicketFilter { team: Some(team.id), ..Default::default() };
    assert_eq!(store.count_tickets_capped(&billing, &lead, 100).await.unwrap(), 3);
    let mine = rapport_store::TicketFilter { owner: Some(outsider.agent), ..Default::default() };
    assert_eq!(store.count_tickets_capped(&mine, &outsider, 100).await.unwrap(), 0);
}

#[tokio::test]
async fn at_risk_counts_unsolved_tickets_with_a_target_due_soon() {
    let store = fresh_store().await;
    store.install_default_policies(at(0)).await.unwrap();
    let lead = agent(&store, "lead@desk.example", Role::Admin, vec![]).await;
    for n in 0..3 {
        store.create_ticket(request(&format!("Question {n}"), &format!("c{n}@mail.test"))).await.unwrap();
    }
    store.project_changed(100, at(1)).await.unwrap();
    let far = rapport_core::Timestamp(at(0).0 + 400 * 24 * 3_600_000);
    assert_eq!(store.count_at_risk(&lead, far, 100).await.unwrap(), 3, "every new ticket has a first-reply target");
    assert_eq!(store.count_at_risk(&lead, far, 2).await.unwrap(), 2, "stops at the cap");
    assert_eq!(store.count_at_risk(&lead, at(1), 100).await.unwrap(), 0, "none is due yet");
}

fn link(
    agent: rapport_core::AgentId,
    hash: &str,
    purpose: rapport_store::PasswordPurpose,
) -> rapport_store::NewPasswordLink {
    rapport_store::NewPasswordLink { agent, token_hash: hash.to_owned(), purpose, now: at(0), expires_at: at(3600) }
}

#[tokio::test]
async fn a_password_link_works_once_sets_the_password_and_ends_every_session() {
    use rapport_store::PasswordPurpose;
    let store = fresh_store().await;
    let ada = agent(&store, "ada@desk.example", Role::Agent, vec![]).await;
    store.begin_agent_session(session(ada.agent, "laptop", None)).await.unwrap();
    let email = rapport_store::LinkEmail {
        external_id: "<link-1@desk.example>".into(),
        payload: rapport_core::outbox::OutboundPayload {
            ticket: None,
            to: vec![rapport_core::outbox::Recipient {
                name: None,
                identity: rapport_core::Identity::email("ada@desk.example").unwrap(),
            }],
            cc: vec![],
            subject: "Choose a new password".into(),
            in_reply_to: None,
            references: vec![],
            author_name: None,
            text: "https://desk.example/password/secret".into(),
            html: None,
            automatic: None,
        },
        url: "https://desk.example/password/secret".into(),
    };
    store.create_password_link(link(ada.agent, "reset-1", PasswordPurpose::Reset), Some(email)).await.unwrap();
    store.create_password_link(link(ada.agent, "reset-2", PasswordPurpose::Reset), None).await.unwrap();
    let counts = store.count_outbox().await.unwrap();
    assert_eq!(counts, vec![("queued".to_owned(), 1)], "the email is queued with its link");

    let (found, purpose) = store.find_password_link("reset-1", at(10)).await.unwrap().unwrap();
    assert_eq!((found.id, purpose), (ada.agent, PasswordPurpose::Reset));
    assert!(store.find_password_link("reset-1", at(3600)).await.unwrap().is_none(), "expired");
    assert!(store.find_password_link("unknown", at(10)).await.unwrap().is_none());

    let used = store.use_password_link("reset-1".into(), "$argon2id$new".into(), at(20)).await.unwrap();
    assert_eq!(used.unwrap().id, ada.agent);
    assert_eq!(store.find_password_hash(ada.agent).await.unwrap().as_deref(), Some("$argon2id$new"));
    assert!(store.find_agent_by_session("laptop", at(21)).await.unwrap().is_none(), "signed out everywhere");
    for spent in ["reset-1", "reset-2"] {
        assert!(store.find_password_link(spent, at(21)).await.unwrap().is_none(), "{spent} works no more");
        let again = store.use_password_link(spent.into(), "$argon2id$other".into(), at(22)).await.unwrap();
        assert!(again.is_none());
    }
    assert_eq!(store.find_password_hash(ada.agent).await.unwrap().as_deref(), Some("$argon2id$new"));
}

#[tokio::test]
async fn the_change_feed_lists_events_after_a_point_and_wakes_on_commit() {
    let store = fresh_store().await;
    let start = store.newest_change().await.unwrap();
    let mut commits = store.commits();
    let first = store.create_ticket(request("Where is my parcel", "pat@mail.test")).await.unwrap().ticket;
    assert!(commits.has_changed().unwrap(), "a commit wakes the feed");
    commits.borrow_and_update();
    let second = store.create_ticket(request("Refund", "quin@mail.test")).await.unwrap().ticket;
    let changes = store.list_changes(start, 100).await.unwrap();
    let tickets: Vec<rapport_core::TicketId> = changes.iter().map(|change| change.ticket).collect();
    assert!(tickets.contains(&first.id) && tickets.contains(&second.id), "{changes:?}");
    assert!(changes.windows(2).all(|pair| pair[0].event < pair[1].event), "oldest first");
    assert!(changes.iter().any(|change| change.message), "the first message is a change with a message");
    let newest = store.newest_change().await.unwrap();
    assert_eq!(newest, changes.last().unwrap().event);
    assert!(store.list_changes(newest, 100).await.unwrap().is_empty());
    assert_eq!(store.list_changes(start, 1).await.unwrap().len(), 1, "at most the limit");
}

#[tokio::test]
async fn saved_views_are_their_owners_or_shared_and_removed_by_whom_they_may_be() {
    use rapport_store::{NewSavedView, SharedViews};
    let store = fresh_store().await;
    let ada = agent(&store, "ada@desk.example", Role::Agent, vec![]).await;
    let bo = agent(&store, "bo@desk.example", Role::Supervisor, vec![]).await;
    let view = |agent: Option<rapport_core::AgentId>, name: &str, by: rapport_core::AgentId| NewSavedView {
        agent,
        name: name.to_owned(),
        base: "all".to_owned(),
        filters: "status=open&tag=vip".to_owned(),
        created_by: by,
        now: at(0),
    };
    let own = store.insert_saved_view(view(Some(ada.agent), "VIP open", ada.agent)).await.unwrap();
    let shared = store.insert_saved_view(view(None, "Billing backlog", bo.agent)).await.unwrap();
    let names = |views: Vec<rapport_store::SavedView>| views.into_iter().map(|view| view.name).collect::<Vec<_>>();
    assert_eq!(names(store.list_saved_views(ada.agent).await.unwrap()), ["VIP open", "Billing backlog"]);
    assert_eq!(names(store.list_saved_views(bo.agent).await.unwrap()), ["Billing backlog"], "not Ada's own");
    assert_eq!(store.find_saved_view(own.id, ada.agent).await.unwrap().unwrap().filters, "status=open&tag=vip");
    assert!(store.find_saved_view(own.id, bo.agent).await.unwrap().is_none());

    let refused = store.delete_saved_view(shared.id, ada.agent, SharedViews::OwnOnly).await.unwrap_err();
    assert!(matches!(refused, rapport_store::StoreError::NotFound(_)));
    store.delete_saved_view(shared.id, bo.agent, SharedViews::MayRemove).await.unwrap();
    store.delete_saved_view(own.id, ada.agent, SharedViews::OwnOnly).await.unwrap();
    assert!(store.list_saved_views(ada.agent).await.unwrap().is_empty());
}
