//! The admin pages in a real browser (issue 18): on a freshly seeded
//! `rapport serve --demo`, the admin invites an agent from People (an error
//! beside its field first), the invitation reaches the SMTP sink, the agent
//! follows it, chooses a password and signs in; the admin sets the agent's
//! live-chat capacity to 2 and the agent's chat console takes two chats of
//! three waiting visitors, never the third; the admin deactivates the agent,
//! whose open session is refused on its next request; the audit log shows
//! each change with who made it, before and after. Every admin page is checked
//! with axe-core in both themes and screenshotted at desktop and phone widths
//! for docs/admin.md. Needs Chromium, chromedriver and axe-core
//! (`.ci/install-browser`); the `outside-servers` feature keeps it out of a
//! plain `cargo test --workspace`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rapport_core::chat::{ClientMessageId, VisitorId, VisitorRequest};
use rapport_testkit::browser::Browser;
use rapport_testkit::browser::fantoccini::{Client, Locator};
use tokio_tungstenite::tungstenite::Message as Frame;

mod support;
use support::desk::{DemoDesk, check_and_capture, eventually, path_of, sign_in, text_if, text_of};

const BEN: &str = "ben.okafor@desk.example";
const BENS_PASSWORD: &str = "bens own long password";

/// Types `text` into the field `css`, replacing what it held.
async fn fill(page: &Client, css: &str, text: &str) {
    let field = page.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(page: &Client, css: &str) {
    page.find(Locator::Css(css)).await.unwrap().click().await.unwrap();
}

/// The invitation's link path, from the email that reached the sink.
async fn invitation_link(desk: &DemoDesk) -> String {
    let mut link = String::new();
    eventually("the invitation reaches the SMTP sink", || {
        let messages = desk.sink.messages();
        let found = messages.iter().find(|message| message.recipients.iter().any(|to| to == BEN)).map(|message| {
            let parsed = mail_parser::MessageParser::default().parse(&message.data).unwrap();
            parsed.body_text(0).unwrap().into_owned()
        });
        if let Some(text) = found {
            let start = text.find("/password/").expect("a password link in the invitation");
            link = text[start..start + "/password/".len() + 43].to_owned();
        }
        std::future::ready(!link.is_empty())
    })
    .await;
    link
}

/// A chat visitor on a real WebSocket: says hello and writes, then keeps the socket open.
async fn visitor(base: &str, index: usize) -> tokio::task::JoinHandle<()> {
    let url = format!("{}/chat/ws", base.replacen("http://", "ws://", 1));
    let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let (mut sink, mut stream) = socket.split();
    let frame = |request: VisitorRequest| Frame::Text(serde_json::to_string(&request).unwrap().into());
    let id = VisitorId::parse(&format!("admin-test-visitor-{index}")).unwrap();
    sink.send(frame(VisitorRequest::Hello { visitor: id, last_seen: None, name: Some(format!("Visitor {index}")) }))
        .await
        .unwrap();
    let text = format!("Hello from visitor {index}: where is my parcel?");
    let client_id = ClientMessageId::parse("m1").unwrap();
    sink.send(frame(VisitorRequest::Message { client_id, text })).await.unwrap();
    tokio::spawn(async move {
        let _keep = sink;
        while let Some(Ok(_)) = stream.next().await {}
    })
}

#[tokio::test]
async fn an_admin_invites_an_agent_caps_their_chats_deactivates_them_and_reads_the_audit_log() {
    assert!(rapport_testkit::browser::available(), "Chromium and chromedriver are needed: run .ci/install-browser");
    let desk = DemoDesk::start().await;
    let admin_browser = Browser::start().await.unwrap();
    let admin = &admin_browser.client;
    admin.set_window_size(1440, 900).await.unwrap();
    sign_in(admin, &desk).await;

    // People, from the admin section of the left column.
    click(admin, "nav.views a[href='/admin/people']").await;
    eventually("People opens", || async { path_of(admin).await == "/admin/people" }).await;
    assert_eq!(text_of(admin, "main h1").await, "People");
    assert!(text_of(admin, "table.admin-list").await.contains("Hannah Weber"), "the demo's agents are listed");
    check_and_capture(admin, "admin-people").await;

    // Teams: the demo's, and one of them opened.
    click(admin, "nav.views a[href='/admin/teams']").await;
    eventually("Teams opens", || async { path_of(admin).await == "/admin/teams" }).await;
    assert!(text_of(admin, "table.admin-list").await.contains("Billing"), "the demo's teams");
    check_and_capture(admin, "admin-teams").await;
    click(admin, "table.admin-list tbody tr .subject a").await;
    eventually("a team opens", || async { path_of(admin).await.starts_with("/admin/teams/") }).await;
    check_and_capture(admin, "admin-team").await;
    admin.goto(&format!("{}/admin/people", desk.base)).await.unwrap();

    // An invitation without a name is refused beside the name, keeping the email.
    fill(admin, "#invite-email", BEN).await;
    click(admin, ".admin-form button[type=submit]").await;
    eventually("the name's error shows", || async { !text_if(admin, "#invite-name-error").await.is_empty() }).await;
    let kept = admin.find(Locator::Css("#invite-email")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some(BEN), "what was typed is kept");
    fill(admin, "#invite-name", "Ben Okafor").await;
    click(admin, "fieldset.checks input[type=checkbox]").await;
    click(admin, ".admin-form button[type=submit]").await;
    eventually("the agent's page opens", || async { path_of(admin).await.ends_with("?done=invited") }).await;
    assert!(text_of(admin, ".notice.ok").await.contains("Ben Okafor is invited"));
    let agent_path = path_of(admin).await.trim_end_matches("?done=invited").to_owned();

    // The invitation arrives; Ben chooses a password and signs in.
    let link = invitation_link(&desk).await;
    let ben_browser = Browser::start().await.unwrap();
    let ben = &ben_browser.client;
    ben.set_window_size(1440, 900).await.unwrap();
    ben.goto(&format!("{}{link}", desk.base)).await.unwrap();
    assert!(text_of(ben, "h1").await.contains("Welcome"));
    fill(ben, "#password", BENS_PASSWORD).await;
    fill(ben, "#confirm", BENS_PASSWORD).await;
    click(ben, "form button[type=submit]").await;
    eventually("the password is set", || async { path_of(ben).await == "/sign-in?password_set=1" }).await;
    fill(ben, "#email", BEN).await;
    fill(ben, "#password", BENS_PASSWORD).await;
    ben.find(Locator::Css("#password")).await.unwrap().send_keys("\u{e007}").await.unwrap();
    eventually("Ben's desk opens", || async { path_of(ben).await.starts_with("/desk/") }).await;

    // Two live chats at once for Ben.
    admin.goto(&format!("{}{agent_path}", desk.base)).await.unwrap();
    assert!(text_of(admin, "main p.hint").await.contains("Active"), "Ben has a password now");
    fill(admin, "#agent-chat-capacity", "two").await;
    click(admin, ".admin-form button[type=submit]").await;
    eventually("the capacity's error shows", || async {
        text_if(admin, "#agent-chat-capacity-error").await.contains("whole number")
    })
    .await;
    fill(admin, "#agent-chat-capacity", "2").await;
    click(admin, ".admin-form button[type=submit]").await;
    eventually("the change is saved", || async { path_of(admin).await.ends_with("?done=saved") }).await;
    check_and_capture(admin, "admin-agent").await;

    ben.goto(&format!("{}/desk/chat", desk.base)).await.unwrap();
    eventually("Ben's console is online", || async { text_if(ben, "#chat-status").await.starts_with("Online") }).await;
    let mut visitors = Vec::new();
    for index in 0..3 {
        visitors.push(visitor(&desk.base, index).await);
    }
    eventually("two chats are offered to Ben", || async {
        ben.find_all(Locator::Css(".chat-pane")).await.map(|panes| panes.len()).unwrap_or(0) == 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let panes = ben.find_all(Locator::Css(".chat-pane")).await.unwrap().len();
    assert_eq!(panes, 2, "never more chats than the capacity the admin set");

    // Deactivated: Ben's next request is refused and lands on the sign-in page.
    admin.goto(&format!("{}{agent_path}", desk.base)).await.unwrap();
    click(admin, "button.danger").await;
    eventually("Ben is deactivated", || async { path_of(admin).await.ends_with("?done=deactivated") }).await;
    assert!(text_of(admin, ".notice.ok").await.contains("signed out everywhere"));
    ben.goto(&format!("{}/desk/mine", desk.base)).await.unwrap();
    eventually("Ben's session is refused", || async { path_of(ben).await.starts_with("/sign-in") }).await;

    // The audit log: each change with who, before and after.
    click(admin, "nav.views a[href='/admin/audit']").await;
    eventually("the audit log opens", || async { path_of(admin).await == "/admin/audit" }).await;
    let log = text_of(admin, "ol.audit").await;
    for words in [
        "deactivated Agent Ben Okafor",
        "changed Agent Ben Okafor",
        "invited Agent Ben Okafor",
        "created Agent Ben Okafor",
    ] {
        assert!(log.contains(words), "the log shows {words:?}: {log}");
    }
    let capacity_row = text_of(admin, "ol.audit li:nth-child(2) table.changes").await;
    assert!(capacity_row.contains("chat capacity none 2"), "before and after: {capacity_row}");
    check_and_capture(admin, "admin-audit").await;

    // An API token: its secret shown once, then only its label.
    click(admin, "nav.views a[href='/admin/tokens']").await;
    eventually("the tokens open", || async { path_of(admin).await == "/admin/tokens" }).await;
    fill(admin, "#token-label", "warehouse bridge").await;
    click(admin, ".admin-form button[type=submit]").await;
    eventually("the secret shows", || async { admin.find(Locator::Css("#new-secret")).await.is_ok() }).await;
    let secret = admin.find(Locator::Css("#new-secret")).await.unwrap().prop("value").await.unwrap().unwrap();
    assert!(secret.len() > 40, "a whole secret: {secret}");
    let png = admin.screenshot().await.unwrap();
    std::fs::write(support::desk::screenshot_dir().join("admin-token-made-1440-light.png"), png).unwrap();
    admin.goto(&format!("{}/admin/tokens", desk.base)).await.unwrap();
    let listed = text_of(admin, "main").await;
    assert!(listed.contains("warehouse bridge") && !listed.contains(&secret), "shown once only");
    check_and_capture(admin, "admin-tokens").await;

    for task in visitors {
        task.abort();
    }
    ben_browser.close().await.unwrap();
    admin_browser.close().await.unwrap();
}

/// `rapport mailgate` on the desk's configuration, with a storm limit of one
/// message an hour per sender (so a second message is held).
fn mailgate_with_storm_limit(desk: &DemoDesk, raw: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new(support::BIN)
        .arg("mailgate")
        .arg("--config")
        .arg(&desk.config)
        .env("RUST_LOG", "warn")
        .env("RAPPORT_EMAIL__RATE_LIMIT_MESSAGES", "1")
        .env("RAPPORT_EMAIL__RATE_LIMIT_REPLIES", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(raw.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "mailgate: {:?} {said}", output.status);
    said
}

#[tokio::test]
async fn an_admin_reads_a_held_mail_files_it_again_and_finds_it_on_its_ticket() {
    assert!(rapport_testkit::browser::available(), "Chromium and chromedriver are needed: run .ci/install-browser");
    let desk = DemoDesk::start().await;
    let marker = format!("storm-{}", rand::random::<u32>());
    for n in 1..=2 {
        let raw = format!(
            "From: Nora Storm <nora@storm.example>\r\nTo: help@desk.example\r\nSubject: Parcel {marker} ({n})\r\n\
             Message-ID: <{marker}-{n}@storm.example>\r\n\r\nWhere is my parcel? {marker} message {n}\r\n"
        );
        let said = mailgate_with_storm_limit(&desk, &raw);
        assert!(n == 1 || said.contains("quarantine"), "the second is held: {said}");
    }
    let browser = Browser::start().await.unwrap();
    let admin = &browser.client;
    admin.set_window_size(1440, 900).await.unwrap();
    sign_in(admin, &desk).await;
    click(admin, "nav.views a[href='/admin/quarantine']").await;
    eventually("the quarantine opens", || async { path_of(admin).await == "/admin/quarantine" }).await;
    assert!(text_of(admin, "table.admin-list").await.contains("The sender wrote too often"));
    check_and_capture(admin, "admin-quarantine").await;

    click(admin, "table.admin-list tbody tr .subject a").await;
    eventually("the message opens", || async { path_of(admin).await.starts_with("/admin/quarantine/") }).await;
    assert!(text_of(admin, "pre.source").await.contains(&format!("{marker} message 2")), "the message whole");
    check_and_capture(admin, "admin-quarantined").await;
    click(admin, ".decisions button.primary").await;
    eventually("it is filed", || async { path_of(admin).await.ends_with("?done=filed") }).await;
    assert!(text_of(admin, ".notice.ok").await.starts_with("Filed"));

    // On its ticket, beside the first message of the same sender.
    click(admin, "dl.facts a[href^='/desk/tickets/']").await;
    eventually("the ticket opens", || async { path_of(admin).await.starts_with("/desk/tickets/") }).await;
    let conversation = text_of(admin, "main").await;
    assert!(
        conversation.contains(&format!("{marker} message 2")),
        "the released mail is on the ticket: {conversation}"
    );

    // The channels: the mail that came in, and why replies wait (no secret shown).
    click(admin, "nav.views a[href='/admin/channels']").await;
    eventually("the channels open", || async { path_of(admin).await == "/admin/channels" }).await;
    let channels = text_of(admin, "table.channels").await;
    assert!(
        channels.contains("Email") && channels.contains("Working") && channels.contains("Not set up"),
        "{channels}"
    );
    check_and_capture(admin, "admin-channels").await;

    // The customers: find the storming sender, open their page.
    click(admin, "nav.views a[href='/admin/customers']").await;
    eventually("the customers open", || async { path_of(admin).await == "/admin/customers" }).await;
    check_and_capture(admin, "admin-customers").await;
    let search = admin.find(Locator::Css("#customer-query")).await.unwrap();
    search.send_keys("nora@storm.example").await.unwrap();
    click(admin, "form.admin-search button").await;
    eventually("the sender is found", || async { path_of(admin).await.starts_with("/admin/customers?q=") }).await;
    click(admin, "table.admin-list tbody tr .subject a").await;
    eventually("their page opens", || async { path_of(admin).await.starts_with("/admin/customers/") }).await;
    assert!(text_of(admin, "table.identities").await.contains("nora@storm.example"));
    check_and_capture(admin, "admin-customer").await;

    // The demo's organizations, each with its tier and its people.
    click(admin, "nav.views a[href='/admin/organizations']").await;
    eventually("the organizations open", || async { path_of(admin).await == "/admin/organizations" }).await;
    check_and_capture(admin, "admin-organizations").await;
    click(admin, "table.admin-list tbody tr .subject a").await;
    eventually("one opens", || async { path_of(admin).await.starts_with("/admin/organizations/") }).await;
    assert!(text_of(admin, "main").await.contains("Its customers"));
    check_and_capture(admin, "admin-organization").await;
    browser.close().await.unwrap();
}

#[tokio::test]
async fn an_admin_sets_up_a_calendar_a_policy_with_its_preview_and_a_rule_with_its_dry_run() {
    assert!(rapport_testkit::browser::available(), "Chromium and chromedriver are needed: run .ci/install-browser");
    let desk = DemoDesk::start().await;
    let browser = Browser::start().await.unwrap();
    let admin = &browser.client;
    admin.set_window_size(1440, 900).await.unwrap();
    sign_in(admin, &desk).await;
    click(admin, "nav.views a[href='/admin/calendars']").await;
    eventually("the calendars open", || async { path_of(admin).await == "/admin/calendars" }).await;
    check_and_capture(admin, "admin-calendars").await;

    fill(admin, "#calendar-name", "lisbon").await;
    let wrong = "timezone = \"Europe/Lisbon\"\n[hours]\nmon = [\"09:00-18:00\"]\ntue = [\"18:00-09:00\"]\n";
    fill(admin, "#calendar-source", wrong).await;
    click(admin, ".admin-form button[type=submit]").await;
    eventually("the error shows", || async { !text_if(admin, "#calendar-source-error").await.is_empty() }).await;
    let error = text_of(admin, "#calendar-source-error").await;
    assert!(error.contains("Line 4") && error.contains("hours.tue[0]"), "line and field named: {error}");
    assert!(error.contains("tue = [\"18:00-09:00\"]"), "the line quoted: {error}");
    let kept = admin.find(Locator::Css("#calendar-source")).await.unwrap().prop("value").await.unwrap().unwrap();
    assert!(kept.contains("18:00-09:00"), "what was typed is kept: {kept}");

    fill(admin, "#calendar-source", &wrong.replace("18:00-09:00", "09:00-18:00")).await;
    click(admin, ".admin-form button[type=submit]").await;
    eventually("the calendar is saved", || async { path_of(admin).await == "/admin/calendars/lisbon?done=saved" })
        .await;
    let week = text_of(admin, "table.week").await;
    assert!(week.contains("Tuesday 09:00–18:00") && week.contains("Sunday closed"), "the week: {week}");
    assert_eq!(admin.find_all(Locator::Css("table.week rect.open")).await.unwrap().len(), 2, "two open days drawn");
    check_and_capture(admin, "admin-calendar").await;

    // A policy counting on it, previewed on a demo ticket before it is saved.
    click(admin, "nav.views a[href='/admin/policies']").await;
    eventually("the policies open", || async { path_of(admin).await == "/admin/policies" }).await;
    let policy = r#"{"name": "Lisbon email", "conditions": {"channels": ["email"]},
 "targets": {"first_response": {"seconds": 7200, "business_hours": true}}, "calendar": "lisbon"}"#;
    fill(admin, "#policy-source", policy).await;
    fill(admin, "#policy-ticket", "1").await;
    click(admin, "button[value=preview]").await;
    eventually("the preview shows", || async { !text_if(admin, ".preview").await.is_empty() }).await;
    let preview = text_of(admin, ".preview").await;
    assert!(
        preview.contains("This policy would give ticket #1") || preview.contains("would not apply to ticket #1"),
        "{preview}"
    );
    assert!(preview.contains("Now it has"), "beside what it has now: {preview}");
    admin.execute("document.querySelector('.preview').scrollIntoView()", vec![]).await.unwrap();
    let png = admin.screenshot().await.unwrap();
    std::fs::write(support::desk::screenshot_dir().join("admin-policy-preview-1440-light.png"), png).unwrap();
    click(admin, "button[value=save]").await;
    eventually("the policy is saved", || async { path_of(admin).await == "/admin/policies?done=saved" }).await;
    assert!(text_of(admin, "table.admin-list").await.contains("Lisbon email"));
    check_and_capture(admin, "admin-policies").await;

    // An escalation rule, tried on the demo's open tickets before it is saved.
    click(admin, "nav.views a[href='/admin/rules']").await;
    eventually("the rules open", || async { path_of(admin).await == "/admin/rules" }).await;
    let rule = r#"{"name": "Unowned for an hour", "trigger": {"type": "no_owner", "minutes": 60},
 "actions": [{"type": "notify_supervisor", "message": "Ticket {{ticket.id}} has had no owner for an hour"}]}"#;
    fill(admin, "#rule-source", rule).await;
    click(admin, "button[value=dry_run]").await;
    eventually("the dry run shows", || async { !text_if(admin, ".preview").await.is_empty() }).await;
    let dry_run = text_of(admin, ".preview").await;
    assert!(dry_run.contains("open tickets now, this rule would fire on"), "{dry_run}");
    assert!(dry_run.contains("Nothing was saved"), "{dry_run}");
    admin.execute("document.querySelector('.preview').scrollIntoView()", vec![]).await.unwrap();
    let png = admin.screenshot().await.unwrap();
    std::fs::write(support::desk::screenshot_dir().join("admin-rule-dry-run-1440-light.png"), png).unwrap();
    click(admin, "button[value=save]").await;
    eventually("the rule is saved", || async { path_of(admin).await == "/admin/rules?done=saved" }).await;
    assert!(text_of(admin, "table.admin-list").await.contains("Unowned for an hour"));
    check_and_capture(admin, "admin-rules").await;
    // It opens on its own page, to change (with a dry run) or delete.
    click(admin, "table.admin-list tbody tr:last-child .subject a").await;
    eventually("the rule opens", || async { path_of(admin).await.starts_with("/admin/rules/") }).await;
    let source = admin.find(Locator::Css("#rule-source")).await.unwrap().prop("value").await.unwrap().unwrap();
    assert!(source.contains("Unowned for an hour"), "{source}");
    check_and_capture(admin, "admin-rule").await;

    // The priority matrix the tiers set.
    click(admin, "nav.views a[href='/admin/priorities']").await;
    eventually("the matrix opens", || async { path_of(admin).await == "/admin/priorities" }).await;
    assert!(text_of(admin, "table.matrix").await.contains("premium"));
    check_and_capture(admin, "admin-priorities").await;

    // The escalation plan those rules move tickets along.
    click(admin, "nav.views a[href='/admin/escalation']").await;
    eventually("the plan opens", || async { path_of(admin).await == "/admin/escalation" }).await;
    check_and_capture(admin, "admin-escalation").await;

    // The demo's problem, with its linked tickets.
    click(admin, "nav.views a[href='/admin/problems']").await;
    eventually("the problems open", || async { path_of(admin).await == "/admin/problems" }).await;
    check_and_capture(admin, "admin-problems").await;
    click(admin, "table.admin-list tbody tr .subject a").await;
    eventually("the problem opens", || async { path_of(admin).await.starts_with("/admin/problems/") }).await;
    assert!(text_of(admin, "main").await.contains("linked tickets"));
    check_and_capture(admin, "admin-problem").await;
    browser.close().await.unwrap();
}
