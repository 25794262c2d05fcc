//! Search over subjects, messages and customers: snippets, names and cursors.

use std::collections::HashSet;

use rapport_core::{Identity, Role, TicketId};
use rapport_store::{CustomerChanges, CustomerRef, MatchSource, SearchCursor, SnippetPart};

use crate::harness::*;

fn marked(parts: &[SnippetPart]) -> Vec<&str> {
    parts.iter().filter(|part| part.matched).map(|part| part.text.as_str()).collect()
}

fn text(parts: &[SnippetPart]) -> String {
    parts.iter().map(|part| part.text.as_str()).collect()
}

#[tokio::test]
async fn issue_14_search_matches_customers_names_and_addresses() {
    let store = fresh_store().await;
    let supervisor = agent(&store, "s@rapport.example", Role::Supervisor, vec![]).await;
    let mut quill = request("Broken hinge", "zq@quillworks.test");
    quill.customer = CustomerRef {
        name: Some("Zoë Quillfeather".into()),
        identities: vec![Identity::email("zq@quillworks.test").unwrap()],
    };
    let quill = store.create_ticket(quill).await.unwrap().ticket;
    store.create_ticket(request("Other", "other@example.com")).await.unwrap();

    for query in ["quillfeather", "Zoë", "zq@quillworks.test", "quillworks"] {
        let hits = store.search(query, &supervisor, 10).await.unwrap();
        assert_eq!(hits.iter().map(|hit| hit.ticket.id).collect::<Vec<_>>(), vec![quill.id], "{query}");
        assert_eq!(hits[0].snippet.source, MatchSource::Customer, "{query}");
        assert_eq!(hits[0].names.customer_name, "Zoë Quillfeather");
    }
    let hits = store.search("quillfeather", &supervisor, 10).await.unwrap();
    assert_eq!(marked(&hits[0].snippet.parts), vec!["Quillfeather"]);
    assert_eq!(text(&hits[0].snippet.parts), "Zoë Quillfeather · zq@quillworks.test");

    // An address added later, and a new name, are found; the old name is not.
    let changes = CustomerChanges {
        name: Some("Zoë Penwright".into()),
        add_identities: vec![Identity::phone("+44 7700 900777").unwrap()],
        ..Default::default()
    };
    store.update_customer(quill.customer, changes).await.unwrap();
    assert_eq!(store.search("447700900777", &supervisor, 10).await.unwrap().len(), 1);
    assert_eq!(store.search("penwright", &supervisor, 10).await.unwrap().len(), 1);
    assert!(store.search("quillfeather", &supervisor, 10).await.unwrap().is_empty());

    // Erased, the customer is found by none of it.
    store.erase_customer(quill.customer, rapport_core::Actor::System, at(9)).await.unwrap();
    for query in ["penwright", "quillworks", "447700900777"] {
        assert!(store.search(query, &supervisor, 10).await.unwrap().is_empty(), "{query}");
    }
}

#[tokio::test]
async fn issue_14_search_hits_carry_a_plain_snippet_of_their_best_match() {
    let store = fresh_store().await;
    let supervisor = agent(&store, "s@rapport.example", Role::Supervisor, vec![]).await;
    let mut message = request("Delivery", "m@example.com");
    message.body = "Hello, the <b>zephyrine</b> parcel arrived & the box was crushed; please send another one.".into();
    let message = store.create_ticket(message).await.unwrap().ticket;
    let subject = store.create_ticket(request("Zephyrine refund", "s@example.com")).await.unwrap().ticket;

    let hits = store.search("zephyrine", &supervisor, 10).await.unwrap();
    assert_eq!(hits.iter().map(|hit| hit.ticket.id).collect::<Vec<_>>(), vec![subject.id, message.id]);
    assert_eq!(hits[0].snippet.source, MatchSource::Subject);
    assert_eq!(marked(&hits[0].snippet.parts), vec!["Zephyrine"]);
    assert_eq!(text(&hits[0].snippet.parts), "Zephyrine refund");
    assert!(matches!(hits[1].snippet.source, MatchSource::Message(_)));
    assert_eq!(marked(&hits[1].snippet.parts), vec!["zephyrine"]);
    let snippet = text(&hits[1].snippet.parts);
    // Plain text: SQLite keeps the customer's characters as they are, PostgreSQL drops tags.
    assert!(snippet.contains("zephyrine") && snippet.contains("parcel"), "{snippet}");
    assert!(!snippet.contains('\u{FDD0}') && !snippet.contains('\u{FDD1}'), "{snippet:?}");
}

#[tokio::test]
async fn issue_14_search_pages_with_a_cursor_in_rank_order() {
    let store = fresh_store().await;
    let supervisor = agent(&store, "s@rapport.example", Role::Supervisor, vec![]).await;
    let mut created = Vec::new();
    for index in 0..7 {
        let mut ticket = request(&format!("Question {index}"), &format!("k{index}@example.com"));
        ticket.body = format!("kettle {}", "word ".repeat(index));
        created.push(store.create_ticket(ticket).await.unwrap().ticket.id);
    }
    let mut seen: Vec<(TicketId, f64)> = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = store.search_page("kettle", &supervisor, 3, cursor).await.unwrap();
        pages += 1;
        seen.extend(page.hits.iter().map(|hit| (hit.ticket.id, hit.rank)));
        match page.next_cursor {
            Some(next) => cursor = Some(SearchCursor::parse(&next).unwrap()),
            None => break,
        }
        assert!(pages < 10, "pages do not end");
    }
    assert_eq!(pages, 3);
    let ids: HashSet<TicketId> = seen.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, created.iter().copied().collect::<HashSet<_>>(), "every match exactly once");
    assert_eq!(seen.len(), 7);
    assert!(seen.windows(2).all(|pair| pair[0].1 >= pair[1].1), "best first: {seen:?}");
    let one_page: Vec<TicketId> =
        store.search("kettle", &supervisor, 50).await.unwrap().iter().map(|hit| hit.ticket.id).collect();
    assert_eq!(seen.iter().map(|(id, _)| *id).collect::<Vec<_>>(), one_page, "pages concatenate to one page");
}

#[tokio::test]
async fn issue_14_a_long_message_shows_the_words_around_its_match_marked_as_the_index_folds_them() {
    let store = fresh_store().await;
    let supervisor = agent(&store, "s@rapport.example", Role::Supervisor, vec![]).await;
    let mut long = request("Order question", "long@example.com");
    long.body = format!(
        "{}\n\nThe CAFÉ grinder arrived broken.\n\n{}",
        "Lorem ipsum dolor sit amet. ".repeat(40),
        "Regards, a customer. ".repeat(40)
    );
    let long = store.create_ticket(long).await.unwrap().ticket;

    let hits = store.search("Café grinder", &supervisor, 10).await.unwrap();
    assert_eq!(hits.iter().map(|hit| hit.ticket.id).collect::<Vec<_>>(), vec![long.id]);
    assert_eq!(marked(&hits[0].snippet.parts), vec!["CAFÉ", "grinder"]);
    let snippet = text(&hits[0].snippet.parts);
    assert!(snippet.starts_with('…') && snippet.ends_with('…'), "{snippet}");
    assert!(snippet.contains("amet. The CAFÉ grinder arrived broken. Regards"), "{snippet}");
    assert!(snippet.split_whitespace().count() <= 18, "{snippet}");
}
