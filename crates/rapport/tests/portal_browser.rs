//! The customer portal in a real browser (issue 18), on `rapport serve
//! --demo` with its mail going to an SMTP sink. Ann wrote on WhatsApp first,
//! and an admin added and confirmed her email address on that customer. She
//! files a request on `/help/new` with a file, follows the magic link from the
//! sink, sees that request and the earlier WhatsApp ticket with who handles
//! them, replies with an attachment, and downloads the file an agent sent. A
//! second browser set to French asks for a new link, reads the portal in
//! French, and gets the chat widget in French. Each page is checked with axe-core and screenshotted at desktop and
//! phone widths for docs/portal.md. Needs Chromium, chromedriver and axe-core
//! (`.ci/install-browser`); the `outside-servers` feature keeps it out of a
//! plain `cargo test --workspace`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

use rapport_channels::webhook::meta_signature;
use rapport_testkit::browser::Browser;
use rapport_testkit::browser::fantoccini::{Client, Locator};
use serde_json::{Value, json};

mod support;
use support::desk::{DemoDesk, assert_accessible, eventually, path_of, screenshot_dir, text_of};

const META_SECRET: &str = "portal-test-meta-secret";
const ANN: &str = "ann.lindqvist@customer.example";

fn whatsapp(base: &str) -> String {
    let _ = base;
    format!(
        "[whatsapp]\napp_secret = {META_SECRET:?}\nverify_token = \"verify\"\naccess_token = \"access\"\n\
         phone_number_id = \"100200300\"\napi_base = \"http://127.0.0.1:9\"\n"
    )
}

