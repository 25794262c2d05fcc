use rapport_core::event::TicketPatch;
use rapport_core::{Actor, Author, Identity, MessageKind, Role, Tier};
use rapport_store::{CustomerRef, NewCustomer, NewMessage, StoreError};

use crate::harness::*;

#[tokio::test]
async fn erasure_redacts_everywhere_and_is_an_event() {
    let store = fresh_store().await;
    let supervisor = agent(&store, "s@rapport.example", Role::Supervisor, vec![]).await;
    let mut first = request("Refund for Ann Example", "ann.example@mail.test");
    first.customer = CustomerRef {
        name: Some("Ann Example".into()),
        identities: vec![Identity::email("ann.example@mail.test").unwrap(), Identity::phone("+4915112345678").unwrap()],
    };
    first.body = "Hi, this is Ann Example, reach me at ann.example@mail.test or +4915112345678".into();
    let ticket = store.create_ticket(first).await.unwrap().ticket;
    let reply = NewMessage {
        kind: MessageKind::Reply,
        author: Author::Agent(supervisor.agent),
        text: "Dear Ann Example, we will write to ann.example@mail.test".into(),
        html: None,
        attachments: vec![],
        origin: Default::default(),
        now: at(5),
    };
    store.add_message(ticket.id, Some(supervisor.clone()), reply).await.unwrap();
    let tags = TicketPatch { tags: Some(vec!["vip".into()]), ..Default::default() };
    store.patch_ticket(ticket.id, supervisor.clone(), tags, None, at(6)).await.unwrap();
    let before = store.list_events(ticket.id).await.unwrap().len();

    let erased = store.erase_customer(ticket.customer, Actor::Agent(supervisor.agent), at(10)).await.unwrap();
    assert!(erased.identities.is_empty());
    assert_eq!(erased.name, "[redacted]");
    assert!(erased.erased_at.is_some());

    let detail = store.get_ticket_detail(ticket.id, None).await.unwrap();
    let everything = format!("{:?} {:?} {:?}", detail.ticket, detail.messages, detail.events);
    for secret in ["ann.example@mail.test", "+4915112345678", "Ann Example"] {
        assert!(!everything.contains(secret), "{secret} survived erasure: {everything}");
    }
    assert_eq!(detail.messages[0].text, "[redacted]");
    assert!(
        store.search("4915112345678", &supervisor, 10).await.unwrap().is_empty(),
        "the search index forgot them too"
    );
    assert_eq!(store.search("redacted", &supervisor, 10).await.unwrap().len(), 1);
    assert_eq!(detail.events.len(), before + 1);
    assert!(matches!(detail.events.last().unwrap().change, rapport_core::Change::CustomerErased { .. }));
    assert_eq!(rapport_core::replay(&detail.events).unwrap(), detail.ticket, "the log still replays");
    let identity = Identity::email("ann.example@mail.test").unwrap();
    assert!(store.find_customer_by_identity(&identity).await.unwrap().is_none());
    let missing = store.erase_customer(rapport_core::CustomerId(9999), Actor::System, at(11)).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound("customer")));
}

#[tokio::test]
async fn identities_are_unique_across_customers() {
    let store = fresh_store().await;
    let email = Identity::email("dup@example.com").unwrap();
    let customer = NewCustomer { name: "One".into(), identities: vec![email.clone()], ..new_customer() };
    store.insert_customer(customer.clone()).await.unwrap();
    let error = store.insert_customer(NewCustomer { name: "Two".into(), ..customer }).await.unwrap_err();
    assert!(matches!(error, StoreError::Conflict { .. }), "{error:?}");
    assert_eq!(store.list_customers(None, 10).await.unwrap().len(), 1, "the failed insert left no customer");
}

