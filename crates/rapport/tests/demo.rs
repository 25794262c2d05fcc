//! The demo help desk as a newcomer meets it (issue 14): loaded by the
//! binary into a fresh database, read back through the same SLA report the
//! API serves, and `serve --demo` started twice on one data directory.
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use rapport_core::{Channel, IdentityKind, Role, Viewer};
use rapport_store::{Store, StoreOptions, TicketFilter};
use serde_json::Value;
use tokio::process::Child;

mod support;
use support::{BIN, database_url};

/// `rapport --database URL ARGS`; returns stdout, failing the test with stderr when it fails.
fn rapport(url: &str, args: &[&str]) -> String {
    let output =
        std::process::Command::new(BIN).arg("--database").arg(url).args(args).env("RUST_LOG", "off").output().unwrap();
    assert!(output.status.success(), "rapport {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// A fresh database with the demo loaded by `rapport demo`.
async fn demo_database(dir: &std::path::Path) -> String {
    let url = database_url(dir, "demo.db").await;
    let started = Instant::now();
    let summary = rapport(&url, &["demo"]);
    let took = started.elapsed();
    eprintln!("rapport demo took {took:?}: {summary}");
    assert!(summary.starts_with("demo loaded: "), "{summary}");
    // Loading stays a matter of seconds even in a debug build on a busy machine.
    assert!(took < Duration::from_secs(60), "loading the demo took {took:?}");
    url
}

/// `rapport report sla --json --group-by GROUP`: the JSON of `GET /api/v1/reports/sla`.
fn report(url: &str, group: &str) -> Value {
    serde_json::from_str(&rapport(url, &["report", "sla", "--json", "--group-by", group])).unwrap()
}

fn share(group: &Value) -> f64 {
    group["share_met"].as_f64().unwrap_or(0.0)
}

#[tokio::test]
async fn issue_14_demo_sla_report_looks_like_a_good_team_on_a_busy_week() {
    let dir = tempfile::tempdir().unwrap();
    let url = demo_database(dir.path()).await;

    let by_channel = report(&url, "channel");
    let groups = by_channel["groups"].as_array().unwrap();
    let sum = |key: &str| groups.iter().map(|group| group[key].as_i64().unwrap()).sum::<i64>();
    let (targets, met) = (sum("targets"), sum("met"));
    let overall = met as f64 / targets as f64;
    eprintln!("overall {met}/{targets} = {overall:.3}; by channel: {groups:#?}");
    assert!(targets >= 150, "a busy week decides many targets, got {targets}");
    assert!((0.70..=0.95).contains(&overall), "overall attainment {overall:.3} is outside 70-95 %");
    assert!(sum("breached") > 0, "a busy week has a few breaches");
    for channel in Channel::ALL {
        let group = groups.iter().find(|group| group["group"] == channel.as_str());
        let met = group.map_or(0, |group| group["met"].as_i64().unwrap());
        assert!(met > 0, "{channel} has no met target: {group:?}");
    }

    let by_tier = report(&url, "tier");
    let tiers = by_tier["groups"].as_array().unwrap();
    eprintln!("by tier: {tiers:#?}");
    let premium = tiers.iter().find(|group| group["group"] == "premium").expect("premium customers are served");
    assert!(tiers.len() >= 3, "basic, business and premium all show: {tiers:?}");
    for tier in tiers.iter().filter(|group| group["group"] != "premium") {
        assert!(share(premium) > share(tier), "premium {} is not served better than {tier}", share(premium));
    }

    // Calls waited for real: most within the minute, not all.
    let phone = &by_channel["phone"];
    let calls = phone["calls"].as_i64().unwrap();
    let within = phone["answered_within_target"].as_i64().unwrap();
    assert!(calls >= 8, "{phone}");
    assert!(within > calls / 2 && within < calls, "{phone}");
}

#[tokio::test]
async fn issue_14_demo_identities_match_channels_and_conversations_are_distinct() {
    let dir = tempfile::tempdir().unwrap();
    let url = demo_database(dir.path()).await;
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    let admin = store.find_agent_by_email("admin@rapport.example").await.unwrap().unwrap();
    let page =
        store.list_tickets(TicketFilter { limit: 1000, ..Default::default() }, &Viewer::of(&admin)).await.unwrap();
    let tickets = page.tickets;
    assert!(page.next_cursor.is_none());

    let subjects: HashSet<&str> = tickets.iter().map(|ticket| ticket.subject.as_str()).collect();
    assert!(subjects.len() >= 150, "only {} distinct subjects", subjects.len());
    assert_eq!(subjects.len(), tickets.len(), "every ticket is its own conversation");

    let mut several_identities = HashSet::new();
    let mut back_and_forth = 0;
    let mut languages_seen = HashSet::new();
    for ticket in &tickets {
        let customer = store.get_customer(ticket.customer).await.unwrap();
        let (kind, network) = match ticket.channel {
            Channel::Whatsapp | Channel::Sms | Channel::Phone => (IdentityKind::Phone, None),
            Channel::Telegram => (IdentityKind::Handle, Some("telegram:")),
            Channel::Messenger => (IdentityKind::Handle, Some("messenger:")),
            Channel::Instagram => (IdentityKind::Handle, Some("instagram:")),
            Channel::Chat => (IdentityKind::Chat, None),
            Channel::Email | Channel::Web | Channel::Api => (IdentityKind::Email, None),
        };
        let matches = customer
            .identities
            .iter()
            .any(|identity| identity.kind == kind && network.is_none_or(|prefix| identity.value.starts_with(prefix)));
        assert!(matches, "#{} on {} belongs to {:?}", ticket.id, ticket.channel, customer.identities);
        if customer.identities.len() > 1 {
            several_identities.insert(customer.id);
        }
        let detail = store.get_ticket_detail(ticket.id, None).await.unwrap();
        let public: Vec<_> =
            detail.messages.iter().filter(|message| message.kind != rapport_core::MessageKind::Note).collect();
        let answered = public.iter().any(|message| message.kind == rapport_core::MessageKind::Reply);
        if public.len() >= 3 && answered {
            back_and_forth += 1;
        }
        for (word, language) in [("gracias", "es"), ("danke", "de"), ("merci", "fr"), ("obrigad", "pt")] {
            if public.iter().any(|message| message.text.to_lowercase().contains(word)) {
                languages_seen.insert(language);
            }
        }
    }
    let customers: HashSet<_> = tickets.iter().map(|ticket| ticket.customer).collect();
    assert!(several_identities.len() * 3 >= customers.len(), "{} of {}", several_identities.len(), customers.len());
    assert!(customers.len() < tickets.len(), "some customers come back");
    assert!(back_and_forth >= 100, "only {back_and_forth} conversations go back and forth");
    assert_eq!(languages_seen.len(), 4, "{languages_seen:?}");

    // Calls with real waits, a few abandoned.
    let now = rapport_server::Clock::system().now();
    let calls = store.list_calls(None, now.plus_millis(-30 * 86_400_000), now, 1000).await.unwrap();
    let waits: HashSet<i64> = calls.iter().filter_map(|call| call.times.wait_ms()).map(|ms| ms / 1000).collect();
    let abandoned = calls.iter().filter(|call| call.state == rapport_core::call::CallState::Abandoned).count();
    assert!(waits.len() >= 10, "{waits:?}");
    assert!((1..=calls.len() / 4).contains(&abandoned), "{abandoned} of {} calls abandoned", calls.len());

    // Agents in several teams, rules, the plan and the incident.
    let agents = store.list_agents(None, 100).await.unwrap();
    let mut per_team: HashMap<_, usize> = HashMap::new();
    for agent in agents.iter().filter(|agent| agent.role != Role::Admin) {
        for team in &agent.teams {
            *per_team.entry(*team).or_default() += 1;
        }
    }
    assert!(per_team.len() >= 4 && per_team.values().all(|count| *count >= 2), "{per_team:?}");
    assert!(agents.iter().any(|agent| agent.role == Role::Agent && agent.teams.len() >= 2));
    assert!(store.list_rules().await.unwrap().len() >= 5);
    let plan = store.escalation_plan().await.unwrap();
    assert!(!plan.levels.is_empty() && plan.on_call.is_some(), "{plan:?}");
    let mut linked = 0;
    for ticket in &tickets {
        linked = linked.max(store.list_problem_tickets(ticket.id).await.unwrap().len());
    }
    assert!(linked >= 4, "the problem has {linked} linked tickets");
    store.close().await;
}

/// Starts `rapport serve --demo` on `dir`; returns the child and what it
/// printed up to the API reference line.
async fn serve_demo(dir: &std::path::Path) -> (Child, Vec<String>) {
    let args = ["--listen".as_ref(), "127.0.0.1:0".as_ref(), "--demo".as_ref(), "--data-dir".as_ref(), dir.as_os_str()];
    support::serve_until_banner(&args, Duration::from_secs(180)).await
}

#[tokio::test]
async fn issue_14_serve_demo_twice_mints_one_token() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, printed) = serve_demo(dir.path()).await;
    let token = printed.iter().find_map(|line| line.trim().strip_prefix("API token: ")).unwrap().to_owned();
    assert!(printed.iter().any(|line| line.contains("admin sign-in: admin@rapport.example / ")), "{printed:?}");
    first.kill().await.unwrap();

    let (mut second, printed) = serve_demo(dir.path()).await;
    let text = printed.join("\n");
    assert!(!text.contains("API token:") && !text.contains(&token), "{text}");
    assert!(
        text.contains("admin sign-in: admin@rapport.example, the password shown when the demo was loaded"),
        "{text}"
    );
    assert!(text.contains("token create --email admin@rapport.example --role admin"), "{text}");
    // The token of the first start still works.
    let address = printed.iter().find_map(|line| line.split_once("listening on ")).unwrap().1.trim().to_owned();
    let response =
        support::http().get(format!("{address}/api/v1/tickets?limit=1")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    second.kill().await.unwrap();

    let url = format!("sqlite://{}", dir.path().join("rapport.db").display());
    let listed = rapport(&url, &["token", "list"]);
    let tokens: Vec<&str> = listed.lines().skip(1).filter(|line| !line.trim().is_empty()).collect();
    assert_eq!(tokens.len(), 1, "{listed}");
    assert!(tokens[0].contains("admin@rapport.example") && tokens[0].contains("active"), "{listed}");
}

#[tokio::test]
async fn issue_14_serve_demo_refuses_a_database_with_other_tickets() {
    use rapport_core::{Actor, Identity, Level};
    use rapport_store::{CreateTicket, CustomerRef};
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(dir.path(), "own.db").await;
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    let create = CreateTicket {
        subject: "A real customer's ticket".to_owned(),
        body: "Hello".to_owned(),
        html: None,
        channel: Channel::Email,
        customer: CustomerRef { name: None, identities: vec![Identity::email("ann@example.com").unwrap()] },
        urgency: Level::Normal,
        team: None,
        tags: Vec::new(),
        attachments: Vec::new(),
        actor: Actor::System,
        idempotency: None,
        linked_to: None,
        origin: Default::default(),
        now: rapport_server::Clock::system().now(),
    };
    store.create_ticket(create).await.unwrap();
    store.close().await;
    let output = std::process::Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--demo", "--database", &url])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("holds tickets but not the demo"), "{stderr}");
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    assert!(store.find_agent_by_email("admin@rapport.example").await.unwrap().is_none(), "no admin was made");
    assert!(store.list_tokens().await.unwrap().is_empty(), "no token was minted");
    store.close().await;
}
