//! The admin pages over HTTP (issue 18): People (invite, settings, chat
//! capacity, deactivation) and the audit log. Role rules are the API's: an
//! agent gets 403 on every admin page and action; every action needs the
//! session's CSRF token and our own origin; a refused form writes nothing
//! and shows each error beside its field with what was typed. (The browser
//! journey is in the `rapport` crate's `admin_browser` suite.)

use reqwest::StatusCode;
use serde_json::json;

use crate::form_browser::*;
use crate::helpers::*;

async fn email_of(app: &TestApp, agent: &TestAgent) -> String {
    app.store.get_agent(rapport_core::AgentId(agent.id)).await.unwrap().email
}

async fn signed_in(app: &TestApp, agent: &TestAgent) -> Browser {
    let mut browser = Browser::new(app);
    let email = email_of(app, agent).await;
    assert_eq!(browser.sign_in(&email, PASSWORD).await.status, StatusCode::SEE_OTHER);
    browser
}

/// Every admin page, and every admin action with fields that would change something.
fn actions(target: i64) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    vec![
        ("/admin/people/invite".to_owned(), vec![("email", "new@desk.example"), ("name", "New"), ("role", "agent")]),
        (format!("/admin/people/{target}"), vec![("name", "Renamed"), ("role", "agent"), ("chat_capacity", "2")]),
        (format!("/admin/people/{target}/active"), vec![("active", "false")]),
        (format!("/admin/people/{target}/invitation"), vec![]),
        ("/admin/quarantine/1/file".to_owned(), vec![]),
        ("/admin/quarantine/1/discard".to_owned(), vec![]),
        ("/admin/calendars".to_owned(), vec![("name", "berlin"), ("source", "preset = \"24x7\"\n")]),
        ("/admin/calendars/default".to_owned(), vec![("source", "preset = \"24x7\"\n")]),
        ("/admin/calendars/default/delete".to_owned(), vec![]),
        ("/admin/policies".to_owned(), vec![("action", "save"), ("source", "{\"name\": \"All\", \"targets\": {}}")]),
        ("/admin/rules".to_owned(), vec![("action", "save"), ("source", RULE)]),
        ("/admin/tokens".to_owned(), vec![("label", "script")]),
        ("/admin/teams".to_owned(), vec![("name", "Night shift")]),
        (format!("/admin/tokens/{target}/revoke"), vec![]),
        ("/admin/customers/1".to_owned(), vec![("name", "Renamed"), ("tier", "")]),
        ("/admin/customers/1/verify".to_owned(), vec![("kind", "email"), ("value", "ann@example.com")]),
        ("/admin/customers/1/merge".to_owned(), vec![("into", "2")]),
        ("/admin/customers/1/erase".to_owned(), vec![("confirm", "1")]),
        ("/admin/escalation".to_owned(), vec![("level_1", "keep"), ("on_call", "")]),
        ("/admin/problems".to_owned(), vec![("problem", "1"), ("tickets", "2")]),
        ("/admin/problems/1/tickets".to_owned(), vec![("tickets", "2")]),
        ("/admin/problems/1/update".to_owned(), vec![("text", "Fixed"), ("action", "solve")]),
        ("/admin/problems/1/tickets/2/unlink".to_owned(), vec![]),
        ("/admin/rules/1".to_owned(), vec![("action", "save"), ("source", RULE)]),
        ("/admin/rules/1/delete".to_owned(), vec![]),
        ("/admin/policies/1".to_owned(), vec![("action", "save"), ("source", "{\"name\": \"All\", \"targets\": {}}")]),
        ("/admin/policies/1/delete".to_owned(), vec![]),
        ("/admin/organizations".to_owned(), vec![("name", "Globex"), ("tier", "premium")]),
        ("/admin/organizations/1".to_owned(), vec![("name", "Globex"), ("tier", "premium")]),
    ]
}

/// Puts an email from a storming sender in the quarantine; returns its id.
async fn quarantine(app: &TestApp, marker: &str) -> i64 {
    let raw = format!(
        "From: Storm <storm@example.com>\r\nTo: help@desk.example\r\nSubject: Parcel {marker}\r\n\
         Message-ID: <{marker}@example.com>\r\nContent-Type: text/html\r\n\r\n\
         <p>Where is my parcel? {marker}</p><script>alert(1)</script><img src=x onerror=alert(2)>\r\n"
    );
    let reason = rapport_store::QuarantineReason::RateLimited;
    match app.store.quarantine(rapport_core::Channel::Email, reason, marker.to_owned(), raw.into_bytes(), now()).await {
        Ok(rapport_store::Filed::Quarantined { id, .. }) => id,
        other => panic!("{other:?}"),
    }
}

/// A rule that fires on every new ticket's next customer reply.
const RULE: &str = r#"{"name": "Follow up replies", "trigger": {"type": "event", "event": "customer_replied"},
 "conditions": [{"field": "status", "op": "in", "value": ["new", "open"]}],
 "actions": [{"type": "notify_owner", "message": "The customer wrote again on {{ticket.id}}"}]}"#;

async fn audit_count(app: &TestApp) -> usize {
    let filter = rapport_store::AuditFilter { limit: 1000, ..Default::default() };
    app.store.list_audit(filter).await.unwrap().len()
}