#[tokio::test]
async fn organizations_teams_and_agents_round_trip() {
    let store = fresh_store().await;
    let lead = Actor::Agent(rapport_core::AgentId(7));
    let organization = store.insert_organization("Globex".into(), Tier("business".into()), lead, T0).await.unwrap();
    let renamed = store
        .update_organization(
            organization.id,
            rapport_store::OrganizationChanges { name: Some("Globex Corp".into()), tier: None },
            lead,
            T0,
        )
        .await
        .unwrap();
    assert_eq!((renamed.name.as_str(), renamed.tier.0.as_str()), ("Globex Corp", "business"));
    let unchanged = rapport_store::OrganizationChanges { name: Some("Globex Corp".into()), tier: None };
    store.update_organization(organization.id, unchanged, lead, T0).await.unwrap();
    let missing = rapport_store::OrganizationChanges { name: Some("Nobody".into()), tier: None };
    let error = store.update_organization(rapport_core::OrganizationId(9999), missing, lead, T0).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound("organization")), "{error:?}");
    // Created and renamed are recorded with who and the record before and
    // after; saving without a change, or a missing one, records nothing.
    let filter = rapport_store::AuditFilter { subject: Some("organization".into()), limit: 10, ..Default::default() };
    let entries = store.list_audit(filter).await.unwrap();
    let seen: Vec<(&str, Option<&serde_json::Value>, Option<&serde_json::Value>)> = entries
        .iter()
        .map(|entry| (entry.entry.verb.as_str(), entry.entry.old.as_ref(), entry.entry.new.as_ref()))
        .collect();
    let globex = serde_json::json!({ "name": "Globex", "tier": "business" });
    let corp = serde_json::json!({ "name": "Globex Corp", "tier": "business" });
    assert_eq!(seen, vec![("changed", Some(&globex), Some(&corp)), ("created", None, Some(&globex))]);
    assert!(
        entries
            .iter()
            .all(|entry| entry.entry.actor == lead && entry.entry.subject_id == organization.id.0.to_string())
    );
    // A customer joins; the organization lists its customers and counts them.
    let member = store
        .insert_customer(NewCustomer {
            name: "Member".into(),
            organization: None,
            tier: None,
            identities: vec![Identity::email("m@globex.example").unwrap()],
            added_by: None,
            now: T0,
        })
        .await
        .unwrap();
    store
        .insert_customer(NewCustomer {
            name: "Outsider".into(),
            organization: None,
            tier: None,
            identities: vec![Identity::email("o@elsewhere.example").unwrap()],
            added_by: None,
            now: T0,
        })
        .await
        .unwrap();
    let join = rapport_store::CustomerChanges { organization: Some(Some(organization.id)), ..Default::default() };
    store.update_customer(member.id, join).await.unwrap();
    let members = store.list_organization_customers(organization.id, None, 10).await.unwrap();
    assert_eq!(members.iter().map(|customer| customer.name.as_str()).collect::<Vec<_>>(), vec!["Member"]);
    assert_eq!(members[0].identities, vec![Identity::email("m@globex.example").unwrap()]);
    assert!(store.list_organization_customers(organization.id, Some(member.id), 10).await.unwrap().is_empty());
    assert_eq!(store.organization_sizes().await.unwrap().get(&organization.id), Some(&1));
    let team = store.insert_team("Billing".into(), "Money".into(), T0).await.unwrap();
    let duplicate = store.insert_team("Billing".into(), String::new(), T0).await.unwrap_err();
    assert!(matches!(duplicate, StoreError::Conflict { .. }));
    let viewer = agent(&store, "a@rapport.example", Role::Agent, vec![team.id]).await;
    let changes =
        rapport_store::AgentChanges { role: Some(Role::Supervisor), teams: Some(vec![]), ..Default::default() };
    let updated = store.update_agent(viewer.agent, changes, Actor::System, T0).await.unwrap();
    assert_eq!(updated.role, Role::Supervisor);
    assert!(updated.teams.is_empty());
    let bad_team = rapport_store::AgentChanges { teams: Some(vec![rapport_core::TeamId(77)]), ..Default::default() };
    let error = store.update_agent(viewer.agent, bad_team, Actor::System, T0).await.unwrap_err();
    assert!(matches!(error, StoreError::MissingReference { field: "teams" }), "{error:?}");
    assert_eq!(store.get_agent(viewer.agent).await.unwrap().teams, Vec::new(), "nothing half-written");
    assert_eq!(store.list_agents(None, 10).await.unwrap().len(), 1);
    assert_eq!(store.find_agent_by_email("a@rapport.example").await.unwrap().unwrap().id, viewer.agent);
}

