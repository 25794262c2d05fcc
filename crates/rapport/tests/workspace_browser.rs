//! The agents' workspace in a real browser: headless Chromium signs in to a
//! freshly seeded `rapport serve --demo`, works the at-risk queue, answers a
//! customer by email (the reply reaches the SMTP sink), works a ticket by
//! keyboard alone, and signs out. Every page is checked with axe-core in both
//! themes, and the screenshots docs/ui.md shows are taken here at desktop and
//! phone widths. Needs Chromium, chromedriver and axe-core
//! (`.ci/install-browser`); the `outside-servers` feature keeps it out of a
//! plain `cargo test --workspace`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

use std::time::{Duration, Instant};

use rapport_testkit::browser::Browser;
use rapport_testkit::browser::fantoccini::actions::{InputSource, KeyAction, KeyActions};
use rapport_testkit::browser::fantoccini::{Client, Locator};

mod support;
use support::desk::{
    DemoDesk, check_and_capture, eventually, path_of, screenshot_dir, sign_in, text_if, text_of, widget_bubbles,
};

/// Presses keys one after another on whatever has the focus, as a person would.
async fn press(page: &Client, keys: &[char]) {
    let mut actions = KeyActions::new("keyboard".to_owned());
    for key in keys {
        actions = actions.then(KeyAction::Down { value: *key }).then(KeyAction::Up { value: *key });
    }
    page.perform_actions(actions).await.unwrap();
}

/// Presses `key` while holding Control.
async fn press_with_control(page: &Client, key: char) {
    let control = '\u{e009}';
    let actions = KeyActions::new("chord".to_owned())
        .then(KeyAction::Down { value: control })
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key })
        .then(KeyAction::Up { value: control });
    page.perform_actions(actions).await.unwrap();
}