#[tokio::test]
async fn an_agent_gets_403_on_every_admin_page_and_action_and_nothing_changes() {
    let app = spawn_app().await;
    let agent = app.agent(rapport_core::Role::Agent, &[]).await;
    let target = app.agent(rapport_core::Role::Agent, &[]).await;
    let browser = signed_in(&app, &agent).await;
    let queue = browser.get("/desk/mine").await;
    assert!(!queue.text.contains("/admin/people"), "no admin links for an agent");
    let csrf = queue.csrf();
    let held = quarantine(&app, "held for the test").await;
    let pages = [
        "/admin",
        "/admin/people",
        &format!("/admin/people/{}", target.id),
        "/admin/audit",
        "/admin/quarantine",
        "/admin/channels",
        "/admin/organizations",
        "/admin/organizations/1",
        "/admin/rules/1",
        "/admin/policies/1",
    ];
    for page in pages.iter().copied().chain([format!("/admin/quarantine/{held}").as_str()]) {
        let answer = browser.get(page).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{page}");
        assert!(answer.text.contains("supervisors and admins"), "{page}: {}", answer.text);
    }
    let before = audit_count(&app).await;
    for (path, fields) in actions(target.id) {
        let mut fields = fields.clone();
        fields.push(("csrf", &csrf));
        assert_eq!(browser.post(&path, &fields).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(audit_count(&app).await, before, "nothing recorded");
    let after = app.store.get_agent(rapport_core::AgentId(target.id)).await.unwrap();
    assert!(after.active && after.name == "Test agent" && after.chat_capacity.is_none(), "{after:?}");
    assert!(app.store.find_agent_by_email("new@desk.example").await.unwrap().is_none());
    assert_eq!(app.store.get_quarantined(held).await.unwrap().state, "held");

    // A supervisor sees the pages.
    let lead = app.agent(rapport_core::Role::Supervisor, &[]).await;
    let lead = signed_in(&app, &lead).await;
    assert_eq!(lead.get("/admin/people").await.status, StatusCode::OK);
    assert_eq!(lead.get("/admin/audit").await.status, StatusCode::OK);
    assert_eq!(lead.get("/admin").await.location(), "/admin/people");
}

#[tokio::test]
async fn every_admin_action_needs_the_sessions_token_and_our_origin() {
    let app = spawn_app().await;
    let target = app.agent(rapport_core::Role::Agent, &[]).await;
    let browser = signed_in(&app, &app.admin).await;
    let csrf = browser.get("/admin/people").await.csrf();
    let held = quarantine(&app, "held for the test").await;
    assert_eq!(held, 1, "the first quarantined message, as the actions name it");
    let before = audit_count(&app).await;
    for (path, fields) in actions(target.id) {
        let without = browser.post(&path, &fields).await;
        assert_eq!(without.status, StatusCode::FORBIDDEN, "{path} without a token");
        let mut wrong = fields.clone();
        wrong.push(("csrf", "0000000000000000000000000000000000000000000000000000000000000000"));
        assert_eq!(browser.post(&path, &wrong).await.status, StatusCode::FORBIDDEN, "{path} with a wrong token");
        let mut good = fields.clone();
        good.push(("csrf", &csrf));
        let foreign = browser.post_from(&path, &good, Some("https://evil.example")).await;
        assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{path} from another site");
    }
    assert_eq!(audit_count(&app).await, before, "nothing recorded");
    assert!(app.store.get_agent(rapport_core::AgentId(target.id)).await.unwrap().active);
    assert!(app.take_mail().await.is_empty(), "no invitation sent");
    assert_eq!(app.store.get_quarantined(held).await.unwrap().state, "held");
}

#[tokio::test]
async fn an_admin_invites_an_agent_who_chooses_a_password_and_signs_in() {
    let app = spawn_app().await;
    let team = app.post("/api/v1/teams", &app.admin, &json!({"name": "Billing"})).await.expect(StatusCode::CREATED);
    let team_id = team["id"].as_i64().unwrap().to_string();
    let admin = signed_in(&app, &app.admin).await;
    let csrf = admin.get("/admin/people").await.csrf();

    // Errors come back beside their fields, with what was typed, and nothing is written.
    let wrong = admin
        .post(
            "/admin/people/invite",
            &[("csrf", &csrf), ("email", "not an address"), ("name", "  "), ("role", "agent"), ("languages", "en, de")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text.contains("id=\"invite-email-error\""), "{}", wrong.text);
    assert!(wrong.text.contains("id=\"invite-name-error\""), "{}", wrong.text);
    assert!(wrong.text.contains("value=\"not an address\"") && wrong.text.contains("value=\"en, de\""));
    assert!(wrong.text.contains("2 fields need a change"), "{}", wrong.text);
    assert!(app.take_mail().await.is_empty());

    let fields = [
        ("csrf", csrf.as_str()),
        ("email", "Ben@Desk.example"),
        ("name", "Ben Okafor"),
        ("role", "agent"),
        ("languages", "en de"),
        ("team", team_id.as_str()),
    ];
    let invited = admin.post("/admin/people/invite", &fields).await;
    assert_eq!(invited.status, StatusCode::SEE_OTHER, "{}", invited.text);
    let page = admin.get(invited.location()).await;
    assert!(page.text.contains("Ben Okafor is invited"), "{}", page.text);
    assert!(page.text.contains("No password yet") && page.text.contains("Send an invitation"));
    let ben = app.store.find_agent_by_email("ben@desk.example").await.unwrap().expect("the agent exists");
    assert_eq!((ben.languages.clone(), ben.teams.len()), (vec!["de".to_owned(), "en".to_owned()], 1));

    // The same email again is refused beside the email field.
    let again = admin.post("/admin/people/invite", &fields).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.text.contains("exists already"), "{}", again.text);

    let mail = app.take_mail().await;
    assert_eq!(mail.len(), 1, "one invitation: {mail:?}");
    assert_eq!(mail[0].to[0].identity.value, "ben@desk.example");
    let link = format!("/password/{}", password_secret(&mail[0].text));
    let mut ben_browser = Browser::new(&app);
    assert!(ben_browser.get(&link).await.text.contains("Welcome"));
    let chosen =
        ben_browser.post(&link, &[("password", "bens own long password"), ("confirm", "bens own long password")]).await;
    assert_eq!(chosen.location(), "/sign-in?password_set=1");
    assert_eq!(ben_browser.sign_in("ben@desk.example", "bens own long password").await.status, StatusCode::SEE_OTHER);
    assert_eq!(ben_browser.get("/desk/mine").await.status, StatusCode::OK);

    let log = admin.get("/admin/audit?subject=agent").await;
    assert!(log.text.contains("Test admin</strong> created") && log.text.contains("Test admin</strong> invited"));
    assert!(log.text.contains("ben@desk.example"), "the new record in the log");
}

async fn post_owned(browser: &Browser, path: &str, fields: &[(&str, String)]) -> Page {
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(key, value)| (*key, value.as_str())).collect();
    browser.post(path, &borrowed).await
}

#[tokio::test]
async fn capacity_and_role_are_saved_and_audited_and_a_deactivated_agent_is_signed_out_at_once() {
    let app = spawn_app().await;
    let ben = app.agent(rapport_core::Role::Agent, &[]).await;
    let ben_browser = signed_in(&app, &ben).await;
    let admin = signed_in(&app, &app.admin).await;
    let path = format!("/admin/people/{}", ben.id);
    let csrf = admin.get(&path).await.csrf();
    let save = |capacity: &str, role: &str| -> Vec<(&'static str, String)> {
        vec![
            ("csrf", csrf.clone()),
            ("name", "Ben".to_owned()),
            ("role", role.to_owned()),
            ("languages", "en".to_owned()),
            ("chat_capacity", capacity.to_owned()),
        ]
    };
    for (typed, expected) in [("two", "whole number"), ("21", "from 0 to 20"), ("-1", "from 0 to 20")] {
        let refused = post_owned(&admin, &path, &save(typed, "agent")).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
        assert!(refused.text.contains("id=\"agent-chat-capacity-error\""), "{typed}: {}", refused.text);
        assert!(refused.text.contains(expected) && refused.text.contains(&format!("value=\"{typed}\"")), "{typed}");
    }
    let saved = post_owned(&admin, &path, &save("2", "supervisor")).await;
    assert_eq!((saved.status, saved.location().to_owned()), (StatusCode::SEE_OTHER, format!("{path}?done=saved")));
    let changed = app.store.get_agent(rapport_core::AgentId(ben.id)).await.unwrap();
    assert_eq!(
        (changed.chat_capacity, changed.role, changed.name.as_str()),
        (Some(2), rapport_core::Role::Supervisor, "Ben")
    );
    let api = app.get(&format!("/api/v1/agents/{}", ben.id), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(api["chat_capacity"], 2);

    // A supervisor may not make an admin; the admin's rules are the API's.
    let lead = signed_in(&app, &ben).await;
    let lead_csrf = lead.get(&path).await.csrf();
    let promote = lead
        .post(
            &path,
            &[("csrf", &lead_csrf), ("name", "Ben"), ("role", "admin"), ("languages", "en"), ("chat_capacity", "2")],
        )
        .await;
    assert_eq!(promote.status, StatusCode::FORBIDDEN, "{}", promote.text);
    assert!(promote.text.contains("Only an admin may grant the admin role"), "{}", promote.text);
    assert_eq!(app.store.get_agent(rapport_core::AgentId(ben.id)).await.unwrap().role, rapport_core::Role::Supervisor);

    // Deactivation: the open session and the token stop at once.
    assert_eq!(ben_browser.get("/desk/mine").await.status, StatusCode::OK);
    let off = admin.post(&format!("{path}/active"), &[("csrf", &csrf), ("active", "false")]).await;
    assert_eq!(off.location(), format!("{path}?done=deactivated"));
    assert_eq!(ben_browser.get("/desk/mine").await.status, StatusCode::SEE_OTHER, "the session ended");
    assert_eq!(app.get("/api/v1/tickets", &ben).await.status, StatusCode::UNAUTHORIZED, "the token stopped");
    let page = admin.get(&format!("{path}?done=deactivated")).await;
    assert!(page.text.contains("Deactivated") && page.text.contains("Reactivate"), "{}", page.text);

    // The last admin cannot deactivate themself from here either: no button, and the action is refused.
    let own =
        admin.post(&format!("/admin/people/{}/active", app.admin.id), &[("csrf", &csrf), ("active", "false")]).await;
    assert_eq!(own.status, StatusCode::CONFLICT, "{}", own.text);
    assert!(app.store.get_agent(rapport_core::AgentId(app.admin.id)).await.unwrap().active);

    let log = admin.get(&format!("/admin/audit?subject=agent&agent={}", app.admin.id)).await;
    assert!(log.text.contains("Test admin</strong> deactivated"), "{}", log.text);
    assert!(
        log.text.contains("<th scope=\"row\">chat capacity</th><td><span class=\"meta\">none</span></td><td>2</td>"),
        "{}",
        log.text
    );
    assert!(log.text.contains("<th scope=\"row\">role</th><td>agent</td><td>supervisor</td>"), "{}", log.text);
    let api_log = app.get("/api/v1/audit?subject=agent", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(api_log["entries"][0]["verb"], "deactivated", "{api_log}");
}

#[tokio::test]
async fn the_api_sets_and_clears_a_chat_capacity_within_its_range() {
    let app = spawn_app().await;
    let ben = app.agent(rapport_core::Role::Agent, &[]).await;
    let path = format!("/api/v1/agents/{}", ben.id);
    let set = app.patch(&path, &app.admin, &json!({"chat_capacity": 3}), None).await.expect(StatusCode::OK);
    assert_eq!(set["chat_capacity"], 3);
    for bad in [json!(21), json!(-1), json!("3"), json!(2.5)] {
        let refused = app.patch(&path, &app.admin, &json!({"chat_capacity": bad}), None).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(refused.body["error"]["field"], "chat_capacity");
    }
    let own = app.patch(&path, &ben, &json!({"chat_capacity": 9}), None).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "an agent does not set their own capacity");
    let cleared = app.patch(&path, &app.admin, &json!({"chat_capacity": null}), None).await.expect(StatusCode::OK);
    assert_eq!(cleared["chat_capacity"], serde_json::Value::Null);
}

#[tokio::test]
async fn held_mail_is_read_as_inert_text_filed_again_or_discarded_once_and_audited() {
    let app = spawn_app().await;
    let admin = signed_in(&app, &app.admin).await;
    let first = quarantine(&app, "first-storm").await;
    let second = quarantine(&app, "second-storm").await;
    let list = admin.get("/admin/quarantine").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text.contains("The sender wrote too often") && list.text.contains(&format!("#{second}")));

    let page = admin.get(&format!("/admin/quarantine/{first}")).await;
    assert!(page.text.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "the source as text: {}", page.text);
    assert!(!page.text.contains("<script>alert") && !page.text.contains("<img src=x"), "nothing of it is markup");
    let csrf = page.csrf();

    let filed = admin.post(&format!("/admin/quarantine/{first}/file"), &[("csrf", &csrf)]).await;
    assert_eq!(filed.location(), format!("/admin/quarantine/{first}?done=filed"), "{}", filed.text);
    let card = app.store.get_quarantined(first).await.unwrap();
    let ticket = card.ticket.expect("filed on a ticket").0;
    let messages = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    assert!(messages.to_string().contains("first-storm"), "the mail is on the ticket: {messages}");
    let shown = admin.get(&format!("/admin/quarantine/{first}?done=filed")).await;
    assert!(shown.text.contains(&format!("/desk/tickets/{ticket}")) && !shown.text.contains("File it again"));
    let again = admin.post(&format!("/admin/quarantine/{first}/file"), &[("csrf", &csrf)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "decided once");

    let discarded = admin.post(&format!("/admin/quarantine/{second}/discard"), &[("csrf", &csrf)]).await;
    assert_eq!(discarded.location(), format!("/admin/quarantine/{second}?done=discarded"));
    assert_eq!(app.store.get_quarantined(second).await.unwrap().state, "ignored");
    let twice = admin.post(&format!("/admin/quarantine/{second}/discard"), &[("csrf", &csrf)]).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert!(twice.text.contains("decided already"));
    assert_eq!(admin.get("/admin/quarantine/999999").await.status, StatusCode::NOT_FOUND);
    assert!(admin.get("/admin/quarantine").await.text.contains("Nothing is waiting"));

    let log = admin.get("/admin/audit?subject=quarantine").await;
    assert!(
        log.text.contains(&format!("filed <a href=\"/admin/quarantine/{first}\">quarantined message #{first}</a>")),
        "{}",
        log.text
    );
    assert!(log.text.contains("discarded"));
}

#[tokio::test]
async fn a_calendar_with_an_error_names_its_line_and_field_and_a_right_one_is_saved_shown_and_audited() {
    let app = spawn_app().await;
    let admin = signed_in(&app, &app.admin).await;
    let list = admin.get("/admin/calendars").await;
    assert!(list.text.contains("/admin/calendars/default") && list.text.contains("built in"), "{}", list.text);
    let csrf = list.csrf();
    let wrong = "timezone = \"Europe/Berlin\"\n[hours]\nmon = [\"09:00-17:00\"]\ntue = [\"13:00-12:00\"]\n";
    let refused = admin.post("/admin/calendars", &[("csrf", &csrf), ("name", "berlin"), ("source", wrong)]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text.contains("Line 4: hours.tue[0]:"), "line and field named: {}", refused.text);
    assert!(
        refused.text.contains("<pre class=\"source\">tue = [&#34;13:00-12:00&#34;]</pre>"),
        "the line quoted: {}",
        refused.text
    );
    assert!(
        refused.text.contains("value=\"berlin\"") && refused.text.contains("13:00-12:00"),
        "what was typed is kept"
    );
    assert!(app.store.list_calendars().await.unwrap().is_empty(), "nothing saved");

    let bad_name = admin
        .post("/admin/calendars", &[("csrf", &csrf), ("name", "no spaces"), ("source", "preset = \"24x7\"\n")])
        .await;
    assert_eq!(bad_name.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_name.text.contains("id=\"calendar-name-error\""), "{}", bad_name.text);

    let right = wrong.replace("13:00-12:00", "09:00-13:00");
    let saved = admin.post("/admin/calendars", &[("csrf", &csrf), ("name", "berlin"), ("source", &right)]).await;
    assert_eq!(saved.location(), "/admin/calendars/berlin?done=saved", "{}", saved.text);
    let page = admin.get("/admin/calendars/berlin?done=saved").await;
    assert!(page.text.contains("Europe/Berlin") && page.text.contains("09:00–13:00"), "{}", page.text);
    assert!(page.text.contains("<rect class=\"open\" x=\"540\" y=\"0\" width=\"240\""), "Tuesday's bar: {}", page.text);
    let again = admin.post("/admin/calendars", &[("csrf", &csrf), ("name", "berlin"), ("source", &right)]).await;
    assert!(again.text.contains("exists already"), "a new calendar never overwrites one");

    // Editing keeps the text on an error; a policy counting on it stops its deletion.
    let edit =
        admin.post("/admin/calendars/berlin", &[("csrf", &csrf), ("source", "timezone = \"Mars/Olympus\"\n")]).await;
    assert_eq!(edit.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(edit.text.contains("Line 1: timezone") && edit.text.contains("Mars/Olympus"), "{}", edit.text);
    let hour = json!({"seconds": 3600, "business_hours": true});
    let policy = json!({"name": "Berlin hours", "calendar": "berlin", "targets": {"first_response": hour}});
    app.post("/api/v1/sla/policies", &app.admin, &policy).await.expect(StatusCode::CREATED);
    let delete = admin.post("/admin/calendars/berlin/delete", &[("csrf", &csrf)]).await;
    assert_eq!(delete.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", delete.text);
    assert!(delete.text.contains("counts on calendar"), "{}", delete.text);

    let log = admin.get("/admin/audit?subject=calendar").await;
    assert!(log.text.contains("created <a href=\"/admin/calendars/berlin\">calendar berlin</a>"), "{}", log.text);
}

#[tokio::test]
async fn a_new_policy_is_previewed_on_a_ticket_before_it_is_saved_and_saving_is_audited() {
    let app = spawn_app().await;
    let ticket = app.create_ticket(&app.admin, &ticket_body("ana@example.com")).await;
    let id = id(&ticket).to_string();
    let admin = signed_in(&app, &app.admin).await;
    let page = admin.get("/admin/policies").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    let policies_before = app.store.list_policies().await.unwrap().len();
    let policy = |channels: &str| {
        format!(
            "{{\"name\": \"Fast web\", \"conditions\": {{\"channels\": [{channels}]}}, \
             \"targets\": {{\"first_response\": {{\"seconds\": 600, \"business_hours\": false}}}}}}"
        )
    };
    let channel = ticket["channel"].as_str().unwrap().to_owned();
    let matching = policy(&format!("\"{channel}\""));
    let preview = admin
        .post("/admin/policies", &[("csrf", &csrf), ("action", "preview"), ("ticket", &id), ("source", &matching)])
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert!(preview.text.contains("This policy would give ticket #"), "{}", preview.text);
    assert!(preview.text.contains("<th scope=\"row\">first reply</th>"), "{}", preview.text);
    assert!(preview.text.contains("Now it has"), "beside what it has now");
    let other = if channel == "chat" { "\"sms\"" } else { "\"chat\"" };
    let not = admin
        .post("/admin/policies", &[("csrf", &csrf), ("action", "preview"), ("ticket", &id), ("source", &policy(other))])
        .await;
    assert!(not.text.contains("would not apply"), "{}", not.text);
    assert_eq!(app.store.list_policies().await.unwrap().len(), policies_before, "a preview saves nothing");

    let broken = matching.replace("600", "\"soon\"");
    let wrong = admin.post("/admin/policies", &[("csrf", &csrf), ("action", "save"), ("source", &broken)]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text.contains("targets.first_response.seconds:"), "{}", wrong.text);
    assert!(wrong.text.contains("&#34;soon&#34;"), "the text is kept: {}", wrong.text);
    let no_ticket = admin
        .post("/admin/policies", &[("csrf", &csrf), ("action", "preview"), ("ticket", "999999"), ("source", &matching)])
        .await;
    assert!(no_ticket.text.contains("There is no ticket #999999"), "{}", no_ticket.text);

    let saved = admin
        .post("/admin/policies", &[("csrf", &csrf), ("action", "save"), ("position", "1"), ("source", &matching)])
        .await;
    assert_eq!(saved.location(), "/admin/policies?done=saved", "{}", saved.text);
    let first = app.store.list_policies().await.unwrap().remove(0);
    assert_eq!((first.policy.name.as_str(), first.position), ("Fast web", 1));
    let list = admin.get("/admin/policies?done=saved").await;
    assert!(list.text.contains("first reply 10 min (around the clock)"), "{}", list.text);
    let log = admin.get("/admin/audit?subject=policy").await;
    let own_page = format!("created <a href=\"/admin/policies/{}\">SLA policy Fast web", first.id);
    assert!(log.text.contains(&own_page), "{}", log.text);
}

#[tokio::test]
async fn a_new_rule_has_a_dry_run_on_the_open_tickets_before_it_is_saved() {
    let app = spawn_app().await;
    let open = app.create_ticket(&app.admin, &ticket_body("ana@example.com")).await;
    app.settle().await;
    let admin = signed_in(&app, &app.admin).await;
    let csrf = admin.get("/admin/rules").await.csrf();

    let dry = admin.post("/admin/rules", &[("csrf", &csrf), ("action", "dry_run"), ("source", RULE)]).await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.text);
    assert!(dry.text.contains("this rule would fire on 1"), "{}", dry.text);
    assert!(dry.text.contains(&format!("/desk/tickets/{}", id(&open))), "{}", dry.text);
    assert!(dry.text.contains("next customer_replied"), "why it would fire: {}", dry.text);
    let pending_only = RULE.replace(r#"["new", "open"]"#, r#"["pending"]"#);
    let none = admin.post("/admin/rules", &[("csrf", &csrf), ("action", "dry_run"), ("source", &pending_only)]).await;
    assert!(none.text.contains("would fire on none"), "{}", none.text);
    assert!(app.store.list_rules().await.unwrap().is_empty(), "a dry run saves nothing");

    let unknown_team = RULE.replace(
        r#"{"type": "notify_owner", "message": "The customer wrote again on {{ticket.id}}"}"#,
        r#"{"type": "move_to_team", "team": 999}"#,
    );
    let refused =
        admin.post("/admin/rules", &[("csrf", &csrf), ("action", "dry_run"), ("source", &unknown_team)]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text.contains("id=\"rule-source-error\">actions[0]"), "the field named: {}", refused.text);
    let broken = admin.post("/admin/rules", &[("csrf", &csrf), ("action", "save"), ("source", "{\"name\": ")]).await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(broken.text.contains("not valid JSON"), "{}", broken.text);

    let saved = admin.post("/admin/rules", &[("csrf", &csrf), ("action", "save"), ("source", RULE)]).await;
    assert_eq!(saved.location(), "/admin/rules?done=saved", "{}", saved.text);
    let list = admin.get("/admin/rules?done=saved").await;
    assert!(
        list.text.contains("Follow up replies") && list.text.contains("event: event customer_replied"),
        "{}",
        list.text
    );
}

/// The secret shown on a page, once.
fn shown_secret(page: &Page) -> Option<String> {
    let needle = "id=\"new-secret\" class=\"code\" readonly value=\"";
    let start = page.text.find(needle)? + needle.len();
    Some(page.text[start..].split('"').next()?.to_owned())
}

#[tokio::test]
async fn a_token_made_on_the_page_shows_its_secret_once_works_and_is_revoked_at_once() {
    let app = spawn_app().await;
    let ben = app.agent(rapport_core::Role::Agent, &[]).await;
    let admin = signed_in(&app, &app.admin).await;
    let csrf = admin.get("/admin/tokens").await.csrf();
    let empty = admin.post("/admin/tokens", &[("csrf", &csrf), ("label", "  "), ("agent", &ben.id.to_string())]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text.contains("id=\"token-label-error\""), "{}", empty.text);
    assert!(shown_secret(&empty).is_none());

    let made = admin
        .post("/admin/tokens", &[("csrf", &csrf), ("label", "warehouse bridge"), ("agent", &ben.id.to_string())])
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let secret = shown_secret(&made).expect("the secret, once");
    let as_ben = TestAgent { id: ben.id, token: secret.clone(), token_id: 0 };
    assert_eq!(app.get("/api/v1/tickets", &as_ben).await.status, StatusCode::OK, "the token works");
    let listed = admin.get("/admin/tokens").await;
    assert!(listed.text.contains("warehouse bridge") && !listed.text.contains(&secret), "never shown again");

    let token_id =
        app.store.list_tokens().await.unwrap().into_iter().find(|t| t.name == "warehouse bridge").unwrap().id;
    let revoked = admin.post(&format!("/admin/tokens/{token_id}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!(revoked.location(), "/admin/tokens?done=revoked");
    assert_eq!(app.get("/api/v1/tickets", &as_ben).await.status, StatusCode::UNAUTHORIZED, "refused at once");

    // A supervisor manages only their own, as the API says.
    let lead = app.agent(rapport_core::Role::Supervisor, &[]).await;
    let lead_browser = signed_in(&app, &lead).await;
    let page = lead_browser.get("/admin/tokens").await;
    assert!(!page.text.contains("warehouse bridge"), "another agent's token is not listed");
    let lead_csrf = page.csrf();
    let other = lead_browser
        .post("/admin/tokens", &[("csrf", &lead_csrf), ("label", "x"), ("agent", &ben.id.to_string())])
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(other.text.contains("id=\"token-agent-error\""));
    let foreign = lead_browser.post(&format!("/admin/tokens/{}/revoke", ben.token_id), &[("csrf", &lead_csrf)]).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/tickets", &ben).await.status, StatusCode::OK, "ben's own token untouched");

    let log = admin.get("/admin/audit?subject=token").await;
    assert!(log.text.contains("revoked") && log.text.contains("created"), "{}", log.text);
    assert!(!log.text.contains(&secret), "no secret in the log");
}

#[tokio::test]
async fn a_team_is_made_and_its_settings_and_overflow_saved_all_or_nothing_and_audited() {
    let app = spawn_app().await;
    let care = app.team("Care").await;
    let admin = signed_in(&app, &app.admin).await;
    let csrf = admin.get("/admin/teams").await.csrf();
    let taken = admin.post("/admin/teams", &[("csrf", &csrf), ("name", "Care"), ("description", "")]).await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.text.contains("id=\"team-name-error\"") && taken.text.contains("exists already"), "{}", taken.text);
    let made = admin.post("/admin/teams", &[("csrf", &csrf), ("name", "Billing"), ("description", "Invoices")]).await;
    assert!(made.location().ends_with("?done=created"), "{}", made.text);
    let path = made.location().trim_end_matches("?done=created").to_owned();
    let billing = path.rsplit('/').next().unwrap().parse::<i64>().unwrap();

    let save = |undo: &'static str, team: String, minutes: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", "Billing".to_owned()),
            ("description", "Invoices".to_owned()),
            ("owner_on_reply", "none".to_owned()),
            ("reply_undo_seconds", undo.to_owned()),
            ("overflow_team", team),
            ("overflow_after_minutes", minutes.to_owned()),
        ]
    };
    // Every error at once, beside its field; nothing changes.
    let wrong = post_owned(&admin, &path, &save("999", care.to_string(), "")).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text.contains("id=\"team-undo-error\""), "{}", wrong.text);
    assert!(wrong.text.contains("value=\"999\""), "what was typed is kept");
    let no_wait = post_owned(&admin, &path, &save("20", care.to_string(), "")).await;
    assert!(no_wait.text.contains("id=\"team-overflow-minutes-error\""), "{}", no_wait.text);
    let unchanged = app.get(&format!("/api/v1/teams/{billing}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(
        (unchanged["reply_undo_seconds"].as_i64(), unchanged["owner_on_reply"].as_str()),
        (Some(10), Some("replier"))
    );

    let saved = post_owned(&admin, &path, &save("20", care.to_string(), "45")).await;
    assert_eq!(saved.location(), format!("{path}?done=saved"), "{}", saved.text);
    let team = app.get(&format!("/api/v1/teams/{billing}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(
        (
            team["reply_undo_seconds"].as_i64(),
            team["owner_on_reply"].as_str(),
            team["overflow_team"].as_i64(),
            team["overflow_after_minutes"].as_i64()
        ),
        (Some(20), Some("none"), Some(care), Some(45))
    );
    assert!(admin.get("/admin/teams").await.text.contains("to Care after 45 min"));
    let log = admin.get("/admin/audit?subject=team").await;
    assert!(
        log.text.contains("Test admin</strong> created") && log.text.contains("Test admin</strong> changed"),
        "{}",
        log.text
    );
}

#[tokio::test]
async fn the_channels_page_shows_what_came_in_and_what_failed_and_no_secret() {
    // WhatsApp is set up, with secrets the page must never show.
    let config = rapport_server::ServerConfig {
        whatsapp: Some(rapport_server::settings::WhatsappSettings {
            app_secret: "app-secret-7f3a9c".into(),
            verify_token: "verify-token-2b8e41".into(),
            access_token: "access-token-5d0c77".into(),
            phone_number_id: "106540352242922".into(),
            api_base: "http://127.0.0.1:9".into(),
            template: None,
        }),
        ..rapport_server::ServerConfig::default()
    };
    let app = spawn_app_with(config).await;
    let lead = app.agent(rapport_core::Role::Supervisor, &[]).await;
    let lead = signed_in(&app, &lead).await;
    let empty = lead.get("/admin/channels").await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.text);
    assert!(empty.text.contains("No mailbox has been polled"), "{}", empty.text);
    assert!(empty.text.contains("href=\"/admin/channels\""), "the admin link");
    // A customer writes through the web form; a mailbox was polled; a
    // provider that is not configured was called (recorded by the webhooks' layer).
    let fields = crate::help::request_fields("ann@example.com");
    assert_eq!(app.submit(&fields).await.status, StatusCode::OK);
    app.store.record_channel_ok("email:help@desk.example", "email", now()).await.unwrap();
    let hook = app.request(reqwest::Method::POST, "/hooks/telegram", None).body("{}");
    assert_eq!(app.send(hook).await.status, StatusCode::NOT_FOUND);
    let mut page = lead.get("/admin/channels").await;
    for _ in 0..50 {
        if page.text.contains("telegram") {
            break;
        }
        // The check is recorded after the answer, by a task of its own.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        page = lead.get("/admin/channels").await;
    }
    let text = &page.text;
    assert!(text.contains("email:help@desk.example") && text.contains("Working"), "{text}");
    assert!(
        text.contains("a delivery arrived for a provider that is not configured") && text.contains("Failing"),
        "{text}"
    );
    assert!(text.contains("<td class=\"subject\">The web form</td>"), "{text}");
    assert!(text.contains("no SMTP server is configured: set email.smtp_url"), "replies wait, and why: {text}");
    assert!(text.contains("Sent through the WhatsApp Cloud API"), "WhatsApp can send: {text}");
    for secret in ["app-secret-7f3a9c", "verify-token-2b8e41", "access-token-5d0c77", "106540352242922"] {
        assert!(!text.contains(secret), "{secret} is shown: {text}");
    }
}

#[tokio::test]
async fn a_supervisor_finds_a_customer_sets_the_tier_confirms_merges_and_erases_with_confirmation() {
    let app = spawn_app().await;
    let agent = app.agent(rapport_core::Role::Agent, &[]).await;
    // Ann wrote twice, from two addresses; an agent added a third address to her first record.
    let first = app.submit(&crate::help::request_fields("ann@example.com")).await;
    let second = app.submit(&crate::help::request_fields("ann.private@example.com")).await;
    let (first, second) = (crate::help::ticket_number(&first.text), crate::help::ticket_number(&second.text));
    let customer_of = |ticket: i64| {
        let app = &app;
        async move {
            let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
            detail["customer"].as_i64().unwrap()
        }
    };
    let (ann, other) = (customer_of(first).await, customer_of(second).await);
    let added = json!({"email": "ann@work.example"});
    app.patch(&format!("/api/v1/customers/{ann}"), &agent, &added, None).await.expect(StatusCode::OK);

    let lead = app.agent(rapport_core::Role::Supervisor, &[]).await;
    let lead = signed_in(&app, &lead).await;
    let found = lead.get("/admin/customers?q=ann%40work.example").await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert!(found.text.contains(&format!("href=\"/admin/customers/{ann}\"")), "{}", found.text);
    assert!(!found.text.contains(&format!("href=\"/admin/customers/{other}\"")));
    let page = lead.get(&format!("/admin/customers/{ann}")).await;
    assert!(page.text.contains("Entered by agent") && page.text.contains("Confirm ann@work.example"), "{}", page.text);
    let csrf = page.csrf();
    let path = format!("/admin/customers/{ann}");

    // A tier the matrix does not know: beside the field, nothing changed.
    let refused = lead.post(&path, &[("csrf", &csrf), ("name", "Ann Example"), ("tier", "platinum")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text.contains("id=\"customer-tier-error\"") && refused.text.contains("platinum"),
        "{}",
        refused.text
    );
    let saved = lead.post(&path, &[("csrf", &csrf), ("name", "Ann Example"), ("tier", "premium")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let record = app.get(&format!("/api/v1/customers/{ann}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(record["tier"], "premium");

    // Confirming the address the agent entered.
    let confirmed = lead
        .post(&format!("{path}/verify"), &[("csrf", &csrf), ("kind", "email"), ("value", "ann@work.example")])
        .await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER, "{}", confirmed.text);
    let record = app.get(&format!("/api/v1/customers/{ann}"), &app.admin).await.expect(StatusCode::OK);
    let work =
        record["identities"].as_array().unwrap().iter().find(|i| i["value"] == "ann@work.example").unwrap().clone();
    assert_eq!((work["verified"].clone(), work["added_by_agent"].clone()), (json!(true), json!(null)), "{work}");

    // Merging the second record into this one: itself and a missing one are refused.
    let other_path = format!("/admin/customers/{other}");
    let into_itself = lead.post(&format!("{other_path}/merge"), &[("csrf", &csrf), ("into", &other.to_string())]).await;
    assert_eq!(into_itself.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(into_itself.text.contains("cannot be merged into itself"));
    let missing = lead.post(&format!("{other_path}/merge"), &[("csrf", &csrf), ("into", "999999")]).await;
    assert!(missing.text.contains("There is no customer #999999"), "{}", missing.text);
    let merged = lead.post(&format!("{other_path}/merge"), &[("csrf", &csrf), ("into", &ann.to_string())]).await;
    assert_eq!(merged.status, StatusCode::SEE_OTHER, "{}", merged.text);
    assert_eq!(customer_of(second).await, ann, "the ticket moved with the merge");
    assert!(lead.get(&other_path).await.text.contains(&format!("merged into <a href=\"/admin/customers/{ann}\"")));

    // Erasing needs the number typed; then the personal data is gone.
    let unconfirmed = lead.post(&format!("{path}/erase"), &[("csrf", &csrf), ("confirm", "yes")]).await;
    assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unconfirmed.text.contains(&format!("Type {ann}, this customer")), "{}", unconfirmed.text);
    let record = app.get(&format!("/api/v1/customers/{ann}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(record["name"], "Ann Example", "nothing erased");
    let erased = lead.post(&format!("{path}/erase"), &[("csrf", &csrf), ("confirm", &ann.to_string())]).await;
    assert_eq!(erased.status, StatusCode::SEE_OTHER, "{}", erased.text);
    let record = app.get(&format!("/api/v1/customers/{ann}"), &app.admin).await.expect(StatusCode::OK);
    assert!(record["identities"].as_array().unwrap().is_empty() && record["erased_at"].is_string(), "{record}");
}

#[tokio::test]
async fn a_supervisor_sets_the_escalation_plan_in_order_with_existing_teams() {
    let app = spawn_app().await;
    let lead = app.agent(rapport_core::Role::Supervisor, &[]).await;
    let lead_id = lead.id;
    let browser = signed_in(&app, &lead).await;
    let team = app.post("/api/v1/teams", &app.admin, &json!({"name": "Tier two"})).await.expect(StatusCode::CREATED);
    let team = team["id"].as_i64().unwrap().to_string();
    let page = browser.get("/admin/escalation").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains(">Tier two</option>"), "{}", page.text);
    let csrf = page.csrf();
    let lead_value = lead_id.to_string();

    // A gap between levels, or a team that does not exist: beside the level, nothing saved.
    let gap = browser.post("/admin/escalation", &[("csrf", &csrf), ("level_1", &team), ("level_3", "keep")]).await;
    assert_eq!(gap.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(gap.text.contains("id=\"level-3-error\"") && gap.text.contains("Fill the levels in order"), "{}", gap.text);
    let missing = browser.post("/admin/escalation", &[("csrf", &csrf), ("level_1", "999999")]).await;
    assert!(missing.text.contains("id=\"level-1-error\""), "{}", missing.text);
    let plan = app.get("/api/v1/escalation", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(plan, json!({"levels": [], "on_call": null}), "nothing saved");

    let fields = [("csrf", csrf.as_str()), ("level_1", &team), ("level_2", "keep"), ("on_call", &lead_value)];
    let saved = browser.post("/admin/escalation", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let plan = app.get("/api/v1/escalation", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(plan["levels"], json!([team.parse::<i64>().unwrap(), null]));
    assert_eq!(plan["on_call"], json!(lead_id));
    let matrix = browser.get("/admin/priorities").await;
    assert_eq!(matrix.status, StatusCode::OK);
    assert!(
        matrix.text.contains("premium = [&#34;normal&#34;, &#34;high&#34;, &#34;urgent&#34;, &#34;urgent&#34;]"),
        "{}",
        matrix.text
    );
    let shown = browser.get("/admin/escalation?done=saved").await;
    assert!(shown.text.contains("<option value=\"keep\" selected>"), "{}", shown.text);
}

#[tokio::test]
async fn a_supervisor_links_tickets_to_a_problem_updates_the_customers_and_solves_them_all() {
    let app = spawn_app().await;
    let mut tickets = Vec::new();
    for email in ["ops@desk.example", "ann@example.com", "bob@example.com"] {
        let filed = app.submit(&crate::help::request_fields(email)).await;
        tickets.push(crate::help::ticket_number(&filed.text));
    }
    let (problem, ann, bob) = (tickets[0], tickets[1], tickets[2]);
    let lead = app.agent(rapport_core::Role::Supervisor, &[]).await;
    let browser = signed_in(&app, &lead).await;
    let page = browser.get("/admin/problems").await;
    assert!(page.text.contains("No problem yet"), "{}", page.text);
    let csrf = page.csrf();

    // Mistakes are named beside their field, and nothing is linked.
    let words = browser.post("/admin/problems", &[("csrf", &csrf), ("problem", "x"), ("tickets", "12, twelve")]).await;
    assert_eq!(words.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(words.text.contains("id=\"problem-ticket-error\"") && words.text.contains("“twelve”"), "{}", words.text);
    let itself = format!("{problem}");
    let own = browser.post("/admin/problems", &[("csrf", &csrf), ("problem", &itself), ("tickets", &itself)]).await;
    assert_eq!(own.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", own.text);
    assert!(own.text.contains("id=\"problem-tickets-error\""), "{}", own.text);
    assert!(app.store.list_problems(10).await.unwrap().is_empty());

    let linked = format!("{ann}, #{bob}");
    let made = browser.post("/admin/problems", &[("csrf", &csrf), ("problem", &itself), ("tickets", &linked)]).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let shown = browser.get(&format!("/admin/problems/{problem}")).await;
    assert!(
        shown.text.contains(&format!("href=\"/desk/tickets/{ann}\"")) && shown.text.contains("2 linked tickets"),
        "{}",
        shown.text
    );
    // Bob was linked by mistake: unlinked, he is left out of what follows.
    let unlink = format!("/admin/problems/{problem}/tickets/{bob}/unlink");
    assert!(shown.text.contains(&format!("action=\"{unlink}\"")), "{}", shown.text);
    let unlinked = browser.post(&unlink, &[("csrf", &csrf)]).await;
    assert_eq!(unlinked.location(), format!("/admin/problems/{problem}?done=unlinked-{bob}"), "{}", unlinked.text);
    let again = browser.post(&unlink, &[("csrf", &csrf)]).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.text);
    assert!(again.text.contains(&format!("Ticket #{bob} is not linked")), "{}", again.text);
    let path = format!("/admin/problems/{problem}/update");
    let blank = browser.post(&path, &[("csrf", &csrf), ("text", " "), ("action", "update")]).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    let sent = browser.post(&path, &[("csrf", &csrf), ("text", "We found the cause."), ("action", "update")]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text);
    let location = sent.headers.get("location").unwrap().to_str().unwrap().to_owned();
    assert!(location.ends_with("done=update-1"), "{location}");
    let solved = browser.post(&path, &[("csrf", &csrf), ("text", "Fixed, sorry."), ("action", "solve")]).await;
    assert_eq!(solved.status, StatusCode::SEE_OTHER, "{}", solved.text);
    for ticket in [problem, ann] {
        let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
        assert_eq!(detail["status"], "solved", "ticket {ticket}");
    }
    let detail = app.get(&format!("/api/v1/tickets/{bob}"), &app.admin).await.expect(StatusCode::OK);
    assert_ne!(detail["status"], "solved", "the unlinked ticket is left as it was");
    let list = browser.get("/admin/problems").await;
    assert!(list.text.contains(&format!("href=\"/admin/problems/{problem}\"")), "{}", list.text);
}

#[tokio::test]
async fn a_rule_opens_on_its_own_page_is_changed_after_a_dry_run_and_deleted_each_audited() {
    let app = spawn_app().await;
    app.create_ticket(&app.admin, &ticket_body("ana@example.com")).await;
    app.settle().await;
    let admin = signed_in(&app, &app.admin).await;
    let csrf = admin.get("/admin/rules").await.csrf();
    let saved = admin.post("/admin/rules", &[("csrf", &csrf), ("action", "save"), ("source", RULE)]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let rule = app.store.list_rules().await.unwrap().remove(0).id.0;
    let path = format!("/admin/rules/{rule}");
    let list = admin.get("/admin/rules").await;
    assert!(list.text.contains(&format!("href=\"{path}\"")), "each rule opens: {}", list.text);

    // Its page holds its definition, ready to change.
    let page = admin.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains("&#34;customer_replied&#34;") && page.text.contains("Save the changes"),
        "{}",
        page.text
    );
    let changed = RULE.replace("Follow up replies", "Chase replies").replace(r#"["new", "open"]"#, r#"["pending"]"#);
    let dry = admin.post(&path, &[("csrf", &csrf), ("action", "dry_run"), ("source", &changed)]).await;
    assert!(dry.text.contains("would fire on none") && dry.text.contains("Chase replies"), "{}", dry.text);
    assert_eq!(app.store.list_rules().await.unwrap()[0].rule.name, "Follow up replies", "a dry run saves nothing");
    let broken = admin.post(&path, &[("csrf", &csrf), ("action", "save"), ("source", "{\"name\": 4}")]).await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(broken.text.contains("id=\"rule-source-error\"") && broken.text.contains(&path), "{}", broken.text);
    let saved = admin.post(&path, &[("csrf", &csrf), ("action", "save"), ("source", &changed)]).await;
    assert_eq!(saved.location(), format!("{path}?done=saved"), "{}", saved.text);
    let rules = app.store.list_rules().await.unwrap();
    assert_eq!((rules.len(), rules[0].rule.name.as_str(), rules[0].id.0), (1, "Chase replies", rule));

    let deleted = admin.post(&format!("{path}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(deleted.location(), "/admin/rules?done=deleted");
    assert!(app.store.list_rules().await.unwrap().is_empty());
    assert_eq!(admin.get(&path).await.status, StatusCode::NOT_FOUND);
    let again = admin.post(&format!("{path}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.text);
    let log = admin.get("/admin/audit?subject=rule").await;
    for line in [
        format!("deleted <a href=\"/admin/rules\">escalation rule Chase replies (#{rule})"),
        format!("changed <a href=\"{path}\">escalation rule Chase replies (#{rule})"),
        format!("created <a href=\"{path}\">escalation rule Follow up replies (#{rule})"),
    ] {
        assert!(log.text.contains(&line), "{line}: {}", log.text);
    }
}

#[tokio::test]
async fn a_policy_opens_on_its_own_page_is_changed_moved_and_deleted_each_audited() {
    let app = spawn_app().await;
    let admin = signed_in(&app, &app.admin).await;
    let csrf = admin.get("/admin/policies").await.csrf();
    let source = r#"{"name": "Chat first", "conditions": {"channels": ["chat"]},
      "targets": {"first_response": {"seconds": 120, "business_hours": false}}}"#;
    let saved = admin.post("/admin/policies", &[("csrf", &csrf), ("action", "save"), ("source", source)]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let policies = app.store.list_policies().await.unwrap();
    let stored = policies.iter().find(|stored| stored.policy.name == "Chat first").unwrap().clone();
    let path = format!("/admin/policies/{}", stored.id);
    assert!(admin.get("/admin/policies").await.text.contains(&format!("href=\"{path}\"")));

    let page = admin.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("&#34;Chat first&#34;") && page.text.contains("where it is now"), "{}", page.text);
    let position = format!("value=\"{}\"", stored.position);
    assert!(page.text.contains(&position), "its place is filled in: {}", page.text);
    let slower = source.replace("120", "300");
    let moved =
        admin.post(&path, &[("csrf", &csrf), ("action", "save"), ("position", "-5"), ("source", &slower)]).await;
    assert_eq!(moved.location(), format!("{path}?done=saved"), "{}", moved.text);
    let first = app.store.list_policies().await.unwrap().remove(0);
    assert_eq!((first.id, first.position), (stored.id, -5), "moved first");
    assert_eq!(first.policy.targets.configured().next().unwrap().1.seconds, 300);
    let bad =
        admin.post(&path, &[("csrf", &csrf), ("action", "save"), ("position", "first"), ("source", &slower)]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("id=\"policy-position-error\"") && bad.text.contains("value=\"first\""), "{}", bad.text);

    let deleted = admin.post(&format!("{path}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(deleted.location(), "/admin/policies?done=deleted");
    assert!(app.store.list_policies().await.unwrap().iter().all(|kept| kept.id != stored.id));
    assert_eq!(admin.get(&path).await.status, StatusCode::NOT_FOUND);
    let log = admin.get("/admin/audit?subject=policy").await;
    assert!(log.text.contains("deleted <a href=\"/admin/policies\">SLA policy Chat first"), "{}", log.text);
    assert!(log.text.contains(&format!("changed <a href=\"{path}\">SLA policy Chat first")), "{}", log.text);
}

#[tokio::test]
async fn a_supervisor_makes_an_organization_puts_a_customer_in_it_and_changes_its_tier_audited() {
    let app = spawn_app().await;
    let filed = app.submit(&crate::help::request_fields("ann@globex.example")).await;
    let ticket = crate::help::ticket_number(&filed.text);
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    let ann = detail["customer"].as_i64().unwrap();
    let lead = app.agent(rapport_core::Role::Supervisor, &[]).await;
    let browser = signed_in(&app, &lead).await;
    let page = browser.get("/admin/organizations").await;
    assert!(page.text.contains("No organization yet"), "{}", page.text);
    let csrf = page.csrf();

    // Bad input is named beside its field; nothing is made.
    let blank = browser.post("/admin/organizations", &[("csrf", &csrf), ("name", " "), ("tier", "platinum")]).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        blank.text.contains("id=\"organization-name-error\"") && blank.text.contains("id=\"organization-tier-error\""),
        "{}",
        blank.text
    );
    assert!(app.store.list_organizations(None, 10).await.unwrap().is_empty());
    let made = browser.post("/admin/organizations", &[("csrf", &csrf), ("name", "Globex"), ("tier", "basic")]).await;
    assert_eq!(made.location(), "/admin/organizations?done=created", "{}", made.text);
    let twice = browser.post("/admin/organizations", &[("csrf", &csrf), ("name", "Globex"), ("tier", "basic")]).await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", twice.text);
    assert!(twice.text.contains("exists already") && twice.text.contains("value=\"Globex\""), "{}", twice.text);
    let globex = app.store.list_organizations(None, 10).await.unwrap().remove(0).id.0;

    // Ann joins on her page; the organization lists her and counts her.
    let customer = browser.get(&format!("/admin/customers/{ann}")).await;
    assert!(customer.text.contains(&format!("<option value=\"{globex}\">Globex</option>")), "{}", customer.text);
    let fields = [("csrf", csrf.as_str()), ("name", "Ann"), ("tier", ""), ("organization", "999999")];
    let gone = browser.post(&format!("/admin/customers/{ann}"), &fields).await;
    assert_eq!(gone.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(gone.text.contains("id=\"customer-organization-error\""), "{}", gone.text);
    let globex_value = globex.to_string();
    let fields = [("csrf", csrf.as_str()), ("name", "Ann"), ("tier", ""), ("organization", &globex_value)];
    let joined = browser.post(&format!("/admin/customers/{ann}"), &fields).await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.text);
    let record = app.get(&format!("/api/v1/customers/{ann}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(record["organization"], json!(globex), "{record}");
    let list = browser.get("/admin/organizations").await;
    assert!(list.text.contains("<td>basic</td><td>1 customer</td>"), "{}", list.text);
    let path = format!("/admin/organizations/{globex}");
    let shown = browser.get(&path).await;
    assert!(shown.text.contains(&format!("href=\"/admin/customers/{ann}\"")), "{}", shown.text);

    // Its tier changes: Ann has none of her own, so she is premium now.
    let premium = browser.post(&path, &[("csrf", &csrf), ("name", "Globex Corp"), ("tier", "premium")]).await;
    assert_eq!(premium.location(), format!("{path}?done=saved"), "{}", premium.text);
    let org = app.get(&format!("/api/v1/organizations/{globex}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!((org["name"].clone(), org["tier"].clone()), (json!("Globex Corp"), json!("premium")));
    let log = browser.get("/admin/audit?subject=organization").await;
    assert!(log.text.contains("organization Globex Corp"), "{}", log.text);
    let entries = app
        .store
        .list_audit(rapport_store::AuditFilter {
            subject: Some("organization".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let changed = &entries[0].entry;
    assert_eq!(changed.actor, rapport_core::Actor::Agent(rapport_core::AgentId(lead.id)));
    assert_eq!(changed.old, Some(json!({"name": "Globex", "tier": "basic"})));
    assert_eq!(changed.new, Some(json!({"name": "Globex Corp", "tier": "premium"})));
}
