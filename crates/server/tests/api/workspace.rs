//! The agents' workspace over HTTP: sign-in, the session cookie, the pages,
//! a reply from the ticket page, the CSRF and origin checks, throttling, and
//! customer text escaped. (The browser journeys are in the `rapport`
//! crate's `workspace_browser` suite.)

use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use serde_json::json;

use crate::form_browser::*;
use crate::helpers::*;

async fn email_of(app: &TestApp, agent: &TestAgent) -> String {
    app.store.get_agent(rapport_core::AgentId(agent.id)).await.unwrap().email
}

#[tokio::test]
async fn an_agent_signs_in_replies_from_the_ticket_page_and_signs_out() {
    let app = spawn_app_at(rapport_server::settings::ServerConfig::default(), now()).await;
    let mut browser = Browser::new(&app);
    let front = browser.get("/").await;
    assert_eq!((front.status, front.location()), (StatusCode::SEE_OTHER, "/sign-in"));
    let sign_in = browser.get("/sign-in").await;
    assert_eq!(sign_in.status, StatusCode::OK);
    let policy = sign_in.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(sign_in.headers["x-content-type-options"], "nosniff");

    let email = email_of(&app, &app.admin).await;
    let signed_in = browser.sign_in(&email, PASSWORD).await;
    assert_eq!((signed_in.status, signed_in.location()), (StatusCode::SEE_OTHER, "/desk"), "{}", signed_in.text);
    let cookie = signed_in.headers[SET_COOKIE].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
    assert_eq!(browser.get("/").await.location(), "/desk");

    let ticket = app.create_ticket(&app.admin, &ticket_body("ana@example.com")).await;
    let id = id(&ticket);
    let queue = browser.get("/desk/all").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.text.contains(&format!("/desk/tickets/{id}")), "{}", queue.text);
    assert!(queue.text.contains("Test admin"), "the agent's name in the top bar");

    let page = browser.get(&format!("/desk/tickets/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    let sent = browser
        .post(
            &format!("/desk/tickets/{id}/reply"),
            &[
                ("csrf", &csrf),
                ("kind", "reply"),
                ("body", "We are on it, Ana."),
                ("channel", ""),
                ("status", "pending"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text);
    assert_eq!(sent.location(), format!("/desk/tickets/{id}?done=held"));
    let waiting = browser.get(&format!("/desk/tickets/{id}?done=held")).await;
    assert!(waiting.text.contains("Sending") && waiting.text.contains("in 10 s"), "{}", waiting.text);
    // Held for the undo window (10 s without a team), then filed with its status.
    let detail = app.get(&format!("/api/v1/tickets/{id}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["messages"].as_array().unwrap().len(), 1, "not filed inside the window: {detail}");
    app.clock.advance(10_000);
    messages_reach(&app, id, 2).await;
    // Read again once the reply is in: the ticket and its messages of one
    // read may straddle the release's commit.
    let detail = app.get(&format!("/api/v1/tickets/{id}"), &app.admin).await.expect(StatusCode::OK);
    let last = detail["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["text"].as_str(), last["kind"].as_str()), (Some("We are on it, Ana."), Some("reply")));
    assert_eq!(detail["status"], "pending", "filed with the status chosen, in the same transaction");
    let after = browser.get(&format!("/desk/tickets/{id}")).await;
    assert!(after.text.contains("We are on it, Ana.") && after.text.contains("queued"), "{}", after.text);
    assert!(!after.text.contains("Undo"), "gone from the undo list once sent");

    let signed_out = browser.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(signed_out.location(), "/sign-in?signed_out=1");
    let old = browser.get("/desk/mine").await;
    assert_eq!((old.status, old.location()), (StatusCode::SEE_OTHER, "/sign-in?next=%2Fdesk%2Fmine"));
}

#[tokio::test]
async fn a_form_without_the_sessions_csrf_token_or_from_another_site_is_refused_and_writes_nothing() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&email_of(&app, &app.admin).await, PASSWORD).await;
    let id = id(&app.create_ticket(&app.admin, &ticket_body("bo@example.com")).await);
    let csrf = browser.get(&format!("/desk/tickets/{id}")).await.csrf();
    let path = format!("/desk/tickets/{id}/reply");
    let zeros = "0".repeat(64);
    let attempts = [
        (vec![("kind", "reply"), ("body", "no token")], Some(browser.address.clone())),
        (vec![("csrf", zeros.as_str()), ("body", "wrong token")], Some(browser.address.clone())),
        (vec![("csrf", csrf.as_str()), ("body", "from elsewhere")], Some("https://evil.example".to_owned())),
        (vec![("csrf", csrf.as_str()), ("body", "no origin")], None),
    ];
    for (fields, origin) in attempts {
        let page = browser.post_from(&path, &fields, origin.as_deref()).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{fields:?} {origin:?}");
        assert!(page.text.contains("Reload the page") || page.text.contains("another site"), "{}", page.text);
    }
    // Another agent's session token does not fit this session either.
    let mut other = Browser::new(&app);
    let second = app.agent(rapport_core::Role::Admin, &[]).await;
    other.sign_in(&email_of(&app, &second).await, PASSWORD).await;
    let page = other.post(&path, &[("csrf", csrf.as_str()), ("body", "borrowed token")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let sign_out = browser.post_from("/sign-out", &[("csrf", csrf.as_str())], Some("https://evil.example")).await;
    assert_eq!(sign_out.status, StatusCode::FORBIDDEN);

    // Every other state-changing form of the workspace, without its token
    // or from another site, is refused the same way.
    let every_form = [
        "/sign-out".to_owned(),
        "/desk/theme".to_owned(),
        "/desk/bulk".to_owned(),
        "/desk/views".to_owned(),
        "/desk/v/1/delete".to_owned(),
        format!("/desk/tickets/{id}/held/1/undo"),
    ];
    for form in &every_form {
        let fields = [("theme", "dark"), ("action", "status:solved"), ("ticket", "1"), ("name", "x"), ("base", "all")];
        let bare = browser.post(form, &fields).await;
        assert_eq!(bare.status, StatusCode::FORBIDDEN, "{form} without a token");
        let mut with_token = fields.to_vec();
        with_token.push(("csrf", csrf.as_str()));
        let elsewhere = browser.post_from(form, &with_token, Some("https://evil.example")).await;
        assert_eq!(elsewhere.status, StatusCode::FORBIDDEN, "{form} from another site");
    }
    // Signing in is checked for its origin (there is no session to tie a token to yet).
    let email = email_of(&app, &app.admin).await;
    let login = [("email", email.as_str()), ("password", PASSWORD), ("next", "")];
    let elsewhere = browser.post_from("/sign-in", &login, Some("https://evil.example")).await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN, "a sign-in from another site");
    assert!(app.store.list_saved_views(rapport_core::AgentId(app.admin.id)).await.unwrap().is_empty());

    let detail = app.get(&format!("/api/v1/tickets/{id}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["messages"].as_array().unwrap().len(), 1, "nothing was written: {detail}");
    assert_eq!(detail["status"], "new", "nothing was changed: {detail}");
    assert_eq!(browser.get("/desk/mine").await.status, StatusCode::OK, "still signed in");
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_with_retry_after_alike_for_known_and_unknown_emails() {
    let app = spawn_app().await;
    let email = email_of(&app, &app.admin).await;
    for who in [email.as_str(), "nobody@example.com"] {
        let mut browser = Browser::new(&app);
        for _ in 0..5 {
            let page = browser.sign_in(who, "wrong password").await;
            assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{who}");
            assert!(page.text.contains("do not match an active agent"), "{}", page.text);
            assert!(page.text.contains(&format!("value=\"{who}\"")), "the form keeps the email");
        }
        let page = browser.sign_in(who, PASSWORD).await;
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{who}: even the right password waits");
        let wait: i64 = page.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&wait), "{wait}");
        assert!(page.text.contains("Too many sign-in attempts"));
        assert!(browser.cookie.is_none());
    }
    // Another account from the same address is not locked out by them.
    let second = app.agent(rapport_core::Role::Agent, &[]).await;
    let mut browser = Browser::new(&app);
    assert_eq!(browser.sign_in(&email_of(&app, &second).await, PASSWORD).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_sign_in_rotates_the_session_and_a_password_change_ends_every_session() {
    let app = spawn_app().await;
    let email = email_of(&app, &app.admin).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&email, PASSWORD).await;
    let first = browser.cookie.clone().unwrap();
    browser.sign_in(&email, PASSWORD).await;
    let second = browser.cookie.clone().unwrap();
    assert_ne!(first, second, "a new session id at every sign-in");
    let stale = Browser { cookie: Some(first), ..Browser::new(&app) };
    assert_eq!(stale.get("/desk/mine").await.status, StatusCode::SEE_OTHER, "the replaced session ended");
    assert_eq!(browser.get("/desk/mine").await.status, StatusCode::OK);

    let hash = rapport_server::http::auth::hash_password("a new long password").unwrap();
    let change = rapport_store::AgentChanges { password_hash: Some(hash), ..Default::default() };
    app.store
        .update_agent(rapport_core::AgentId(app.admin.id), change, rapport_core::Actor::System, now())
        .await
        .unwrap();
    assert_eq!(browser.get("/desk/mine").await.status, StatusCode::SEE_OTHER);
    assert_eq!(browser.sign_in(&email, PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(browser.sign_in(&email, "a new long password").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn hostile_customer_text_is_escaped_on_every_page() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&email_of(&app, &app.admin).await, PASSWORD).await;
    let body = json!({
        "subject": "<script>alert('subject')</script>",
        "channel": "email",
        "customer": {"name": "<img src=x onerror=alert(1)>", "email": "eve@example.com"},
        "body": "<svg onload=alert(2)> <a href=\"javascript:alert(3)\">click</a> &#0000060;script&#0000062;",
    });
    let id = id(&app.create_ticket(&app.admin, &body).await);
    for path in [format!("/desk/tickets/{id}"), "/desk/all".to_owned(), "/desk/unassigned".to_owned()] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        for raw in ["<script>alert", "<img src=x", "<svg onload", "href=\"javascript:", "&#0000060;script"] {
            assert!(!page.text.contains(raw), "{path} shows {raw:?} raw");
        }
        assert!(page.text.contains("&#60;script&#62;alert("), "{path}: escaped, still readable: {}", page.text);
    }
}

#[tokio::test]
async fn pages_need_a_session_and_assets_are_cached_for_a_year() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    for path in ["/desk", "/desk/mine", "/desk/tickets/1"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert!(page.location().starts_with("/sign-in"), "{path}");
    }
    let sign_in = browser.get("/sign-in").await;
    let start = sign_in.text.find("/assets/workspace-").unwrap();
    let href = &sign_in.text[start..sign_in.text[start..].find('"').unwrap() + start];
    let asset = browser.get(href).await;
    assert_eq!(asset.status, StatusCode::OK);
    assert_eq!(asset.headers["cache-control"], "public, max-age=31536000, immutable");
    assert!(asset.headers["content-type"].to_str().unwrap().starts_with("text/css"));
    assert_eq!(browser.get("/assets/workspace-000000000000.css").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_agent_who_forgot_their_password_chooses_a_new_one_through_an_emailed_link() {
    let app = spawn_app().await;
    let email = email_of(&app, &app.admin).await;
    let mut browser = Browser::new(&app);
    assert_eq!(browser.get("/sign-in/forgot").await.status, StatusCode::OK);
    let unknown = browser.post("/sign-in/forgot", &[("email", "nobody@example.com")]).await;
    let known = browser.post("/sign-in/forgot", &[("email", &email)]).await;
    assert_eq!((unknown.status, known.status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(
        unknown.text.replace("nobody@example.com", "EMAIL"),
        known.text.replace(&email, "EMAIL"),
        "the answer does not tell who has an account"
    );
    let mail = app.take_mail().await;
    assert_eq!(mail.len(), 1, "one email, to the agent: {mail:?}");
    assert_eq!(mail[0].to[0].identity.value, email);
    let secret = password_secret(&mail[0].text);

    let path = format!("/password/{secret}");
    let form = browser.get(&path).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text.contains("Choose a new password"));
    let short = browser.post(&path, &[("password", "short"), ("confirm", "short")]).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text.contains("at least 12 characters"), "{}", short.text);
    let differ = browser.post(&path, &[("password", "a brand new password"), ("confirm", "another password!")]).await;
    assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(differ.text.contains("differ"));
    let foreign = browser
        .post_from(
            &path,
            &[("password", "a brand new password"), ("confirm", "a brand new password")],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);

    let saved = browser.post(&path, &[("password", "a brand new password"), ("confirm", "a brand new password")]).await;
    assert_eq!((saved.status, saved.location()), (StatusCode::SEE_OTHER, "/sign-in?password_set=1"));
    assert_eq!(browser.get(&path).await.status, StatusCode::NOT_FOUND, "the link works once");
    assert_eq!(browser.get(&format!("/password/{}", "x".repeat(43))).await.status, StatusCode::NOT_FOUND);
    assert_eq!(browser.sign_in(&email, PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(browser.sign_in(&email, "a brand new password").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_reply_written_over_newer_activity_is_held_for_review_and_goes_on_the_second_send() {
    let app = spawn_app_at(rapport_server::settings::ServerConfig::default(), now()).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&email_of(&app, &app.admin).await, PASSWORD).await;
    let id = id(&app.create_ticket(&app.admin, &ticket_body("cy@example.com")).await);
    let page = browser.get(&format!("/desk/tickets/{id}")).await;
    let (csrf, seen) = (page.csrf(), page.hidden("seen"));

    // Meanwhile a colleague answers.
    let colleague = app.agent(rapport_core::Role::Admin, &[]).await;
    app.post(&format!("/api/v1/tickets/{id}/messages"), &colleague, &json!({"body": "Refund sent.", "public": true}))
        .await
        .expect(StatusCode::CREATED);
    let path = format!("/desk/tickets/{id}/reply");
    let mine = "I will look into it today.";
    let held = browser.post(&path, &[("csrf", &csrf), ("seen", &seen), ("kind", "reply"), ("body", mine)]).await;
    assert_eq!(held.status, StatusCode::CONFLICT);
    assert!(held.text.contains("New activity since you opened this (Test admin replied)"), "{}", held.text);
    assert!(held.text.contains("Refund sent.") && held.text.contains(mine), "the news shows and the draft is kept");
    let detail = app.get(&format!("/api/v1/tickets/{id}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["messages"].as_array().unwrap().len(), 2, "nothing was sent: {detail}");

    // An internal note is never held; a second send after the review goes out.
    let note = browser.post(&path, &[("csrf", &csrf), ("seen", &seen), ("kind", "note"), ("body", "checking")]).await;
    assert_eq!(note.status, StatusCode::SEE_OTHER);
    let seen_now = held.hidden("seen");
    let sent = browser.post(&path, &[("csrf", &csrf), ("seen", &seen_now), ("kind", "reply"), ("body", mine)]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text);
    app.clock.advance(10_000);
    messages_reach(&app, id, 4).await;
}

/// Waits (up to 10 s) for the release worker to file held replies until
/// the ticket has `count` messages; returns the ticket.
async fn messages_reach(app: &TestApp, id: i64, count: usize) -> serde_json::Value {
    for _ in 0..100 {
        let detail = app.get(&format!("/api/v1/tickets/{id}"), &app.admin).await.expect(StatusCode::OK);
        if detail["messages"].as_array().unwrap().len() >= count {
            return detail;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("ticket {id} never had {count} messages");
}

/// The id of the first held reply the page lists.
fn held_id(page: &Page) -> String {
    let start = page.text.find("/held/").expect("a held reply on the page") + 6;
    page.text[start..].split('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_reply_taken_back_in_its_window_never_goes_out_and_returns_to_the_reply_box() {
    let app = spawn_app_at(rapport_server::settings::ServerConfig::default(), now()).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&email_of(&app, &app.admin).await, PASSWORD).await;
    let id = id(&app.create_ticket(&app.admin, &ticket_body("dee@example.com")).await);
    let page = browser.get(&format!("/desk/tickets/{id}")).await;
    let csrf = page.csrf();
    let path = format!("/desk/tickets/{id}/reply");
    let oops = "Refund is impossible, sorry.";
    let fields = [("csrf", csrf.as_str()), ("kind", "reply"), ("body", oops), ("status", "solved")];
    assert_eq!(browser.post(&path, &fields).await.location(), format!("/desk/tickets/{id}?done=held"));
    let held = browser.get(&format!("/desk/tickets/{id}")).await;
    assert!(held.text.contains(oops) && held.text.contains(">Undo</button>"), "{}", held.text);

    // Another agent cannot take it back (nothing of theirs is held there).
    let undo = format!("/desk/tickets/{id}/held/{}/undo", held_id(&held));
    let taken = browser.post(&undo, &[("csrf", &csrf)]).await;
    assert_eq!(taken.status, StatusCode::OK, "{}", taken.text);
    assert!(taken.text.contains("Taken back: your reply was not sent"), "{}", taken.text);
    assert!(taken.text.contains(&format!(">{oops}</textarea>")), "the text is back in the box: {}", taken.text);
    assert!(taken.text.contains(r#"<option value="solved" selected>"#), "and the status chosen");
    app.clock.advance(60_000);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let detail = app.get(&format!("/api/v1/tickets/{id}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["messages"].as_array().unwrap().len(), 1, "never filed: {detail}");
    assert_ne!(detail["status"], "solved");
    let queued: i64 = app.store.count_outbox().await.unwrap().iter().map(|(_, count)| count).sum();
    assert_eq!(queued, 0, "nothing reached the outbox");

    // Sent again, it goes when the window ends; then it is too late to take back.
    let fields = [("csrf", csrf.as_str()), ("kind", "reply"), ("body", "Refund sent today.")];
    browser.post(&path, &fields).await;
    let page = browser.get(&format!("/desk/tickets/{id}")).await;
    let undo = format!("/desk/tickets/{id}/held/{}/undo", held_id(&page));
    app.clock.advance(10_000);
    messages_reach(&app, id, 2).await;
    let late = browser.post(&undo, &[("csrf", &csrf)]).await;
    assert_eq!(late.location(), format!("/desk/tickets/{id}?done=too-late"));
    assert!(browser.get(late.location()).await.text.contains("Too late to take it back"));
}

#[tokio::test]
async fn notes_and_replies_of_a_team_without_an_undo_window_go_at_once() {
    let app = spawn_app_at(rapport_server::settings::ServerConfig::default(), now()).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&email_of(&app, &app.admin).await, PASSWORD).await;
    let team = app.post("/api/v1/teams", &app.admin, &json!({"name": "Instant"})).await.expect(StatusCode::CREATED);
    assert_eq!(team["reply_undo_seconds"], 10, "a new team's window");
    let team_id = team["id"].as_i64().unwrap();
    let bad =
        app.patch(&format!("/api/v1/teams/{team_id}"), &app.admin, &json!({"reply_undo_seconds": 500}), None).await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("reply_undo_seconds"));
    assert!(bad.text.contains("from 0 to 120"), "{}", bad.text);
    let none = json!({"reply_undo_seconds": 0});
    let patched = app.patch(&format!("/api/v1/teams/{team_id}"), &app.admin, &none, None).await.expect(StatusCode::OK);
    assert_eq!(patched["reply_undo_seconds"], 0);

    let mut body = ticket_body("eve@example.com");
    body["team"] = json!(team_id);
    let id = id(&app.create_ticket(&app.admin, &body).await);
    let csrf = browser.get(&format!("/desk/tickets/{id}")).await.csrf();
    let path = format!("/desk/tickets/{id}/reply");
    let note = browser.post(&path, &[("csrf", &csrf), ("kind", "note"), ("body", "checked the invoice")]).await;
    assert_eq!(note.location(), format!("/desk/tickets/{id}?done=note"));
    let sent = browser.post(&path, &[("csrf", &csrf), ("kind", "reply"), ("body", "Done.")]).await;
    assert_eq!(sent.location(), format!("/desk/tickets/{id}?done=reply"));
    let detail = app.get(&format!("/api/v1/tickets/{id}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["messages"].as_array().unwrap().len(), 3, "filed at once: {detail}");
}

#[tokio::test]
async fn search_finds_tickets_by_message_words_with_the_matches_marked() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&email_of(&app, &app.admin).await, PASSWORD).await;
    let mut body = ticket_body("dee@example.com");
    body["body"] = json!("The <b>zephyrine</b> invoice is wrong");
    let id = id(&app.create_ticket(&app.admin, &body).await);
    let found = browser.get("/desk/search?q=zephyrine").await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.text.contains(&format!("/desk/tickets/{id}#m")), "{}", found.text);
    assert!(found.text.contains("<mark>zephyrine</mark>"), "{}", found.text);
    assert!(!found.text.contains("<b>zephyrine"), "customer HTML stays text");
    assert!(found.text.contains("value=\"zephyrine\""), "the box keeps the words");
    let none = browser.get("/desk/search?q=nothingmatchesthis").await;
    assert!(none.text.contains("Nothing matches every word"));
    let long = browser.get(&format!("/desk/search?q={}", "a".repeat(201))).await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
}

fn as_pairs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(key, value)| (*key, value.as_str())).collect()
}

#[tokio::test]
async fn bulk_actions_change_each_selected_ticket_and_name_the_ones_they_could_not() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&email_of(&app, &app.admin).await, PASSWORD).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(id(&app.create_ticket(&app.admin, &ticket_body(&format!("bulk{n}@example.com"))).await).to_string());
    }
    let queue = browser.get("/desk/unassigned").await;
    let csrf = queue.csrf();
    assert!(queue.text.contains("name=\"ticket\""), "rows have boxes");
    let post = |action: &'static str, extra: Vec<(&'static str, String)>| {
        let mut fields: Vec<(&str, String)> =
            vec![("csrf", csrf.clone()), ("back", "/desk/all?".into()), ("action", action.into())];
        fields.extend(ids.iter().map(|id| ("ticket", id.clone())));
        fields.extend(extra);
        fields
    };

    let assign = post("assign:me", vec![]);
    let done = browser.post("/desk/bulk", &as_pairs(&assign)).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(done.location().starts_with("/desk/all?bulk_changed=3"), "{}", done.location());
    let after = browser.get(done.location()).await;
    assert!(after.text.contains("3 tickets changed."), "{}", after.text);
    let mine = app.get("/api/v1/tickets?owner=me", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(mine["tickets"].as_array().unwrap().len(), 3);

    let tag = post("tag:", vec![("tag", "Refund".into())]);
    browser.post("/desk/bulk", &as_pairs(&tag)).await;
    let tagged = app.get("/api/v1/tickets?tag=refund", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(tagged["tickets"].as_array().unwrap().len(), 3);

    // Merging tickets of different customers is refused per ticket, with the API's reason.
    let merge = post("merge:", vec![]);
    let refused = browser.post("/desk/bulk", &as_pairs(&merge)).await;
    let page = browser.get(refused.location()).await;
    assert!(page.text.contains("0 tickets changed. Not changed:"), "{}", page.text);
    let nothing = browser
        .post("/desk/bulk", &[("csrf", csrf.as_str()), ("action", "status:solved"), ("back", "/desk/all")])
        .await;
    assert!(browser.get(nothing.location()).await.text.contains("select tickets first"));
    let solved = post("status:solved", vec![]);
    browser.post("/desk/bulk", &as_pairs(&solved)).await;
    let open = app.get("/api/v1/tickets?status=new,open", &app.admin).await.expect(StatusCode::OK);
    assert!(open["tickets"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_saved_view_keeps_its_filters_stays_live_and_only_leads_share_it() {
    let app = spawn_app().await;
    let lead = Browser::new(&app);
    let mut lead = lead;
    lead.sign_in(&email_of(&app, &app.admin).await, PASSWORD).await;
    let mut vip = ticket_body("vip@example.com");
    vip["tags"] = json!(["vip"]);
    app.create_ticket(&app.admin, &vip).await;
    app.create_ticket(&app.admin, &ticket_body("plain@example.com")).await;

    let csrf = lead.get("/desk/all?tag=vip").await.csrf();
    let saved = lead
        .post(
            "/desk/views",
            &[
                ("csrf", &csrf),
                ("base", "all"),
                ("filters", "tag=vip&status=unsolved"),
                ("name", "VIP"),
                ("share", "1"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let path = saved.location().to_owned();
    let page = lead.get(&path).await;
    assert!(page.text.contains("<h1>VIP</h1>"), "{}", page.text);
    assert_eq!(page.text.matches("/desk/tickets/").count() / 2, 1, "one VIP ticket");
    assert!(page.text.contains("(shared)"), "listed as shared in the views");

    // Live: a new VIP ticket is counted and listed without saving again.
    app.create_ticket(&app.admin, &vip).await;
    let page = lead.get(&path).await;
    assert_eq!(page.text.matches("/desk/tickets/").count() / 2, 2);

    // An agent sees the shared view, may not share or remove it, and may save their own.
    let agent = app.agent(rapport_core::Role::Agent, &[]).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&email_of(&app, &agent).await, PASSWORD).await;
    let desk = browser.get("/desk/all").await;
    assert!(desk.text.contains(&format!("href=\"{path}\"")), "the shared view is listed");
    let csrf = desk.csrf();
    let share = browser
        .post("/desk/views", &[("csrf", &csrf), ("base", "all"), ("filters", ""), ("name", "Mine"), ("share", "1")])
        .await;
    assert_eq!(share.status, StatusCode::FORBIDDEN);
    let remove = browser.post(&format!("{path}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(remove.status, StatusCode::NOT_FOUND);
    let unnamed =
        browser.post("/desk/views", &[("csrf", &csrf), ("base", "all"), ("filters", ""), ("name", " ")]).await;
    assert_eq!(unnamed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = browser
        .post("/desk/views", &[("csrf", &csrf), ("base", "all"), ("filters", "status=done"), ("name", "x")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let own = browser
        .post("/desk/views", &[("csrf", &csrf), ("base", "unassigned"), ("filters", ""), ("name", "Mine")])
        .await;
    assert_eq!(own.status, StatusCode::SEE_OTHER);
    assert!(
        !lead.get("/desk/all").await.text.contains(&format!("href=\"{}\"", own.location())),
        "an own view is private"
    );

    let removed = lead.post(&format!("{path}/delete"), &[("csrf", &csrf_of(&lead).await)]).await;
    assert_eq!((removed.status, removed.location()), (StatusCode::SEE_OTHER, "/desk"));
    assert_eq!(lead.get(&path).await.status, StatusCode::NOT_FOUND);
}

async fn csrf_of(browser: &Browser) -> String {
    browser.get("/desk/all").await.csrf()
}

/// Opens the chat console's socket with `cookie` from `origin`.
async fn console_socket(
    app: &TestApp,
    cookie: Option<&str>,
    origin: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    reqwest::StatusCode,
> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("{}/desk/chat/live", app.address.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("origin", origin.parse().unwrap());
    if let Some(cookie) = cookie {
        request.headers_mut().insert("cookie", cookie.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(reqwest::StatusCode::from_u16(response.status().as_u16()).unwrap())
        }
        Err(other) => panic!("connecting the chat console: {other}"),
    }
}

#[tokio::test]
async fn the_chat_console_joins_the_chat_desk_by_session_from_our_pages_only_and_ends_with_the_session() {
    use futures_util::StreamExt;
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&email_of(&app, &app.admin).await, PASSWORD).await;
    let page = browser.get("/desk/chat").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("<h1>Live chat</h1>") && page.text.contains("/assets/console-"), "{}", page.text);
    let cookie = browser.cookie.clone().unwrap();

    assert_eq!(console_socket(&app, Some(&cookie), "https://evil.example").await.err(), Some(StatusCode::FORBIDDEN));
    assert_eq!(console_socket(&app, None, &app.address).await.err(), Some(StatusCode::SEE_OTHER));
    let mut socket = console_socket(&app, Some(&cookie), &app.address).await.expect("the console connects");
    let welcome = socket.next().await.unwrap().unwrap().into_text().unwrap();
    let welcome: serde_json::Value = serde_json::from_str(&welcome).unwrap();
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["agent"], app.admin.id);

    // Signing out ends the session; the console's socket closes with it.
    browser.post("/sign-out", &[("csrf", &page.csrf())]).await;
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(Ok(frame)) = socket.next().await {
            if frame.is_close() {
                break;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the socket closes once the session is over");
}

#[tokio::test]
async fn queues_filter_by_owner_tier_and_customer() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&email_of(&app, &app.admin).await, PASSWORD).await;
    let mine = id(&app.create_ticket(&app.admin, &ticket_body("fay@example.com")).await);
    let theirs = id(&app.create_ticket(&app.admin, &ticket_body("gus@example.com")).await);
    app.patch(&format!("/api/v1/tickets/{mine}"), &app.admin, &json!({"owner": "me"}), None)
        .await
        .expect(StatusCode::OK);
    let shows = |page: &Page, id: i64| page.text.contains(&format!("href=\"/desk/tickets/{id}\""));

    let owned = browser.get("/desk/all?owner=me").await;
    assert!(shows(&owned, mine) && !shows(&owned, theirs), "{}", owned.text);
    let nobody = browser.get("/desk/all?owner=none").await;
    assert!(!shows(&nobody, mine) && shows(&nobody, theirs));
    let by_address = browser.get("/desk/all?customer=GUS%40example.com").await;
    assert!(!shows(&by_address, mine) && shows(&by_address, theirs), "addresses match as stored");
    let detail = app.get(&format!("/api/v1/tickets/{mine}"), &app.admin).await.expect(StatusCode::OK);
    let customer = detail["customer"].as_i64().expect("the customer");
    let by_id = browser.get(&format!("/desk/all?customer=%23{customer}")).await;
    assert!(shows(&by_id, mine) && !shows(&by_id, theirs));
    assert!(by_id.text.contains(&format!("value=\"#{customer}\"")), "the filter stays in its field");

    let premium = browser.get("/desk/all?tier=premium").await;
    assert!(!shows(&premium, mine) && !shows(&premium, theirs));
    let basic = browser.get("/desk/all?tier=basic").await;
    assert!(shows(&basic, mine) && shows(&basic, theirs));
    let api = app.get("/api/v1/tickets?tier=premium", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(api["tickets"].as_array().unwrap().len(), 0, "the API filters the same way");

    let unknown = browser.get("/desk/all?customer=nobody%40example.com").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.text.contains("No customer has this address"), "{}", unknown.text);
    let bad_owner = browser.get("/desk/all?owner=someone").await;
    assert_eq!(bad_owner.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn from_the_ticket_page_an_agent_assigns_merges_splits_and_downloads_files() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&email_of(&app, &app.admin).await, PASSWORD).await;
    let first = id(&app.create_ticket(&app.admin, &ticket_body("hal@example.com")).await);
    let second = id(&app.create_ticket(&app.admin, &ticket_body("hal@example.com")).await);
    let stranger = id(&app.create_ticket(&app.admin, &ticket_body("ivy@example.com")).await);
    let page = browser.get(&format!("/desk/tickets/{second}")).await;
    let csrf = page.csrf();
    assert!(page.text.contains(&format!("<option value=\"{first}\">#{first} ")), "a merge target: {}", page.text);
    assert!(!page.text.contains(&format!("<option value=\"{stranger}\">")), "only the customer's own tickets");

    // Assign to oneself.
    let assigned = browser.post(&format!("/desk/tickets/{second}/assign"), &[("csrf", &csrf), ("owner", "me")]).await;
    assert_eq!(assigned.location(), format!("/desk/tickets/{second}?done=assigned"));
    let detail = app.get(&format!("/api/v1/tickets/{second}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["owner"], app.admin.id);

    // Merging into another customer's ticket is refused in the API's words, on the page.
    let refused = browser
        .post(&format!("/desk/tickets/{second}/merge"), &[("csrf", &csrf), ("into", &stranger.to_string())])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert!(refused.text.contains("id=\"action-error\""), "{}", refused.text);

    // Merged into the first: this one closes and the survivor opens.
    let merged =
        browser.post(&format!("/desk/tickets/{second}/merge"), &[("csrf", &csrf), ("into", &first.to_string())]).await;
    assert_eq!(merged.location(), format!("/desk/tickets/{first}?done=merged&from={second}"));
    let detail = app.get(&format!("/api/v1/tickets/{second}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["status"], "closed");
    let survivor = browser.get(merged.location()).await;
    assert!(survivor.text.contains(&format!("Ticket #{second} is merged into this one")), "{}", survivor.text);

    // A customer's message splits out into a new ticket.
    let detail = app.get(&format!("/api/v1/tickets/{first}"), &app.admin).await.expect(StatusCode::OK);
    let message = detail["messages"][0]["id"].as_i64().unwrap();
    let split = browser.post(&format!("/desk/tickets/{first}/messages/{message}/split"), &[("csrf", &csrf)]).await;
    assert_eq!(split.status, StatusCode::SEE_OTHER, "{}", split.text);
    let new: i64 = split.location().trim_start_matches("/desk/tickets/").split('?').next().unwrap().parse().unwrap();
    assert!(new > stranger && split.location().ends_with(&format!("from={first}")));
    assert!(browser.get(split.location()).await.text.contains(&format!("split from #{first}")));

    // A file on a message downloads through the session, as an attachment.
    let file = rapport_store::NewAttachment {
        filename: "invoice.pdf".into(),
        content_type: "application/pdf".into(),
        content: b"%PDF-1.4 workspace".to_vec(),
    };
    let note = rapport_store::NewMessage {
        kind: rapport_core::MessageKind::Note,
        author: rapport_core::Author::Agent(rapport_core::AgentId(app.admin.id)),
        text: "the invoice".into(),
        html: None,
        attachments: vec![file],
        origin: Default::default(),
        now: now(),
    };
    let (_, stored) = app.store.add_message(rapport_core::TicketId(new), None, note).await.unwrap();
    let link = format!("/desk/tickets/{new}/messages/{}/attachments/0", stored.id.0);
    assert!(browser.get(&format!("/desk/tickets/{new}")).await.text.contains(&link), "the file is a link");
    let download = browser.get(&link).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.text, "%PDF-1.4 workspace");
    assert!(download.headers["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let signed_out = Browser::new(&app).get(&link).await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER, "only with a session");
}

/// A `multipart/form-data` body of text fields and one file part.
fn multipart_form(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "rapport-workspace-boundary";
    let mut body: Vec<u8> = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    if let Some((filename, content)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{filename}\"\r\n\
                 Content-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn the_reply_box_sends_files_held_to_the_upload_limits() {
    let config = rapport_server::settings::ServerConfig::default();
    let per_file = config.mail.max_attachment_bytes;
    let app = spawn_app_at(config, now()).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&email_of(&app, &app.admin).await, PASSWORD).await;
    let id = id(&app.create_ticket(&app.admin, &ticket_body("jo@example.com")).await);
    let page = browser.get(&format!("/desk/tickets/{id}")).await;
    assert!(page.text.contains("enctype=\"multipart/form-data\"") && page.text.contains("name=\"files\""));
    let csrf = page.csrf();
    let post = |content_type: String, body: Vec<u8>| {
        let request = browser
            .client
            .post(format!("{}/desk/tickets/{id}/reply", browser.address))
            .header("content-type", content_type)
            .header("origin", browser.address.clone())
            .header("cookie", browser.cookie.clone().unwrap())
            .body(body);
        read(request)
    };
    let fields = [("csrf", csrf.as_str()), ("kind", "reply"), ("body", "Your invoice is attached.")];
    let (content_type, body) = multipart_form(&fields, Some(("invoice.pdf", b"%PDF-1.4 reply")));
    let sent = post(content_type, body).await;
    assert_eq!(sent.location(), format!("/desk/tickets/{id}?done=held"), "{}", sent.text);
    assert!(browser.get(&format!("/desk/tickets/{id}")).await.text.contains("(files: invoice.pdf)"));
    app.clock.advance(10_000);
    let detail = messages_reach(&app, id, 2).await;
    let reply = &detail["messages"][1];
    assert_eq!(reply["attachments"][0]["filename"], "invoice.pdf", "{detail}");

    // Too large: refused with the limit named, nothing sent.
    let big = vec![b'x'; per_file + 1];
    let (content_type, body) = multipart_form(&fields, Some(("huge.pdf", &big)));
    let refused = post(content_type, body).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        refused.text.contains("huge.pdf") && refused.text.contains("email.max_attachment_bytes"),
        "{}",
        refused.text
    );
    // Without the session's token, a multipart form is refused like any other.
    let (content_type, body) = multipart_form(&[("kind", "reply"), ("body", "no token")], None);
    assert_eq!(post(content_type, body).await.status, StatusCode::FORBIDDEN);
    app.clock.advance(60_000);
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let detail = app.get(&format!("/api/v1/tickets/{id}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["messages"].as_array().unwrap().len(), 2, "nothing more was sent: {detail}");
}
