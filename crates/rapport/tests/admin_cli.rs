//! The admin commands against a real database: `rapport sla calendar|policy`,
//! `rapport rules`, `rapport report sla`, run as the binary an admin runs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

use std::path::Path;
use std::process::Output;

mod support;
use support::{BIN, database_url};

/// `rapport --database URL ARGS`, quiet logs.
fn rapport(url: &str, args: &[&str]) -> Output {
    std::process::Command::new(BIN).arg("--database").arg(url).args(args).env("RUST_LOG", "off").output().unwrap()
}

/// Runs `args` and returns stdout, failing the test with stderr when it fails.
fn ok(url: &str, args: &[&str]) -> String {
    let output = rapport(url, args);
    assert!(output.status.success(), "rapport {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// Runs `args`, expects a failure, and returns stderr.
fn refused(url: &str, args: &[&str]) -> String {
    let output = rapport(url, args);
    assert!(!output.status.success(), "rapport {args:?} should fail: {}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8(output.stderr).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn calendars_policies_and_rules_are_kept_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(dir.path(), "admin.db").await;
    // A help desk the server set up (these commands never create one).
    ok(&url, &["migrate"]);

    let berlin = write(dir.path(), "berlin.toml", "timezone = \"Europe/Berlin\"\n[hours]\nmon = [\"09:00-17:00\"]\n");
    assert!(ok(&url, &["sla", "calendar", "put", "berlin", &berlin]).contains("calendar berlin stored"));
    let bad = write(dir.path(), "bad.toml", "timezone = \"UTC\"\n[hours]\nmon = [\"09:00-10:00\", \"13:00-12:00\"]\n");
    let stderr = refused(&url, &["sla", "calendar", "put", "bad", &bad]);
    assert!(stderr.starts_with("error: source: line 3: hours.mon[1]"), "{stderr}");
    let listed = ok(&url, &["sla", "calendar", "list"]);
    assert!(listed.contains("berlin") && !listed.contains("bad"), "{listed}");
    assert_eq!(ok(&url, &["sla", "calendar", "show", "berlin"]), std::fs::read_to_string(&berlin).unwrap());
    let built_in = ok(&url, &["sla", "calendar", "show", "default"]);
    assert!(built_in.contains("timezone = \"UTC\"") && built_in.contains("fri = [\"09:00-17:00\"]"), "{built_in}");
    let stderr = refused(&url, &["sla", "calendar", "show", "nowhere"]);
    assert!(stderr.starts_with("error: there is no stored calendar named \"nowhere\""), "{stderr}");

    let policy = write(
        dir.path(),
        "vip.json",
        r#"{"name": "VIP email", "conditions": {"channels": ["email"]}, "calendar": "berlin",
            "targets": {"first_response": {"seconds": 7500, "business_hours": true}}}"#,
    );
    assert!(ok(&url, &["sla", "policy", "add", &policy, "--position", "1"]).starts_with("added #"));
    let policies = ok(&url, &["sla", "policy", "list"]);
    let line = policies.lines().find(|line| line.contains("VIP email")).expect(&policies);
    assert!(line.contains("position 1") && line.contains("calendar \"berlin\""), "{line}");
    assert!(line.contains("first response 2 business hours 5 minutes;"), "{line}");
    let stderr = refused(&url, &["sla", "policy", "add", &policy]);
    assert!(stderr.starts_with("error: name: a policy named \"VIP email\" exists already"), "{stderr}");
    let stderr = refused(&url, &["sla", "calendar", "delete", "berlin"]);
    assert!(stderr.starts_with("error: name: policy \"VIP email\" counts on calendar"), "{stderr}");

    let rule = write(
        dir.path(),
        "late.json",
        r#"{"name": "Late first response", "trigger": {"type": "target_breached", "target": "first_response"},
            "actions": [{"type": "notify_supervisor", "message": "{{ticket.id}} is late"}]}"#,
    );
    assert!(ok(&url, &["rules", "add", &rule]).starts_with("added #"));
    let rules = ok(&url, &["rules", "list"]);
    assert!(rules.contains("Late first response") && rules.contains("target_breached"), "{rules}");
    let stderr = refused(&url, &["rules", "escalation", "set", "--levels", "-,Nobody"]);
    assert!(stderr.starts_with("error: levels[1]: there is no team named \"Nobody\""), "{stderr}");
    assert_eq!(ok(&url, &["rules", "escalation"]), "no escalation levels\non call: nobody\n");
}

#[tokio::test]
async fn issue_15_admin_commands_refuse_to_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("data").join("rapport.db").display());
    let token = ["token", "create", "--email", "first@example.com", "--role", "admin"];
    let commands =
        [&["report", "sla"][..], &["sla", "policy", "list"], &["rules", "list"], &["quarantine", "list"], &token];
    for args in commands {
        let said = refused(&url, args);
        assert!(
            said.contains("there is no Rapport database at") && said.contains("rapport migrate"),
            "{args:?}: {said}"
        );
    }
    assert!(!dir.path().join("data").exists(), "nothing was created");
    // The commands that set a help desk up still do.
    ok(&url, &["migrate"]);
    ok(&url, &["report", "sla"]);
    assert!(ok(&url, &token).trim_end().lines().last().unwrap().starts_with("rap_"));
}

