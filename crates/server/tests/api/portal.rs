//! The customer portal's access rules and what it shows (issue 18): every
//! form that changes something needs this browser's CSRF token; a customer
//! reaches nothing of another customer's, whatever ids are in the URL; a
//! verified customer sees their requests from every channel with who handles
//! them; the pages speak the browser's language.

use rapport_core::{Channel, Identity};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_LANGUAGE, CONTENT_TYPE, COOKIE, LOCATION};
use serde_json::{Value, json};

use crate::attachments::Part;
use crate::help::{BOUNDARY, as_refs, link_secret, multipart, request_fields, session_cookie, ticket_number};
use crate::helpers::{TestApp, spawn_app};

/// Files a request from `email` through the web form and follows the
/// emailed link: the session cookie and the ticket's number.
async fn signed_in(app: &TestApp, email: &str) -> (String, i64) {
    let number = ticket_number(&app.submit(&request_fields(email)).await.text);
    let mail = app.take_mail().await;
    let link = mail.iter().find(|mail| mail.text.contains("/help/t/")).expect("the acknowledgment with its link");
    let followed = app.page(&format!("/help/t/{}", link_secret(&link.text)), None).await;
    assert_eq!(followed.status, StatusCode::OK, "{}", followed.text);
    (session_cookie(&followed), number)
}

async fn message_count(app: &TestApp, ticket: i64) -> usize {
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    detail["messages"].as_array().unwrap().len()
}

async fn ticket_count(app: &TestApp) -> usize {
    let list = app.get("/api/v1/tickets?limit=100", &app.admin).await.expect(StatusCode::OK);
    list["tickets"].as_array().unwrap().len()
}