#[tokio::test]
async fn tokens_are_found_by_hash_until_revoked() {
    let store = fresh_store().await;
    let viewer = agent(&store, "t@rapport.example", Role::Admin, vec![]).await;
    let id = store.insert_token(viewer.agent, "cli".into(), "hash-1".into(), Actor::System, T0).await.unwrap();
    assert_eq!(store.find_agent_by_token("hash-1").await.unwrap().unwrap().id, viewer.agent);
    assert!(store.find_agent_by_token("hash-2").await.unwrap().is_none());
    store.revoke_token(id, Actor::System, at(1)).await.unwrap();
    assert!(store.find_agent_by_token("hash-1").await.unwrap().is_none());
    assert!(store.list_tokens().await.unwrap()[0].revoked_at.is_some());
    assert!(matches!(store.revoke_token(999, Actor::System, at(2)).await, Err(StoreError::NotFound("token"))));
}

#[test]
fn migration_folders_match() {
    let names = |dir: &str| {
        let mut names: Vec<String> = std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert!(!names("sqlite").is_empty());
    assert_eq!(names("sqlite"), names("postgres"));
}

#[tokio::test]
async fn sqlite_backups_hold_the_data() {
    let store = fresh_store().await;
    store.create_ticket(request("Backed up", "b@example.com")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.db");
    match store.dialect() {
        rapport_store::Dialect::Sqlite => {
            store.backup(&path).await.unwrap();
            let url = format!("sqlite://{}", path.display());
            let copy = rapport_store::Store::open(&url, rapport_store::StoreOptions::default()).await.unwrap();
            assert_eq!(copy.count_tickets().await.unwrap(), 1);
            assert!(store.backup(&path).await.is_err(), "an existing file is never overwritten");
        }
        rapport_store::Dialect::Postgres => assert!(store.backup(&path).await.is_err()),
    }
}

#[tokio::test]
async fn issue_15_the_last_active_admin_cannot_be_deactivated_or_demoted() {
    let store = fresh_store().await;
    let first = agent(&store, "first@rapport.example", Role::Admin, vec![]).await;
    let deactivate = || rapport_store::AgentChanges { active: Some(false), ..Default::default() };
    let demote = || rapport_store::AgentChanges { role: Some(Role::Supervisor), ..Default::default() };

    for changes in [deactivate(), demote()] {
        let error = store.update_agent(first.agent, changes, Actor::System, T0).await.unwrap_err();
        assert!(matches!(error, StoreError::Rejected(rapport_store::Rejection::LastAdmin)), "{error:?}");
        let kept = store.get_agent(first.agent).await.unwrap();
        assert!(kept.active && kept.role == Role::Admin, "nothing changed: {kept:?}");
    }

    // With a second admin, either may go, but not both.
    let second = agent(&store, "second@rapport.example", Role::Admin, vec![]).await;
    store.update_agent(first.agent, demote(), Actor::System, T0).await.unwrap();
    let error = store.update_agent(second.agent, deactivate(), Actor::System, T0).await.unwrap_err();
    assert!(matches!(error, StoreError::Rejected(rapport_store::Rejection::LastAdmin)), "{error:?}");
    // Other agents' changes are not affected by the rule.
    store.update_agent(first.agent, deactivate(), Actor::System, T0).await.unwrap();
}

#[tokio::test]
async fn issue_15_two_admins_removed_at_once_leave_one() {
    for _ in 0..5 {
        let store = fresh_store().await;
        let one = agent(&store, "one@rapport.example", Role::Admin, vec![]).await;
        let two = agent(&store, "two@rapport.example", Role::Admin, vec![]).await;
        let off = || rapport_store::AgentChanges { active: Some(false), ..Default::default() };
        let (a, b) = tokio::join!(
            store.update_agent(one.agent, off(), Actor::System, T0),
            store.update_agent(two.agent, off(), Actor::System, T0)
        );
        assert!(a.is_ok() != b.is_ok(), "exactly one of the two is refused: {a:?} {b:?}");
        let admins = store.list_agents(None, 10).await.unwrap();
        assert_eq!(admins.iter().filter(|agent| agent.active && agent.role == Role::Admin).count(), 1);
    }
}

/// Every text column of the schema (not the search index's own tables, which
/// keep single words), as `(table, column)`.
async fn text_columns(url: &str) -> Vec<(String, String)> {
    let listing = if url.starts_with("sqlite:") {
        "SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE '%fts%' AND m.name NOT LIKE 'sqlite_%' \
         AND (p.type = 'TEXT' OR p.type = '')"
    } else {
        "SELECT table_name || '.' || column_name FROM information_schema.columns \
         WHERE table_schema = 'public' AND data_type IN ('text', 'character varying')"
    };
    query_texts(url, listing)
        .await
        .into_iter()
        .filter_map(|name| name.split_once('.').map(|(table, column)| (table.to_owned(), column.to_owned())))
        .collect()
}

#[tokio::test]
async fn issue_15_erasure_leaves_no_trace_in_any_text_column() {
    let (store, url) = fresh_store_with_url().await;
    let address = "erin.wexford@mail.test";
    let phone = "+4915199887766";
    let name = "Erin Wexford";
    // An email opens a ticket (its sender, its participant, an acknowledgment
    // in the outbox with the name), the customer asks for a link (a rate
    // counter and a mail), and a callback is requested on their number.
    let mut mail = email(address, "erin-1@mail.test", "Order for Erin Wexford", at(0));
    mail.sender_name = Some(name.into());
    let filed = store.file_inbound(filing(mail, Some("ack-erin@us"))).await.unwrap();
    let ticket = filed.ticket().expect("a ticket");
    let customer = store.get_ticket(ticket, None).await.unwrap().customer;
    let changes =
        rapport_store::CustomerChanges { add_identities: vec![Identity::phone(phone).unwrap()], ..Default::default() };
    store.update_customer(customer, changes).await.unwrap();
    let key = format!("link:address:{address}");
    store.count_attempt(key, 3_600_000, 5, at(1)).await.unwrap();
    let link = rapport_store::MagicLink { token_hash: "0".repeat(64), url: "https://x/help/t/s".into(), valid_days: 7 };
    let notice = rapport_core::outbox::OutboundPayload {
        ticket: None,
        to: vec![rapport_core::outbox::Recipient {
            name: Some(name.into()),
            identity: Identity::email(address).unwrap(),
        }],
        cc: vec![],
        subject: "Your link".into(),
        in_reply_to: None,
        references: vec![],
        author_name: None,
        text: format!("Hello {name}"),
        html: None,
        automatic: None,
    };
    let identity = Identity::email(address).unwrap();
    assert!(store.send_magic_link(identity, link, "link-erin@us".into(), notice, at(2)).await.unwrap());
    let callback = rapport_store::NewCallback {
        phone: Identity::phone(phone).unwrap(),
        ticket: Some(ticket),
        source: rapport_store::CallbackSource::Api,
        call_sid: None,
        now: at(3),
    };
    store.request_callback(callback).await.unwrap();

    store.erase_customer(customer, Actor::System, at(10)).await.unwrap();

    let mut found = Vec::new();
    for (table, column) in text_columns(&url).await {
        for secret in [address, phone, name] {
            let sql = format!("SELECT CAST({column} AS TEXT) FROM {table} WHERE {column} LIKE '%{secret}%'");
            if !query_texts(&url, &sql).await.is_empty() {
                found.push(format!("{table}.{column} holds {secret}"));
            }
        }
    }
    assert!(found.is_empty(), "after erasure: {found:#?}");
}

fn new_customer() -> NewCustomer {
    NewCustomer { name: String::new(), organization: None, tier: None, identities: vec![], added_by: None, now: T0 }
}