#[tokio::test]
async fn the_sla_report_has_the_api_shape_on_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(dir.path(), "report.db").await;
    // A help desk the server set up (these commands never create one).
    ok(&url, &["migrate"]);
    let report: serde_json::Value = serde_json::from_str(&ok(&url, &["report", "sla", "--json"])).unwrap();
    let keys: Vec<&str> = report.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 5, "{report}");
    for key in ["from", "to", "group_by", "groups", "phone"] {
        assert!(keys.contains(&key), "{key} missing from {report}");
    }
    assert_eq!(report["group_by"], "channel");
    assert_eq!(report["groups"], serde_json::json!([]));
    assert_eq!(
        report["phone"],
        serde_json::json!({
            "answered_within_seconds": 60, "goal_percent": 80, "calls": 0,
            "answered_within_target": 0, "share": null, "goal_met": null,
        })
    );
    let instant = |key: &str| report[key].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    assert_eq!(instant("to").as_millisecond() - instant("from").as_millisecond(), 7 * 86_400_000);

    let args = ["report", "sla", "--json", "--from", "2026-11-01T00:00:00Z", "--to", "2026-11-08T00:00:00+01:00"];
    let report: serde_json::Value = serde_json::from_str(&ok(&url, &args)).unwrap();
    assert_eq!(
        (report["from"].as_str(), report["to"].as_str()),
        (Some("2026-11-01T00:00:00.000Z"), Some("2026-11-07T23:00:00.000Z"))
    );
    let table = ok(&url, &["report", "sla", "--group-by", "team"]);
    assert!(table.ends_with("phone: no calls in this period (goal 80% within 60 s)\n"), "{table}");
    let stderr = refused(&url, &["report", "sla", "--from", "last week"]);
    assert!(stderr.starts_with("error: --from: \"last week\""), "{stderr}");
}

#[test]
fn help_names_every_sla_command() {
    let output = std::process::Command::new(BIN).args(["sla", "--help"]).output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for command in ["due", "elapsed", "calendar", "policy"] {
        assert!(help.lines().any(|line| line.trim_start().starts_with(command)), "{command} missing from:\n{help}");
    }
    let output = std::process::Command::new(BIN).args(["report", "sla", "--help"]).output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("--group-by") && help.contains("GET /api/v1/reports/sla"), "{help}");
}

/// Opens the test database, creates `emails.len()` email tickets (one per
/// customer) and the team `team`, and closes it again; returns the ticket numbers.
async fn seed(url: &str, emails: &[&str], team: &str) -> Vec<i64> {
    use rapport_core::{Actor, Channel, Identity, Level};
    use rapport_store::{CreateTicket, CustomerRef, Store, StoreOptions};
    let store = Store::open(url, StoreOptions::default()).await.unwrap();
    let now = rapport_server::Clock::system().now();
    store.insert_team(team.to_owned(), String::new(), now).await.unwrap();
    let mut tickets = Vec::new();
    for email in emails {
        let create = CreateTicket {
            subject: format!("Outage report from {email}"),
            body: "Nothing loads".to_owned(),
            html: None,
            channel: Channel::Email,
            customer: CustomerRef { name: None, identities: vec![Identity::email(email).unwrap()] },
            urgency: Level::Normal,
            team: None,
            tags: Vec::new(),
            attachments: Vec::new(),
            actor: Actor::System,
            idempotency: None,
            linked_to: None,
            origin: Default::default(),
            now,
        };
        tickets.push(store.create_ticket(create).await.unwrap().ticket.id.0);
    }
    store.close().await;
    tickets
}

