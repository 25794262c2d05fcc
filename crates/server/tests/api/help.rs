//! The public help pages: the web form and its spam protection, magic links,
//! the signed-in ticket pages, and verified identities (issue 3).

use rapport_core::outbox::OutboundPayload;
use rapport_core::time::DAY;
use rapport_core::{Identity, Timestamp};
use rapport_server::ServerConfig;
use rapport_server::settings::PortalSettings;
use rapport_store::{MagicLink, SendOutcome};
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, RETRY_AFTER, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Reply, TestApp, id, now, spawn_app, spawn_app_with, ticket_body};

pub(crate) const BOUNDARY: &str = "rapport-test-boundary-7d1f";

/// A `multipart/form-data` body, as a browser sends the form.
pub(crate) fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    for (filename, content) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"{filename}\"\r\n\
                 Content-Type: text/plain\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// The fields of a good request from `email`.
pub(crate) fn request_fields(email: &str) -> Vec<(&'static str, String)> {
    vec![
        ("name", "Ann Example".to_owned()),
        ("email", email.to_owned()),
        ("subject", "Invoice missing".to_owned()),
        ("message", "Hello,\nI did not get my invoice for March.".to_owned()),
        ("website", String::new()),
    ]
}

pub(crate) fn as_refs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(name, value)| (*name, value.as_str())).collect()
}