async fn fill(page: &Client, css: &str, text: &str) {
    let field = page.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(page: &Client, css: &str) {
    page.find(Locator::Css(css)).await.unwrap().click().await.unwrap();
}

/// axe-core on the page, then its screenshots at 1440 and 375 pixels wide
/// (`docs/ui/portal-NAME-WIDTH.png`). Only for pages a GET shows again.
async fn check_and_capture(page: &Client, name: &str) {
    assert_accessible(page, name).await;
    for width in [1440, 375] {
        page.set_window_size(width, 900).await.unwrap();
        page.refresh().await.unwrap();
        page.find(Locator::Css("main")).await.unwrap();
        let png = page.screenshot().await.unwrap();
        std::fs::write(screenshot_dir().join(format!("portal-{name}-{width}.png")), png).unwrap();
    }
    page.set_window_size(1440, 900).await.unwrap();
}

/// The newest `/help/t/` link mailed to `to`, once the sink has `count` such mails.
async fn magic_link(desk: &DemoDesk, to: &str, count: usize) -> String {
    let mut links: Vec<String> = Vec::new();
    eventually("the magic link reaches the SMTP sink", || {
        links = desk
            .sink
            .messages()
            .iter()
            .filter(|message| message.recipients.iter().any(|recipient| recipient == to))
            .filter_map(|message| {
                let parsed = mail_parser::MessageParser::default().parse(&message.data).unwrap();
                let text = parsed.body_text(0).unwrap().into_owned();
                let start = text.find("/help/t/")?;
                Some(text[start..start + "/help/t/".len() + 43].to_owned())
            })
            .collect();
        std::future::ready(links.len() >= count)
    })
    .await;
    links.pop().unwrap()
}

/// The API as an admin: a token from `rapport token create`.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}/api/v1{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

#[tokio::test]
async fn a_customer_files_follows_replies_downloads_and_reads_the_portal_in_french() {
    assert!(rapport_testkit::browser::available(), "Chromium and chromedriver are needed: run .ci/install-browser");
    let desk = DemoDesk::start_with(whatsapp).await;
    let config = desk.config.to_str().unwrap().to_owned();
    let token = support::create_token(&[
        "--config",
        config.as_str(),
        "--email",
        "lead@desk.example",
        "--name",
        "Lena Lead",
        "--role",
        "admin",
    ])
    .await;
    let api = Api { http: support::http(), base: desk.base.clone(), token };

    // Ann's earlier message on WhatsApp, signed as Meta signs.
    let update = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "100200300"},
        "contacts": [{"profile": {"name": "Ann Lindqvist"}, "wa_id": "46701234567"}],
        "messages": [{"from": "46701234567", "id": "wamid.portal1", "timestamp": "1749416383", "type": "text",
                      "text": {"body": "Hello, my parcel never arrived."}}]}}]}]});
    let bytes = update.to_string().into_bytes();
    let posted = api
        .http
        .post(format!("{}/hooks/whatsapp", desk.base))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", meta_signature(META_SECRET, &bytes))
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert!(posted.status().is_success(), "whatsapp: {}", posted.status());
    // A webhook answers once the message is filed.
    let list = api.call(reqwest::Method::GET, "/tickets?channel=whatsapp&limit=50", None).await;
    let tickets = list["tickets"].as_array().unwrap();
    // (The demo has WhatsApp tickets of its own.)
    let whatsapp_ticket = tickets
        .iter()
        .find(|t| t["channel"] == "whatsapp" && t["subject"].as_str().unwrap().contains("parcel"))
        .unwrap_or_else(|| panic!("{list}"));
    let whatsapp_id = whatsapp_ticket["id"].as_i64().unwrap();
    let customer = whatsapp_ticket["customer"].as_i64().unwrap();
    // The admin adds Ann's address to her record, confirms it, and takes the ticket.
    api.call(reqwest::Method::PATCH, &format!("/customers/{customer}"), Some(json!({"email": ANN}))).await;
    let verify = json!({"kind": "email", "value": ANN});
    api.call(reqwest::Method::POST, &format!("/customers/{customer}/identities/verify"), Some(verify)).await;
    api.call(reqwest::Method::PATCH, &format!("/tickets/{whatsapp_id}"), Some(json!({"owner": "me"}))).await;

    // Ann files a request on the web form, with a file.
    let browser = Browser::start().await.unwrap();
    let page = &browser.client;
    page.set_window_size(1440, 900).await.unwrap();
    page.goto(&format!("{}/help/new", desk.base)).await.unwrap();
    assert_eq!(text_of(page, "main h1").await, "Contact support");
    check_and_capture(page, "new").await;
    // First without a message: the error beside its field, what she typed kept.
    fill(page, "#name", "Ann Lindqvist").await;
    fill(page, "#email", ANN).await;
    fill(page, "#subject", "Invoice for March").await;
    page.execute("document.querySelector('#message').removeAttribute('required')", vec![]).await.unwrap();
    click(page, "form[action='/help/new'] button[type=submit]").await;
    eventually("the error is shown", || async { !support::desk::text_if(page, "#message-error").await.is_empty() })
        .await;
    assert_eq!(text_of(page, "#message-error").await, "Please write your message.");
    let kept = page.find(Locator::Css("#subject")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("Invoice for March"));
    let dir = tempfile::tempdir().unwrap();
    let receipt = dir.path().join("receipt.txt");
    std::fs::write(&receipt, "Order 4711, paid on 3 March").unwrap();
    fill(page, "#message", "Hello, I did not receive my invoice for March.").await;
    page.find(Locator::Css("#attachments")).await.unwrap().send_keys(receipt.to_str().unwrap()).await.unwrap();
    click(page, "form[action='/help/new'] button[type=submit]").await;
    eventually("the request is received", || async { text_of(page, "main h1").await == "Thank you" }).await;
    let received = text_of(page, "main").await;
    let at = received.find("ticket #").unwrap() + "ticket #".len();
    let web_id: i64 = received[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap();
    assert_accessible(page, "the thank-you page").await;

    // An agent answers with a file (through the API, as the workspace would).
    let boundary = "portal-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nHere is your invoice. Anything else?\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"public\"\r\n\r\ntrue\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"invoice-march.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n%PDF invoice March\r\n--{boundary}--\r\n"
    );
    let answered = api
        .http
        .post(format!("{}/api/v1/tickets/{web_id}/messages", desk.base))
        .bearer_auth(&api.token)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), reqwest::StatusCode::CREATED, "{}", answered.text().await.unwrap());

    // She follows the link from her email: signed in, on her ticket.
    let link = magic_link(&desk, ANN, 1).await;
    page.goto(&format!("{}{link}", desk.base)).await.unwrap();
    assert_eq!(path_of(page).await, link);
    let ticket = text_of(page, "main").await;
    assert!(ticket.contains("Invoice for March") && ticket.contains("receipt.txt"), "{ticket}");
    assert!(ticket.contains("Here is your invoice") && ticket.contains("invoice-march.pdf"), "{ticket}");
    assert!(ticket.contains(&format!("Signed in as {ANN}")), "{ticket}");

    // Her requests: this one and the earlier WhatsApp ticket, with who handles it.
    click(page, "a[href='/help/tickets']").await;
    eventually("her requests open", || async { path_of(page).await == "/help/tickets" }).await;
    let list = text_of(page, "main table").await;
    assert!(list.contains("Invoice for March") && list.contains("parcel"), "{list}");
    assert!(list.contains("Lena Lead"), "the owner's name: {list}");
    check_and_capture(page, "requests").await;

    // She replies with an attachment.
    click(page, &format!("a[href='/help/tickets/{web_id}']")).await;
    eventually("the ticket opens", || async { path_of(page).await == format!("/help/tickets/{web_id}") }).await;
    let scan = dir.path().join("bank-statement.txt");
    std::fs::write(&scan, "Statement: paid 49.00 on 3 March").unwrap();
    fill(page, "#message", "Thank you! Here is my bank statement as well.").await;
    page.find(Locator::Css("#attachments")).await.unwrap().send_keys(scan.to_str().unwrap()).await.unwrap();
    click(page, "form[action$='/reply'] button[type=submit]").await;
    eventually("the reply shows", || async { text_of(page, "main").await.contains("bank-statement.txt") }).await;
    let detail = api.call(reqwest::Method::GET, &format!("/tickets/{web_id}"), None).await;
    let last = detail["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["text"], "Thank you! Here is my bank statement as well.", "{last}");
    assert_eq!(last["attachments"][0]["filename"], "bank-statement.txt", "{last}");
    check_and_capture(page, "ticket").await;

    // She downloads the agent's file: the browser saves it, with its bytes.
    let downloads = tempfile::tempdir().unwrap();
    browser.save_downloads_in(downloads.path()).await.unwrap();
    let links = page.find_all(Locator::Css("a[download]")).await.unwrap();
    let mut clicked = false;
    for link in links {
        if link.text().await.unwrap() == "invoice-march.pdf" {
            link.click().await.unwrap();
            clicked = true;
        }
    }
    assert!(clicked, "a link to the agent's file");
    let saved = downloads.path().join("invoice-march.pdf");
    eventually("the file is downloaded", || std::future::ready(saved.exists())).await;
    assert_eq!(std::fs::read(&saved).unwrap(), b"%PDF invoice March");
    browser.close().await.unwrap();

    // Another browser, set to French: a new link, and the portal in French.
    let french_browser = Browser::start_in(Some("fr-FR,fr")).await.unwrap();
    let french = &french_browser.client;
    french.set_window_size(1440, 900).await.unwrap();
    french.goto(&format!("{}/help/link", desk.base)).await.unwrap();
    assert_eq!(text_of(french, "main h1").await, "Obtenir un nouveau lien");
    fill(french, "#email", ANN).await;
    click(french, "form[action='/help/link'] button[type=submit]").await;
    eventually("the answer in French", || async { text_of(french, "main h1").await == "Consultez vos e-mails" }).await;
    let link = magic_link(&desk, ANN, 2).await;
    french.goto(&format!("{}{link}", desk.base)).await.unwrap();
    french.goto(&format!("{}/help/tickets", desk.base)).await.unwrap();
    assert_eq!(text_of(french, "main h1").await, "Vos demandes");
    let lang = french.find(Locator::Css("html")).await.unwrap().attr("lang").await.unwrap();
    assert_eq!(lang.as_deref(), Some("fr"));
    check_and_capture(french, "requests-fr").await;
    // The chat widget speaks French to this browser too.
    french.goto(&format!("{}/chat/demo", desk.base)).await.unwrap();
    eventually("the widget loads", || async { !support::desk::text_if(french, ".rpc-btn").await.is_empty() }).await;
    assert_eq!(text_of(french, ".rpc-btn").await, "Discuter avec nous");
    french_browser.close().await.unwrap();
}