#[tokio::test]
async fn every_form_that_changes_something_needs_this_browsers_token() {
    let app = spawn_app().await;
    let (ann, number) = signed_in(&app, "ann@example.com").await;
    let (ann_token, _) = app.form_token(Some(&ann)).await;
    let (stranger_token, stranger_cookie) = app.form_token(None).await;
    let reply_path = format!("/help/tickets/{number}/reply");
    let (tickets, messages) = (ticket_count(&app).await, message_count(&app, number).await);
    let forms: [(&str, Vec<(&str, &str)>); 4] = [
        (
            "/help/new",
            vec![("subject", "Forged"), ("message", "Forged request"), ("name", "X"), ("email", "x@example.com")],
        ),
        ("/help/link", vec![("email", "ann@example.com")]),
        (reply_path.as_str(), vec![("message", "Forged reply, kept for the customer")]),
        ("/help/signout", vec![]),
    ];
    let forged = "0".repeat(64);
    for (path, fields) in &forms {
        // No token; a made-up one; another browser's token with Ann's
        // cookie; Ann's token without Ann's cookie.
        let attempts: [(Option<&str>, &str); 4] = [
            (None, ann.as_str()),
            (Some(forged.as_str()), ann.as_str()),
            (Some(stranger_token.as_str()), ann.as_str()),
            (Some(ann_token.as_str()), stranger_cookie.as_str()),
        ];
        for (token, cookie) in attempts {
            let mut sent = fields.clone();
            if let Some(token) = token {
                sent.push(("csrf", token));
            }
            let refused = app.post_form_as(path, &sent, &[], Some(cookie)).await;
            if *path == reply_path && cookie == stranger_cookie {
                // A reply needs a session first: without one, there is no ticket to reply to.
                assert_eq!(refused.status, StatusCode::NOT_FOUND, "{path} without a session: {}", refused.text);
                continue;
            }
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path} with {token:?}: {}", refused.text);
            assert!(refused.text.contains("This form has expired or came from another page"), "{}", refused.text);
        }
    }
    // Nothing happened: no ticket, no message, no mail, and Ann is still signed in.
    assert_eq!((ticket_count(&app).await, message_count(&app, number).await), (tickets, messages));
    assert!(app.take_mail().await.is_empty(), "no mail left");
    assert_eq!(app.page("/help/tickets", Some(&ann)).await.status, StatusCode::OK, "still signed in");
    // A refused reply keeps what was typed, with a fresh token that works.
    let refused = app.post_form_as(&reply_path, &[("message", "Kept text")], &[], Some(&ann)).await;
    assert!(refused.text.contains(">Kept text</textarea>"), "{}", refused.text);
    let fresh = crate::help::csrf_token(&refused.text);
    let sent = app.post_form_as(&reply_path, &[("message", "Kept text"), ("csrf", &fresh)], &[], Some(&ann)).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text);
    assert_eq!(message_count(&app, number).await, messages + 1);
    // Signing out needs the token too, and then the session is gone.
    let out = app.post_form("/help/signout", &[], &[], Some(&ann)).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text);
    assert_eq!(app.page("/help/tickets", Some(&ann)).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_customer_reaches_nothing_of_another_customers_whatever_the_ids() {
    let app = spawn_app().await;
    let (bob, bobs) = signed_in(&app, "bob@example.com").await;
    // Bob's ticket has his file and an agent's file.
    let with_file = app
        .post_form(
            &format!("/help/tickets/{bobs}/reply"),
            &[("message", "Photo")],
            &[("bob.txt", b"bob's")],
            Some(&bob),
        )
        .await;
    assert_eq!(with_file.status, StatusCode::SEE_OTHER, "{}", with_file.text);
    let agent_file = app
        .post_multipart(
            &format!("/api/v1/tickets/{bobs}/messages"),
            &app.admin,
            &[
                Part::Text("body", "Your label"),
                Part::Text("public", "true"),
                Part::File("label.pdf", "application/pdf", b"%PDF label"),
            ],
        )
        .await
        .expect(StatusCode::CREATED);
    let detail = app.get(&format!("/api/v1/tickets/{bobs}"), &app.admin).await.expect(StatusCode::OK);
    let with_bobs_file =
        detail["messages"].as_array().unwrap().iter().find(|m| m["attachments"][0]["filename"] == "bob.txt");
    let bobs_message = with_bobs_file.expect("Bob's message with his file")["id"].as_i64().unwrap();
    let bob_paths = [
        format!("/help/tickets/{bobs}"),
        format!("/help/tickets/{bobs}/messages/{bobs_message}/attachments/0"),
        format!("/help/tickets/{bobs}/messages/{}/attachments/0", agent_file["id"]),
    ];
    for path in &bob_paths {
        assert_eq!(app.page(path, Some(&bob)).await.status, StatusCode::OK, "Bob reaches {path}");
    }

    let (ann, anns) = signed_in(&app, "ann@example.com").await;
    let anns_message = app.get(&format!("/api/v1/tickets/{anns}"), &app.admin).await.expect(StatusCode::OK)["messages"]
        [0]["id"]
        .as_i64()
        .unwrap();
    // Bob's resources, Bob's files under Ann's ticket number, and ids that are no ids.
    let mut paths = bob_paths.to_vec();
    paths.extend([
        format!("/help/tickets/{anns}/messages/{bobs_message}/attachments/0"),
        format!("/help/tickets/{anns}/messages/{anns_message}/attachments/7"),
        "/help/tickets/999999".to_owned(),
        "/help/tickets/-1".to_owned(),
        "/help/tickets/x".to_owned(),
        format!("/help/tickets/{bobs}/messages/x/attachments/0"),
        format!("/help/tickets/{bobs}/messages/{bobs_message}/attachments/-1"),
    ]);
    for path in &paths {
        let refused = app.page(path, Some(&ann)).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "Ann at {path}: {}", refused.text);
        assert!(!refused.text.contains("bob's") && !refused.text.contains("%PDF") && !refused.text.contains("Photo"));
        // And nobody signed in reaches them either.
        assert_eq!(app.page(path, None).await.status, StatusCode::NOT_FOUND, "a stranger at {path}");
    }
    let list = app.page("/help/tickets", Some(&ann)).await;
    assert!(
        list.text.contains(&format!("/help/tickets/{anns}\""))
            && !list.text.contains(&format!("/help/tickets/{bobs}\""))
    );
    // Replying to Bob's ticket, with Ann's good token: not found, nothing added.
    let before = message_count(&app, bobs).await;
    let reply =
        app.post_form(&format!("/help/tickets/{bobs}/reply"), &[("message", "Mine now")], &[], Some(&ann)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(message_count(&app, bobs).await, before);
}

#[tokio::test]
async fn a_verified_customer_sees_every_channels_requests_with_their_owner_and_files_new_ones() {
    let app = spawn_app().await;
    // Ann wrote on WhatsApp first; an admin added her address to that customer record.
    let whatsapp = app.inbound_with_files(Channel::Whatsapp, Identity::phone("+15550001234").unwrap(), vec![]).await;
    let detail = app.get(&format!("/api/v1/tickets/{whatsapp}"), &app.admin).await.expect(StatusCode::OK);
    let customer = detail["customer"].as_i64().unwrap();
    let path = format!("/api/v1/customers/{customer}");
    app.patch(&path, &app.admin, &json!({"email": "ann@example.com"}), None).await.expect(StatusCode::OK);
    let verify = json!({"kind": "email", "value": "ann@example.com"});
    app.post(&format!("{path}/identities/verify"), &app.admin, &verify).await.expect(StatusCode::OK);
    let owner: Value = app.get(&format!("/api/v1/agents/{}", app.admin.id), &app.admin).await.expect(StatusCode::OK);
    let owner_name = owner["name"].as_str().unwrap().to_owned();
    app.patch(&format!("/api/v1/tickets/{whatsapp}"), &app.admin, &json!({"owner": app.admin.id}), None)
        .await
        .expect(StatusCode::OK);

    let (ann, web) = signed_in(&app, "ann@example.com").await;
    let list = app.page("/help/tickets", Some(&ann)).await;
    for ticket in [whatsapp, web] {
        assert!(list.text.contains(&format!("href=\"/help/tickets/{ticket}\"")), "{ticket} listed: {}", list.text);
    }
    assert!(list.text.contains(&owner_name), "the owner's name: {}", list.text);
    let page = app.page(&format!("/help/tickets/{whatsapp}"), Some(&ann)).await;
    assert!(page.text.contains(&format!("Handled by {owner_name}")), "{}", page.text);
    assert!(page.text.contains("Signed in as ann@example.com"));

    // A new request while signed in: no name or address asked, filed from hers, and she is taken to it.
    let form = app.page("/help/new", Some(&ann)).await;
    assert!(!form.text.contains("id=\"email\"") && form.text.contains("id=\"subject\""), "{}", form.text);
    let fields = [("subject", "Second question".to_owned()), ("message", "And another thing.".to_owned())];
    let filed = app.post_form("/help/new", &as_refs(&fields), &[("notes.txt", b"mine")], Some(&ann)).await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.text);
    let location = filed.headers.get(LOCATION).unwrap().to_str().unwrap().to_owned();
    let third = app.page(&location, Some(&ann)).await;
    assert!(third.text.contains("Second question") && third.text.contains("notes.txt"), "{}", third.text);
    let number: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
    let detail = app.get(&format!("/api/v1/tickets/{number}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["customer"].as_i64(), Some(customer), "one customer record");
    assert_eq!(detail["channel"], "web");
}

#[tokio::test]
async fn the_pages_speak_the_browsers_language() {
    let app = spawn_app().await;
    let french = |path: &str, cookie: Option<&str>| {
        let mut builder =
            app.request(reqwest::Method::GET, path, None).header(ACCEPT_LANGUAGE, "fr-CA,fr;q=0.9,en;q=0.5");
        if let Some(cookie) = cookie {
            builder = builder.header(COOKIE, cookie);
        }
        app.send(builder)
    };
    let form = french("/help/new", None).await;
    assert!(form.text.contains("<html lang=\"fr\">") && form.text.contains("Contacter le support"), "{}", form.text);
    assert_eq!(form.headers.get("vary").unwrap(), "Accept-Language, Cookie");
    let (ann, number) = signed_in(&app, "ann@example.com").await;
    let list = french("/help/tickets", Some(&ann)).await;
    assert!(list.text.contains("Vos demandes") && list.text.contains("Se déconnecter"), "{}", list.text);
    let page = french(&format!("/help/tickets/{number}"), Some(&ann)).await;
    assert!(page.text.contains("Envoyer la réponse") && page.text.contains("Pas encore attribué"), "{}", page.text);
    // The acknowledgment of a form filled in French is in French, link and all.
    let (token, cookie) = app.form_token(None).await;
    let fields = request_fields("camille@example.com");
    let mut sent = as_refs(&fields);
    sent.push(("csrf", &token));
    let builder = app
        .request(reqwest::Method::POST, "/help/new", None)
        .header(ACCEPT_LANGUAGE, "fr")
        .header(COOKIE, cookie)
        .header(CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(multipart(&sent, &[]));
    let thanks = app.send(builder).await;
    assert!(thanks.text.contains("Merci") && thanks.text.contains("ouvert le ticket n°"), "{}", thanks.text);
    let mail = app.take_mail().await;
    let acknowledgment = mail.iter().find(|mail| mail.to[0].identity.value == "camille@example.com").unwrap();
    assert!(acknowledgment.subject.starts_with("Votre demande [#"), "{}", acknowledgment.subject);
    assert!(
        acknowledgment.text.starts_with("Bonjour,") && acknowledgment.text.contains("pendant 7 jours"),
        "{}",
        acknowledgment.text
    );
    assert!(acknowledgment.text.contains("/help/t/"), "the link: {}", acknowledgment.text);
    let english = app.page("/help/new", None).await;
    assert!(english.text.contains("<html lang=\"en\">") && english.text.contains("Contact support"));
}