#[tokio::test]
async fn agent_replies_by_email_from_the_at_risk_queue_and_signs_out() {
    assert!(rapport_testkit::browser::available(), "Chromium and chromedriver are needed: run .ci/install-browser");
    let desk = DemoDesk::start().await;
    let browser = Browser::start().await.unwrap();
    let page = &browser.client;
    page.set_window_size(1440, 900).await.unwrap();

    page.goto(&format!("{}/", desk.base)).await.unwrap();
    check_and_capture(page, "sign-in").await;
    sign_in(page, &desk).await;

    // The at-risk queue, narrowed to email through the filter form.
    page.find(Locator::Css("nav.views a[href='/desk/at-risk']")).await.unwrap().click().await.unwrap();
    eventually("the at-risk queue opens", || async { path_of(page).await == "/desk/at-risk" }).await;
    assert_eq!(text_of(page, "main h1").await, "At risk");
    page.find(Locator::Css("#filter-channel")).await.unwrap().select_by_value("email").await.unwrap();
    page.find(Locator::Css("form.filters button")).await.unwrap().click().await.unwrap();
    eventually("the queue shows email tickets", || async { path_of(page).await.contains("channel=email") }).await;
    let rows = page.find_all(Locator::Css("table.queue tbody tr")).await.unwrap();
    assert!(!rows.is_empty(), "the demo has email tickets at risk");
    let first_due = text_of(page, "table.queue tbody tr time.countdown").await;
    assert!(first_due.ends_with("left") || first_due.ends_with("ago"), "{first_due}");
    check_and_capture(page, "queue").await;

    // The first ticket, its countdown, and a reply by email.
    page.find(Locator::Css("table.queue tbody tr .subject a")).await.unwrap().click().await.unwrap();
    eventually("the ticket opens", || async { path_of(page).await.starts_with("/desk/tickets/") }).await;
    let ticket_path = path_of(page).await;
    let countdown = page.find(Locator::Css(".context time.countdown[data-running]")).await.unwrap();
    let words = countdown.text().await.unwrap();
    assert!(words.ends_with("left") || words.starts_with("breached"), "the SLA countdown reads {words:?}");
    check_and_capture(page, "ticket").await;

    // A reply sent in haste is taken back inside its undo window: it comes
    // back to the reply box and never reaches the customer.
    let oops = format!("oops-{}", rand::random::<u32>());
    page.find(Locator::Css("#reply-body")).await.unwrap().send_keys(&format!("Refund refused ({oops})")).await.unwrap();
    page.find(Locator::Css("form.reply button[type=submit]")).await.unwrap().click().await.unwrap();
    eventually("the reply waits in its undo window", || async {
        page.find(Locator::Css(".held button.undo")).await.is_ok()
    })
    .await;
    let counting = text_of(page, ".held time.undo-countdown").await;
    assert!(counting.starts_with("in ") && counting.ends_with(" s"), "the undo countdown reads {counting:?}");
    let png = page.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join("ticket-undo-1440-light.png"), png).unwrap();
    page.find(Locator::Css(".held button.undo")).await.unwrap().click().await.unwrap();
    eventually("the reply is taken back", || async { text_if(page, ".notice.ok").await.contains("Taken back") }).await;
    let back = page.find(Locator::Css("#reply-body")).await.unwrap().prop("value").await.unwrap().unwrap_or_default();
    assert!(back.contains(&oops), "the text is back in the reply box: {back:?}");
    page.find(Locator::Css("#reply-body")).await.unwrap().clear().await.unwrap();

    let marker = format!("refund-{}", rand::random::<u32>());
    let text = format!("Thanks for your patience: the refund is on its way ({marker}).");
    page.find(Locator::Css("#reply-body")).await.unwrap().send_keys(&text).await.unwrap();
    page.find(Locator::Css("#reply-channel")).await.unwrap().select_by_value("email").await.unwrap();
    page.find(Locator::Css("form.reply button[type=submit]")).await.unwrap().click().await.unwrap();
    eventually("the page says the reply goes out after the countdown", || async {
        text_if(page, ".notice.ok").await.contains("countdown")
    })
    .await;
    eventually("the reply joins the conversation when its window ends", || async {
        text_if(page, "ol.conversation").await.contains(&marker)
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let sent = loop {
        let found = desk.sink.messages().into_iter().find(|mail| String::from_utf8_lossy(&mail.data).contains(&marker));
        if let Some(mail) = found {
            break mail;
        }
        assert!(Instant::now() < deadline, "the reply never reached the SMTP sink");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(sent.envelope_from, "help@desk.example");
    let leaked = desk.sink.messages().into_iter().any(|mail| String::from_utf8_lossy(&mail.data).contains(&oops));
    assert!(!leaked, "the reply taken back never reached the sink");
    assert!(!text_of(page, "ol.conversation").await.contains(&oops), "nor the conversation");

    // Signing out ends the session: the old cookie opens nothing.
    let old = page.get_named_cookie("rapport_desk").await.unwrap().value().to_owned();
    page.find(Locator::Css("form[action='/sign-out'] button")).await.unwrap().click().await.unwrap();
    eventually("the sign-in page says so", || async { path_of(page).await == "/sign-in?signed_out=1" }).await;
    rapport_channels::http::install_crypto_provider();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = client
        .get(format!("{}{ticket_path}", desk.base))
        .header("cookie", format!("rapport_desk={old}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/sign-in"), "{location}");
    browser.close().await.unwrap();
}

#[tokio::test]
async fn keyboard_only_an_agent_opens_and_answers_a_ticket() {
    assert!(rapport_testkit::browser::available(), "Chromium and chromedriver are needed: run .ci/install-browser");
    let desk = DemoDesk::start().await;
    let browser = Browser::start().await.unwrap();
    let page = &browser.client;
    page.set_window_size(1440, 900).await.unwrap();
    sign_in(page, &desk).await;
    page.goto(&format!("{}/desk/all?status=unsolved", desk.base)).await.unwrap();

    // j marks the first ticket, Enter opens it.
    press(page, &['j']).await;
    let first = page.find(Locator::Css("table.queue tbody tr")).await.unwrap();
    assert_eq!(first.attr("class").await.unwrap().as_deref(), Some("current"));
    press(page, &['\u{e007}']).await;
    eventually("the ticket opens", || async { path_of(page).await.starts_with("/desk/tickets/") }).await;

    // ? shows the shortcuts; Escape closes them.
    press(page, &['?']).await;
    assert!(page.find(Locator::Css("dialog.keys")).await.unwrap().is_displayed().await.unwrap());
    press(page, &['\u{e00c}']).await;

    // r goes to the reply box; typing there fires no shortcut; Ctrl+Enter sends.
    press(page, &['r']).await;
    let focused = page.active_element().await.unwrap().attr("id").await.unwrap();
    assert_eq!(focused.as_deref(), Some("reply-body"));
    let marker = format!("keys-{}", rand::random::<u32>());
    let text = format!("Sorry for the wait, just a moment ({marker}) jkrsn");
    let keys: Vec<char> = text.chars().collect();
    press(page, &keys).await;
    assert_eq!(
        page.find(Locator::Css("#reply-body")).await.unwrap().prop("value").await.unwrap().as_deref(),
        Some(text.as_str()),
        "every key went into the text, none fired a shortcut"
    );
    press_with_control(page, '\u{e007}').await;
    eventually("the reply is sent", || async { page.find(Locator::Css(".notice.ok")).await.is_ok() }).await;
    assert!(page.source().await.unwrap().contains(&marker));
    browser.close().await.unwrap();
}

#[tokio::test]
async fn a_second_agent_sees_the_first_typing_and_the_reply_arrive_live_and_a_stale_reply_is_held() {
    assert!(rapport_testkit::browser::available(), "Chromium and chromedriver are needed: run .ci/install-browser");
    let desk = DemoDesk::start().await;
    let first = Browser::start().await.unwrap();
    let ada = &first.client;
    ada.set_window_size(1440, 900).await.unwrap();
    sign_in(ada, &desk).await;
    ada.goto(&format!("{}/desk/all?status=unsolved&channel=email", desk.base)).await.unwrap();
    ada.find(Locator::Css("table.queue tbody tr .subject a")).await.unwrap().click().await.unwrap();
    eventually("Ada's ticket opens", || async { path_of(ada).await.starts_with("/desk/tickets/") }).await;
    let ticket = path_of(ada).await;

    // Bo is invited, chooses a password through the link, signs in and opens the same ticket.
    let link = desk.invite("bo@desk.example", "Bo Berg", "supervisor");
    let second = Browser::start().await.unwrap();
    let bo = &second.client;
    bo.set_window_size(1440, 900).await.unwrap();
    bo.goto(&format!("{}{link}", desk.base)).await.unwrap();
    for field in ["#password", "#confirm"] {
        bo.find(Locator::Css(field)).await.unwrap().send_keys("bo's long password").await.unwrap();
    }
    bo.find(Locator::Css("form button[type=submit]")).await.unwrap().click().await.unwrap();
    eventually("the password is saved", || async { path_of(bo).await == "/sign-in?password_set=1" }).await;
    bo.find(Locator::Css("#email")).await.unwrap().send_keys("bo@desk.example").await.unwrap();
    bo.find(Locator::Css("#password")).await.unwrap().send_keys("bo's long password\u{e007}").await.unwrap();
    eventually("Bo is in", || async { path_of(bo).await.starts_with("/desk/") }).await;
    bo.goto(&format!("{}{ticket}", desk.base)).await.unwrap();
    // A mark on Bo's page that a reload would wipe.
    bo.execute("document.body.dataset.unreloaded = 'yes';", vec![]).await.unwrap();

    eventually("Ada sees Bo viewing", || async { text_if(ada, "#presence").await.contains("Bo Berg is viewing") })
        .await;
    ada.find(Locator::Css("#reply-body")).await.unwrap().send_keys("Hello, I have checked").await.unwrap();
    eventually("Bo sees Ada typing", || async { text_if(bo, "#presence").await.contains("Ada Admin is typing") }).await;

    let marker = format!("live-{}", rand::random::<u32>());
    ada.find(Locator::Css("#reply-body")).await.unwrap().send_keys(&format!(" ({marker}).")).await.unwrap();
    ada.find(Locator::Css("form.reply button[type=submit]")).await.unwrap().click().await.unwrap();
    eventually("Bo sees Ada's reply without reloading", || async {
        text_if(bo, "ol.conversation").await.contains(&marker)
    })
    .await;
    let mark = bo.execute("return document.body.dataset.unreloaded || '';", vec![]).await.unwrap();
    assert_eq!(mark.as_str(), Some("yes"), "Bo's page was updated in place, not reloaded");

    // Bo, who opened the ticket before Ada's reply, is held before talking over it.
    bo.find(Locator::Css("#reply-body")).await.unwrap().send_keys("Let me check that for you.").await.unwrap();
    bo.find(Locator::Css("form.reply button[type=submit]")).await.unwrap().click().await.unwrap();
    eventually("Bo's reply is held for review", || async { bo.find(Locator::Css("#reply-held")).await.is_ok() }).await;
    assert!(text_of(bo, "#reply-held").await.contains("New activity since you opened this (Ada Admin replied)"));
    let kept = bo.find(Locator::Css("#reply-body")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("Let me check that for you."), "the draft is kept");
    bo.find(Locator::Css("form.reply button[type=submit]")).await.unwrap().click().await.unwrap();
    eventually("the second send goes", || async { bo.find(Locator::Css(".notice.ok")).await.is_ok() }).await;
    first.close().await.unwrap();
    second.close().await.unwrap();
}

#[tokio::test]
async fn agent_bulk_assigns_three_unassigned_tickets_to_themselves() {
    assert!(rapport_testkit::browser::available(), "Chromium and chromedriver are needed: run .ci/install-browser");
    let desk = DemoDesk::start().await;
    let browser = Browser::start().await.unwrap();
    let page = &browser.client;
    page.set_window_size(1440, 900).await.unwrap();
    sign_in(page, &desk).await;
    page.goto(&format!("{}/desk/unassigned", desk.base)).await.unwrap();
    let before: usize = text_of(page, "nav.views a[href='/desk/mine'] .count").await.parse().unwrap();
    let boxes = page.find_all(Locator::Css("table.queue tbody input[type=checkbox]")).await.unwrap();
    assert!(boxes.len() >= 3, "the demo has unassigned tickets");
    let mut chosen = Vec::new();
    for checkbox in boxes.iter().take(3) {
        checkbox.click().await.unwrap();
        chosen.push(checkbox.attr("value").await.unwrap().unwrap());
    }
    page.find(Locator::Css("#bulk-action")).await.unwrap().select_by_value("assign:me").await.unwrap();
    page.find(Locator::Css(".bulk-bar button")).await.unwrap().click().await.unwrap();
    eventually("the queue says what changed", || async {
        page.find(Locator::Css("#queue-results .notice.ok")).await.is_ok()
    })
    .await;
    assert_eq!(text_of(page, "#queue-results .notice.ok").await, "3 tickets changed.");
    let after: usize = text_of(page, "nav.views a[href='/desk/mine'] .count").await.parse().unwrap();
    assert_eq!(after, before + 3, "My tickets counts them");
    for id in &chosen {
        let still = page.find_all(Locator::Css(&format!("table.queue input[value='{id}']"))).await.unwrap();
        assert!(still.is_empty(), "#{id} left the unassigned view");
    }
    browser.close().await.unwrap();
}

#[tokio::test]
async fn an_agent_accepts_a_chat_offered_from_the_widget_answers_it_and_ends_it() {
    assert!(rapport_testkit::browser::available(), "Chromium and chromedriver are needed: run .ci/install-browser");
    let desk = DemoDesk::start().await;
    let agent_browser = Browser::start().await.unwrap();
    let agent = &agent_browser.client;
    agent.set_window_size(1440, 900).await.unwrap();
    sign_in(agent, &desk).await;
    agent.find(Locator::Css("nav.views a[href='/desk/chat']")).await.unwrap().click().await.unwrap();
    eventually("the console is online", || async { text_if(agent, "#chat-status").await.starts_with("Online") }).await;

    // A visitor opens the widget on the demo page and writes.
    let visitor_browser = Browser::start().await.unwrap();
    let visitor = &visitor_browser.client;
    visitor.goto(&format!("{}/chat/demo", desk.base)).await.unwrap();
    visitor.find(Locator::Css(".rpc-btn")).await.unwrap().click().await.unwrap();
    eventually("the widget sees an agent online", || async {
        text_if(visitor, ".rpc-status").await.contains("online")
    })
    .await;
    let marker = format!("late-{}", rand::random::<u32>());
    let input = visitor.find(Locator::Css(".rpc-form textarea")).await.unwrap();
    input.send_keys(&format!("Hello, my order is late ({marker})")).await.unwrap();
    visitor.find(Locator::Css(".rpc-form button")).await.unwrap().click().await.unwrap();

    // The chat is offered; writing opens only once accepted.
    eventually("the chat is offered", || async { agent.find(Locator::Css(".chat-pane.offered")).await.is_ok() }).await;
    eventually("its transcript shows the visitor's words", || async {
        text_if(agent, ".chat-transcript").await.contains(&marker)
    })
    .await;
    let text = agent.find(Locator::Css(".chat-text")).await.unwrap();
    assert_eq!(text.prop("disabled").await.unwrap().as_deref(), Some("true"), "no writing before accepting");
    agent.find(Locator::Css(".chat-accept")).await.unwrap().click().await.unwrap();
    assert!(agent.find(Locator::Css(".chat-pane.offered")).await.is_err(), "accepted");

    // Typing both ways, then the answer reaches the widget.
    visitor.find(Locator::Css(".rpc-form textarea")).await.unwrap().send_keys("still there?").await.unwrap();
    eventually("the agent sees the visitor typing", || async {
        text_if(agent, ".chat-typing").await.contains("typing")
    })
    .await;
    agent.find(Locator::Css(".chat-text")).await.unwrap().send_keys("Hi, I am Ada").await.unwrap();
    eventually("the visitor sees the agent typing", || async {
        text_if(visitor, ".rpc-typing").await.contains("Typing")
    })
    .await;
    let answer = format!("Your parcel left today ({marker}).");
    agent.find(Locator::Css(".chat-text")).await.unwrap().send_keys(&format!(". {answer}\u{e007}")).await.unwrap();
    eventually("the answer reaches the widget", || async {
        widget_bubbles(visitor, "rpc-agent").await.iter().any(|bubble| bubble.contains(&answer))
    })
    .await;
    eventually("and the agent's transcript", || async { text_if(agent, ".chat-transcript").await.contains(&answer) })
        .await;
    let png = agent.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join("chat-live-1440-light.png"), png).unwrap();

    // Away keeps the chat; ending it frees the slot and closes the pane.
    agent.find(Locator::Css("#chat-presence")).await.unwrap().select_by_value("away").await.unwrap();
    eventually("the agent is away", || async { text_if(agent, "#chat-status").await.starts_with("Away") }).await;
    assert!(agent.find(Locator::Css(".chat-pane")).await.is_ok(), "an agent away keeps their chats");
    agent.find(Locator::Css(".chat-end")).await.unwrap().click().await.unwrap();
    eventually("the ended chat closes", || async { agent.find(Locator::Css(".chat-pane")).await.is_err() }).await;
    agent.find(Locator::Css("#chat-presence")).await.unwrap().select_by_value("online").await.unwrap();
    check_and_capture(agent, "chat").await;
    visitor_browser.close().await.unwrap();
    agent_browser.close().await.unwrap();
}