#[tokio::test]
async fn problems_are_linked_updated_and_solved_and_escalation_names_teams() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(dir.path(), "problems.db").await;
    let tickets = seed(&url, &["ops@example.com", "ann@example.com", "bob@example.com"], "Tier 2").await;
    let [problem, first, second]: [String; 3] =
        tickets.iter().map(ToString::to_string).collect::<Vec<_>>().try_into().unwrap();

    let linked = ok(&url, &["problem", "link", &problem, &first, &second]);
    assert_eq!(linked, format!("problem #{problem} now has 2 linked ticket(s): #{first} #{second}\n"));
    let stderr = refused(&url, &["problem", "link", &problem, &problem]);
    assert!(stderr.starts_with("error: tickets[0]: "), "{stderr}");
    let update = ok(&url, &["problem", "update", &problem, "We are on it"]);
    assert_eq!(update, format!("problem #{problem}: update 1 addresses 2 customer(s); 2 message(s) queued\n"));
    let stderr = refused(&url, &["problem", "update", &problem, "  "]);
    assert!(stderr.starts_with("error: body: "), "{stderr}");
    let solved = ok(&url, &["problem", "solve", &problem, "Fixed"]);
    assert!(solved.contains("update 2 addresses 2 customer(s)"), "{solved}");
    assert!(solved.ends_with(&format!("problem #{problem}: 3 ticket(s) solved, the problem included\n")), "{solved}");

    let token = ["token", "create", "--email", "boss@example.com", "--name", "Boss", "--role", "supervisor"];
    ok(&url, &token);
    let saved = ok(&url, &["rules", "escalation", "set", "--levels", "Tier 2,-", "--on-call", "boss@example.com"]);
    assert!(saved.starts_with("escalation plan saved\n"), "{saved}");
    let shown = ok(&url, &["rules", "escalation", "show"]);
    assert!(shown.starts_with("level 1: Tier 2 (team "), "{shown}");
    assert!(shown.contains("\nlevel 2: the ticket's own team\non call: Boss <boss@example.com> (agent "), "{shown}");
    let stderr = refused(&url, &["rules", "escalation", "set", "--on-call", "999999"]);
    assert!(stderr.starts_with("error: on_call: "), "{stderr}");
}

#[tokio::test]
async fn issue_17_an_invited_admin_chooses_a_password_and_signs_in() {
    let dir = tempfile::tempdir().unwrap();
    let url = support::database_url(dir.path(), "invite.db").await;
    support::migrate(&url);
    let printed =
        ok(&url, &["agent", "invite", "--email", "Lead@Desk.example", "--name", "Lea Lead", "--role", "admin"]);
    assert!(printed.contains("created admin agent Lea Lead <lead@desk.example>"), "{printed}");
    assert!(printed.contains("email is not configured"), "{printed}");
    let link = printed.lines().last().unwrap();
    let path = &link[link.find("/password/").unwrap()..];
    assert!(refused(&url, &["agent", "invite", "--email", "not an email"]).contains("--email"));

    let (_server, base) = support::start_server(&["--database", &url], "warn").await;
    rapport_channels::http::install_crypto_provider();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = |pairs: &[(&str, &str)]| form_body(pairs);
    let set = client
        .post(format!("{base}{path}"))
        .header("origin", &base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("password", "correct horse battery"), ("confirm", "correct horse battery")]))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), reqwest::StatusCode::SEE_OTHER);
    let signed_in = client
        .post(format!("{base}/sign-in"))
        .header("origin", &base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("email", "lead@desk.example"), ("password", "correct horse battery")]))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), reqwest::StatusCode::SEE_OTHER);
    assert!(signed_in.headers()["set-cookie"].to_str().unwrap().starts_with("rapport_desk="));
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| format!("{key}={}", value.replace(' ', "+").replace('@', "%40")))
        .collect::<Vec<_>>()
        .join("&")
}