impl TestApp {
    /// Posts a multipart form to `path` as a browser does from our pages: with
    /// the CSRF token and cookie a help page gave it (and the session cookie
    /// when given). Redirects are not followed.
    pub(crate) async fn post_form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &[u8])],
        cookie: Option<&str>,
    ) -> Reply {
        let (token, cookies) = self.form_token(cookie).await;
        let mut fields = fields.to_vec();
        fields.push(("csrf", &token));
        self.post_form_as(path, &fields, files, Some(&cookies)).await
    }

    /// The CSRF token of the help pages' forms for a browser with `cookie`,
    /// and the cookies it holds afterwards (a form cookie is set when it has no session).
    pub(crate) async fn form_token(&self, cookie: Option<&str>) -> (String, String) {
        let page = self.page("/help/new", cookie).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let mut cookies: Vec<String> = cookie.into_iter().map(str::to_owned).collect();
        for set in page.headers.get_all(SET_COOKIE) {
            cookies.push(set.to_str().unwrap().split(';').next().unwrap().to_owned());
        }
        (csrf_token(&page.text), cookies.join("; "))
    }

    /// Posts exactly these fields with exactly this cookie: no token is added.
    pub(crate) async fn post_form_as(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &[u8])],
        cookie: Option<&str>,
    ) -> Reply {
        rapport_channels::http::install_crypto_provider();
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let mut builder = client
            .post(format!("{}{path}", self.address))
            .header(CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(multipart(fields, files));
        if let Some(cookie) = cookie {
            builder = builder.header(COOKIE, cookie);
        }
        self.send(builder).await
    }

    /// Posts the help form.
    pub(crate) async fn submit(&self, fields: &[(&'static str, String)]) -> Reply {
        self.post_form("/help/new", &as_refs(fields), &[], None).await
    }

    /// `GET path` without a token, with a session cookie when given.
    pub(crate) async fn page(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut builder = self.request(Method::GET, path, None);
        if let Some(cookie) = cookie {
            builder = builder.header(COOKIE, cookie);
        }
        self.send(builder).await
    }

    /// The payloads of the mail queued since the last call, oldest first; they
    /// count as sent afterwards (no SMTP server runs in these tests).
    pub(crate) async fn take_mail(&self) -> Vec<OutboundPayload> {
        let items = self.store.claim_outbox(now().plus_millis(DAY), 60_000, 100).await.unwrap();
        for item in &items {
            self.store.finish_outbox(item.id, SendOutcome::Sent, now()).await.unwrap();
        }
        items.into_iter().map(|item| item.payload).collect()
    }
}

/// The CSRF token in a help page's form.
pub(crate) fn csrf_token(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).unwrap_or_else(|| panic!("no CSRF token in {page}")) + marker.len();
    page[start..].chars().take_while(char::is_ascii_hexdigit).collect()
}

/// The ticket number in a thank-you page.
pub(crate) fn ticket_number(page: &str) -> i64 {
    let start = page.find("ticket #").unwrap_or_else(|| panic!("no ticket number in {page}")) + "ticket #".len();
    page[start..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
}

/// The secret of the `/help/t/` link in a text.
pub(crate) fn link_secret(text: &str) -> String {
    let start = text.find("/help/t/").unwrap_or_else(|| panic!("no link in {text}")) + "/help/t/".len();
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

/// The `name=value` of the session cookie a response sets.
pub(crate) fn session_cookie(reply: &Reply) -> String {
    let cookie = reply.headers.get(SET_COOKIE).and_then(|value| value.to_str().ok()).expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/help"),
        "{cookie}"
    );
    cookie.split(';').next().unwrap().to_owned()
}

async fn customer_of(app: &TestApp, ticket: i64) -> Value {
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    let customer = detail["customer"].as_i64().unwrap();
    app.get(&format!("/api/v1/customers/{customer}"), &app.admin).await.expect(StatusCode::OK)
}

#[tokio::test]
async fn issue_14_the_address_serve_prints_answers_a_page_that_says_where_to_go() {
    let app = spawn_app().await;
    let reply = app.page("/", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let content_type = reply.headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let csp = reply.headers.get("content-security-policy").and_then(|value| value.to_str().ok()).unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    // Issue 17: it is the workspace's sign-in page now, with the way to the customers' help pages.
    for link in ["action=\"/sign-in\"", "href=\"/help/new\"", "href=\"/sign-in/forgot\""] {
        assert!(reply.text.contains(link), "{link}: {}", reply.text);
    }
}

#[tokio::test]
async fn the_form_renders_with_a_hidden_honeypot() {
    let app = spawn_app().await;
    let reply = app.page("/help/new", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let content_type = reply.headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let csp = reply.headers.get("content-security-policy").and_then(|value| value.to_str().ok()).unwrap_or_default();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let page = &reply.text;
    for field in ["name", "email", "subject", "message", "attachments"] {
        assert!(page.contains(&format!("<label for=\"{field}\"")), "a label for {field}: {page}");
    }
    assert!(page.contains("enctype=\"multipart/form-data\""));
    assert!(page.contains("class=\"hp\" aria-hidden=\"true\""));
    assert!(page.contains("name=\"website\" value=\"\" autocomplete=\"off\" tabindex=\"-1\""));
    assert!(!page.contains("<script"), "no JavaScript");
}

#[tokio::test]
async fn a_submission_opens_a_web_ticket_and_emails_a_link() {
    let app = spawn_app().await;
    let fields = request_fields("Ann@Example.com");
    let reply = app.post_form("/help/new", &as_refs(&fields), &[("receipt.txt", b"order 42")], None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let number = ticket_number(&reply.text);
    assert!(reply.text.contains("ann@example.com"));

    let detail = app.get(&format!("/api/v1/tickets/{number}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["channel"], "web");
    assert_eq!(detail["subject"], "Invoice missing");
    let messages = detail["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "the message and the acknowledgment: {detail}");
    assert_eq!(messages[0]["kind"], "inbound");
    assert_eq!(messages[0]["text"], "Hello,\nI did not get my invoice for March.");
    assert_eq!(messages[0]["attachments"][0]["filename"], "receipt.txt");
    assert_eq!(messages[0]["attachments"][0]["size"], 8);
    assert_eq!(messages[1]["kind"], "reply");
    assert_eq!(messages[1]["delivery"], "queued");
    let kept = messages[1]["text"].as_str().unwrap();
    assert!(kept.contains(&format!("#{number}")) && !kept.contains("/help/t/"), "no working link is stored: {kept}");

    let mail = app.take_mail().await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to[0].identity.value, "ann@example.com");
    assert!(mail[0].subject.contains(&format!("[#{number}]")));
    assert!(mail[0].text.contains(&format!("#{number}")), "{}", mail[0].text);
    assert!(mail[0].text.contains("http://127.0.0.1:8080/help/t/"), "{}", mail[0].text);
    assert_eq!(link_secret(&mail[0].text).len(), 43);
    // Anyone may type anyone's address: the mail carries nothing they typed (issue 15).
    for typed in ["Ann Example", "Invoice missing", "March"] {
        assert!(!mail[0].text.contains(typed) && !mail[0].subject.contains(typed), "{typed} echoed: {:?}", mail[0]);
    }
    assert_eq!(mail[0].to[0].name, None);

    let customer = customer_of(&app, number).await;
    assert_eq!(customer["name"], "Ann Example");
    let identities = json!([{"kind": "email", "value": "ann@example.com", "verified": false, "added_by_agent": null}]);
    assert_eq!(customer["identities"], identities);
}

#[tokio::test]
async fn a_resubmitted_form_is_filed_once() {
    let app = spawn_app().await;
    let mut fields = request_fields("ann@example.com");
    fields.push(("submission", "0123456789abcdef0123456789abcdef".to_owned()));
    let first = ticket_number(&app.submit(&fields).await.text);
    let again = app.submit(&fields).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(ticket_number(&again.text), first);
    assert_eq!(app.store.count_tickets().await.unwrap(), 1);
}

/// A configuration with an SMTP server: the page may say mail is on its way.
/// (Nothing listens there; these tests read the pages, not the mail.)
fn with_smtp() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.mail.smtp_url = Some("smtp://127.0.0.1:9".into());
    config
}

#[tokio::test]
async fn issue_14_the_thank_you_page_never_claims_a_mail_was_sent() {
    let queued_only = spawn_app().await;
    let reply = queued_only.submit(&request_fields("ann@example.com")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let number = ticket_number(&reply.text);
    assert!(!reply.text.contains("We have emailed") && !reply.text.contains("sending"), "{}", reply.text);
    assert!(reply.text.contains("We cannot send email at the moment"), "{}", reply.text);
    assert!(reply.text.contains(&format!("ticket #{number}")) && reply.text.contains("Please keep this number"));
    assert!(reply.text.contains("will reach ann@example.com later"), "{}", reply.text);

    let sending = spawn_app_with(with_smtp()).await;
    let reply = sending.submit(&request_fields("ann@example.com")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(!reply.text.contains("We have emailed") && !reply.text.contains("cannot send"), "{}", reply.text);
    assert!(
        reply.text.contains("We are sending ann@example.com a confirmation"),
        "a send that is queued is described as under way: {}",
        reply.text
    );
}

#[tokio::test]
async fn issue_14_the_link_request_page_never_claims_a_mail_was_sent() {
    for (config, expected) in [
        (ServerConfig::default(), "we will send a link to it. We cannot send email at the moment"),
        (with_smtp(), "we are sending a link to it; it should arrive within a few minutes"),
    ] {
        let app = spawn_app_with(config).await;
        let reply = app.post_form("/help/link", &[("email", "ann@example.com")], &[], None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert!(!reply.text.contains("we have sent"), "{}", reply.text);
        assert!(reply.text.contains(expected), "{}", reply.text);
    }
}

#[tokio::test]
async fn the_honeypot_stores_nothing() {
    let app = spawn_app().await;
    let mut fields = request_fields("bot@example.com");
    fields.retain(|(name, _)| *name != "website");
    fields.push(("website", "http://cheap-pills.example".to_owned()));
    let reply = app.submit(&fields).await;
    assert_eq!(reply.status, StatusCode::OK, "the bot is told all went well");
    assert!(reply.text.contains("Thank you") && !reply.text.contains("ticket #"));
    assert_eq!(app.store.count_tickets().await.unwrap(), 0);
    assert!(app.store.count_outbox().await.unwrap().is_empty());
    let customers = app.get("/api/v1/customers", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(customers["customers"], json!([]));
}

#[tokio::test]
async fn bad_fields_are_named_next_to_the_field_and_input_is_kept() {
    let config = ServerConfig {
        mail: rapport_server::settings::MailSettings { max_attachment_bytes: 1024, ..Default::default() },
        ..ServerConfig::default()
    };
    let app = spawn_app_with(config).await;
    let fields = vec![
        ("name", "Ann <b>Example</b>".to_owned()),
        ("email", "ann-at-example".to_owned()),
        ("subject", String::new()),
        ("message", "Still here".to_owned()),
    ];
    let reply = app.submit(&fields).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = &reply.text;
    assert!(page.contains("id=\"email-error\"") && page.contains("id=\"subject-error\""), "{page}");
    assert!(!page.contains("id=\"name-error\"") && !page.contains("id=\"message-error\""));
    assert!(page.contains("aria-describedby=\"email-error\""));
    assert!(page.contains("value=\"Ann &lt;b&gt;Example&lt;/b&gt;\""), "input kept, escaped: {page}");
    assert!(page.contains("value=\"ann-at-example\"") && page.contains(">Still here</textarea>"));

    let reply = app.submit(&request_fields("support@rapport.example")).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "our own address would mail ourselves");
    assert!(reply.text.contains("id=\"email-error\""));

    let fields = request_fields("ann@example.com");
    let big = vec![b'x'; 2000];
    let reply = app.post_form("/help/new", &as_refs(&fields), &[("big.txt", &big)], None).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.text.contains("id=\"attachments-error\""), "{}", reply.text);

    let huge = vec![b'x'; 1024 * 1024];
    let reply = app.post_form("/help/new", &as_refs(&fields), &[("huge.txt", &huge)], None).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "the whole body is limited too");
    assert_eq!(app.store.count_tickets().await.unwrap(), 0);
}

#[tokio::test]
async fn rate_limits_apply_per_address_and_per_client() {
    let config = ServerConfig {
        portal: PortalSettings { limit_per_address: 2, limit_per_ip: 4, ..PortalSettings::default() },
        ..ServerConfig::default()
    };
    let app = spawn_app_with(config).await;
    for _ in 0..2 {
        assert_eq!(app.submit(&request_fields("ann@example.com")).await.status, StatusCode::OK);
    }
    let refused = app.submit(&request_fields("ann@example.com")).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "a third from one address");
    assert!(refused.text.contains("try again after"), "{}", refused.text);
    let wait: i64 = refused.headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()).unwrap().parse().unwrap();
    assert!((1..=3600).contains(&wait));

    assert_eq!(app.submit(&request_fields("bob@example.com")).await.status, StatusCode::OK, "another address");
    let refused = app.submit(&request_fields("carol@example.com")).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "a fifth from one client address");
    assert_eq!(app.store.count_tickets().await.unwrap(), 3);
}

#[tokio::test]
async fn following_the_link_verifies_the_identity_and_shows_the_ticket_without_notes() {
    let app = spawn_app().await;
    let number = ticket_number(&app.submit(&request_fields("ann@example.com")).await.text);
    let messages = format!("/api/v1/tickets/{number}/messages");
    app.post(&messages, &app.admin, &json!({"body": "Customer seems annoyed; check billing", "public": false}))
        .await
        .expect(StatusCode::CREATED);
    app.post(&messages, &app.admin, &json!({"body": "Your invoice is on its way.", "public": true}))
        .await
        .expect(StatusCode::CREATED);
    let mail = app.take_mail().await;
    let secret = link_secret(&mail[0].text);

    let followed = app.page(&format!("/help/t/{secret}"), None).await;
    assert_eq!(followed.status, StatusCode::OK, "{}", followed.text);
    let cookie = session_cookie(&followed);
    let page = &followed.text;
    assert!(page.contains("Invoice missing") && page.contains(&format!("#{number}")));
    assert!(page.contains("I did not get my invoice for March.") && page.contains("Your invoice is on its way."));
    assert!(!page.contains("annoyed"), "internal notes never reach the customer");
    assert!(page.contains(&format!("action=\"/help/tickets/{number}/reply\"")));
    let referrer = followed.headers.get("referrer-policy").and_then(|value| value.to_str().ok());
    assert_eq!(referrer, Some("no-referrer"));

    let customer = customer_of(&app, number).await;
    assert_eq!(customer["identities"][0]["verified"], true, "following the link proved the address");

    let again = app.page(&format!("/help/t/{secret}"), None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "a link works once");
    assert!(again.text.contains("action=\"/help/link\""), "offers a new link: {}", again.text);
    let sessions =
        again.headers.get_all(SET_COOKIE).iter().filter(|c| c.to_str().unwrap().starts_with("rapport_help="));
    assert_eq!(sessions.count(), 0, "no session begins");
    let unknown = app.page(&format!("/help/t/{}", "A".repeat(43)), None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(app.page("/help/t/short", None).await.status, StatusCode::NOT_FOUND);

    // The session shows the ticket again, and the customer's list; nothing without it.
    let ticket_path = format!("/help/tickets/{number}");
    let shown = app.page(&ticket_path, Some(&cookie)).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(!shown.text.contains("annoyed"));
    assert_eq!(app.page(&ticket_path, None).await.status, StatusCode::NOT_FOUND);
    let list = app.page("/help/tickets", Some(&cookie)).await;
    assert!(list.text.contains(&format!("href=\"/help/tickets/{number}\"")), "{}", list.text);

    // Someone else's ticket is not found, exactly like a missing one.
    let other = app.create_ticket(&app.admin, &ticket_body("zed@example.com")).await;
    assert_eq!(app.page(&format!("/help/tickets/{}", id(&other)), Some(&cookie)).await.status, StatusCode::NOT_FOUND);
    let sneaky = app
        .post_form(&format!("/help/tickets/{}/reply", id(&other)), &[("message", "mine now")], &[], Some(&cookie))
        .await;
    assert_eq!(sneaky.status, StatusCode::NOT_FOUND);

    // A reply from the page goes through intake onto the ticket.
    let empty = app.post_form(&format!("{ticket_path}/reply"), &[("message", "  ")], &[], Some(&cookie)).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text.contains("id=\"message-error\""));
    let replied = app
        .post_form(
            &format!("{ticket_path}/reply"),
            &[("message", "Thanks, got it!")],
            &[("note.txt", b"hi")],
            Some(&cookie),
        )
        .await;
    assert_eq!(replied.status, StatusCode::SEE_OTHER, "{}", replied.text);
    assert_eq!(replied.headers.get(LOCATION).and_then(|value| value.to_str().ok()), Some(ticket_path.as_str()));
    let detail = app.get(&format!("/api/v1/tickets/{number}"), &app.admin).await.expect(StatusCode::OK);
    let last = detail["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["kind"].as_str(), last["channel"].as_str()), (Some("inbound"), Some("web")));
    assert_eq!(last["text"], "Thanks, got it!");
    assert_eq!(last["attachments"][0]["filename"], "note.txt");
    assert_eq!(app.store.count_tickets().await.unwrap(), 2, "no new ticket");

    // Signing out ends the session.
    let out = app.post_form("/help/signout", &[], &[], Some(&cookie)).await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(app.page(&ticket_path, Some(&cookie)).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_expired_link_is_refused() {
    let app = spawn_app().await;
    app.post("/api/v1/customers", &app.admin, &json!({"name": "Ann", "email": "ann@example.com"}))
        .await
        .expect(StatusCode::CREATED);
    let identity = Identity::email("ann@example.com").unwrap();
    let link = |secret: &str| MagicLink {
        token_hash: hex::encode(Sha256::digest(secret.as_bytes())),
        url: format!("http://127.0.0.1:8080/help/t/{secret}"),
        valid_days: 7,
    };
    let mail = |text: &str| OutboundPayload {
        ticket: None,
        to: vec![],
        cc: vec![],
        subject: "link".into(),
        in_reply_to: None,
        references: vec![],
        author_name: None,
        text: text.to_owned(),
        html: None,
        automatic: None,
    };
    let old = "o".repeat(43);
    let eight_days_ago = Timestamp(now().0 - 8 * DAY);
    let sent =
        app.store.send_magic_link(identity.clone(), link(&old), "old@test".into(), mail("old"), eight_days_ago).await;
    assert!(sent.unwrap());
    assert_eq!(app.page(&format!("/help/t/{old}"), None).await.status, StatusCode::NOT_FOUND, "expired");

    let fresh = "f".repeat(43);
    assert!(app.store.send_magic_link(identity, link(&fresh), "new@test".into(), mail("new"), now()).await.unwrap());
    let followed = app.page(&format!("/help/t/{fresh}"), None).await;
    assert_eq!(followed.status, StatusCode::OK, "a link sent for no ticket shows the customer's tickets");
    assert!(followed.text.contains("Your requests"));
}

/// Asks for a new link for `email` on the link page.
async fn ask(app: &TestApp, email: &str) -> Reply {
    app.post_form("/help/link", &[("email", email)], &[], None).await
}

#[tokio::test]
async fn link_requests_answer_the_same_whoever_asks() {
    let app = spawn_app().await;
    let number = ticket_number(&app.submit(&request_fields("ann@example.com")).await.text);
    assert_eq!(app.take_mail().await.len(), 1, "the acknowledgment");
    let unknown = ask(&app, "nobody@example.com").await;
    let known = ask(&app, "ANN@example.com").await;
    assert_eq!((unknown.status, known.status), (StatusCode::OK, StatusCode::OK));
    assert!(unknown.text.contains("If nobody@example.com belongs to one of our customers"), "{}", unknown.text);
    assert_eq!(unknown.text.replace("nobody", "ann"), known.text, "the answers differ only in the address");
    let mail = app.take_mail().await;
    assert_eq!(mail.len(), 1, "only the known address gets mail");
    assert_eq!(mail[0].to[0].identity.value, "ann@example.com");
    let followed = app.page(&format!("/help/t/{}", link_secret(&mail[0].text)), None).await;
    assert_eq!(followed.status, StatusCode::OK);
    assert!(followed.text.contains(&format!("href=\"/help/tickets/{number}\"")), "{}", followed.text);

    let bad = ask(&app, "not-an-address").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("id=\"email-error\""));
    for _ in 0..4 {
        assert_eq!(ask(&app, "ann@example.com").await.status, StatusCode::OK);
    }
    assert_eq!(ask(&app, "ann@example.com").await.status, StatusCode::TOO_MANY_REQUESTS, "rate limited per address");
}

#[tokio::test]
async fn supervisors_confirm_identities_and_only_a_customers_own() {
    let app = spawn_app().await;
    let number = ticket_number(&app.submit(&request_fields("ann@example.com")).await.text);
    let ann = customer_of(&app, number).await;
    assert_eq!(ann["identities"][0]["verified"], false, "the web form proves nothing");

    // What an agent enters starts unverified, recorded as theirs (issue 15).
    let admin_id = app.admin.id;
    let created = app
        .post("/api/v1/customers", &app.admin, &json!({"name": "Bob", "email": "bob@example.com"}))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(created["identities"][0]["verified"], false, "an agent entering an address proves nothing");
    assert_eq!(created["identities"][0]["added_by_agent"], admin_id);
    let ticket = app.create_ticket(&app.admin, &ticket_body("carol@example.com")).await;
    let carol = customer_of(&app, id(&ticket)).await;
    assert_eq!(carol["identities"][0]["added_by_agent"], admin_id, "nor does an agent opening a ticket for it");
    let patched = app
        .patch(&format!("/api/v1/customers/{}", id(&ann)), &app.admin, &json!({"phone": "+44 7700 900123"}), None)
        .await
        .expect(StatusCode::OK);
    let phone = patched["identities"].as_array().unwrap().iter().find(|identity| identity["kind"] == "phone").cloned();
    assert_eq!(phone.unwrap()["verified"], false);

    let agent = app.agent(rapport_core::Role::Agent, &[]).await;
    let path = format!("/api/v1/customers/{}/identities/verify", id(&ann));
    let refused = app.post(&path, &agent, &json!({"kind": "email", "value": "ann@example.com"})).await;
    refused.assert_error(StatusCode::FORBIDDEN, "forbidden", None);
    let agent = app.agent(rapport_core::Role::Supervisor, &[]).await;
    let verified =
        app.post(&path, &agent, &json!({"kind": "email", "value": " ANN@example.com "})).await.expect(StatusCode::OK);
    let expected = json!({"kind": "email", "value": "ann@example.com", "verified": true, "added_by_agent": null});
    assert_eq!(verified["identities"][0], expected);
    app.post(&path, &agent, &json!({"kind": "email", "value": "ann@example.com"})).await.expect(StatusCode::OK);

    let reply = app.post(&path, &agent, &json!({"kind": "email", "value": "bob@example.com"})).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("value"));
    let bob = app.get(&format!("/api/v1/customers/{}", id(&created)), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(bob["identities"][0]["verified"], false, "unchanged");
    let reply = app.post(&path, &agent, &json!({"kind": "email", "value": "not an address"})).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("value"));
    let reply = app.post(&path, &agent, &json!({"kind": "fax", "value": "123"})).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("kind"));
    let reply = app
        .post("/api/v1/customers/999999/identities/verify", &agent, &json!({"kind": "email", "value": "a@b.example"}))
        .await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found", None);
    let anonymous =
        app.send(app.request(Method::POST, &path, None).json(&json!({"kind": "email", "value": "x@y.example"}))).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

/// Issue 15: an agent added an address of their own to a customer, asked for
/// a link to it in the help pages and read the customer's tickets of a team
/// hidden from them. The address now reaches only the tickets it is on.
#[tokio::test]
async fn issue_15_an_address_an_agent_adds_opens_none_of_the_customers_hidden_tickets() {
    let app = spawn_app().await;
    let (billing, sales) = (app.team("Billing").await, app.team("Sales").await);
    let number = ticket_number(&app.submit(&request_fields("ann@example.com")).await.text);
    let mut body = ticket_body("ann@example.com");
    body["team"] = json!(billing);
    let hidden = id(&app.create_ticket(&app.admin, &body).await);
    let biller = app.agent(rapport_core::Role::Agent, &[billing]).await;
    app.set(hidden, json!({"owner": biller.id})).await;
    app.take_mail().await;
    let mallory = app.agent(rapport_core::Role::Agent, &[sales]).await;
    app.get(&format!("/api/v1/tickets/{hidden}"), &mallory).await.assert_error(
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );

    let ann = customer_of(&app, number).await;
    let path = format!("/api/v1/customers/{}", id(&ann));
    let patched = app.patch(&path, &mallory, &json!({"email": "mallory@home.example"}), None).await;
    let patched = patched.expect(StatusCode::OK);
    let added = patched["identities"].as_array().unwrap().iter().find(|i| i["value"] == "mallory@home.example");
    let expected =
        json!({"kind": "email", "value": "mallory@home.example", "verified": false, "added_by_agent": mallory.id});
    assert_eq!(added.unwrap(), &expected);
    let tier = app.post("/api/v1/customers", &mallory, &json!({"email": "x@example.com", "tier": "premium"})).await;
    tier.assert_error(StatusCode::FORBIDDEN, "forbidden", Some("tier"));

    let asked = app.post_form("/help/link", &[("email", "mallory@home.example")], &[], None).await;
    assert_eq!(asked.status, StatusCode::OK);
    let mail = app.take_mail().await;
    assert_eq!(mail.len(), 1);
    let followed = app.page(&format!("/help/t/{}", link_secret(&mail[0].text)), None).await;
    assert_eq!(followed.status, StatusCode::OK);
    for ticket in [number, hidden] {
        assert!(!followed.text.contains(&format!("/help/tickets/{ticket}\"")), "{ticket} listed: {}", followed.text);
    }
    let cookie = session_cookie(&followed);
    for ticket in [number, hidden] {
        let page = app.page(&format!("/help/tickets/{ticket}"), Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "ticket {ticket} through the help pages");
    }
}
