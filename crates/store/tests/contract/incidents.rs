//! Overflow routing and problems (major incidents): a backed-up team's new
//! tickets move to its overflow team once, even with two instances; tickets
//! link to a problem, each affected customer gets one update per update
//! number however many linked tickets they have, and solving the problem
//! solves its tickets.

use rapport_core::overflow::Overflow;
use rapport_core::{AgentId, Author, Change, Channel, MessageKind, Role, Status, TeamId, TicketId, Timestamp};
use rapport_store::{JobOutcome, Rejection, Store, StoreError, StoreOptions, TeamChanges};

use crate::harness::*;

/// The field of an `Invalid` rejection; panics on anything else.
fn invalid_field(error: StoreError) -> String {
    match error {
        StoreError::Rejected(Rejection::Invalid { field, .. }) => field,
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

async fn team(store: &Store, name: &str) -> TeamId {
    store.insert_team(name.to_owned(), String::new(), T0).await.unwrap().id
}

/// A ticket from `email` in `team`, created at `created`.
async fn ticket_at(store: &Store, email: &str, team: Option<TeamId>, created: Timestamp) -> TicketId {
    let mut create = request(&format!("From {email}"), email);
    create.team = team;
    create.now = created;
    store.create_ticket(create).await.unwrap().ticket.id
}

#[tokio::test]
async fn overflow_settings_are_validated() {
    let store = fresh_store().await;
    let sales = team(&store, "Sales").await;
    let support = team(&store, "Support").await;
    assert_eq!(store.find_overflow(sales).await.unwrap(), None);

    let to_self = store.set_overflow(sales, Some(Overflow { team: sales, after_seconds: 60 })).await.unwrap_err();
    assert_eq!(invalid_field(to_self), "overflow_team");
    let missing = store.set_overflow(sales, Some(Overflow { team: TeamId(999), after_seconds: 60 })).await;
    assert_eq!(invalid_field(missing.unwrap_err()), "overflow_team");
    let instant = store.set_overflow(sales, Some(Overflow { team: support, after_seconds: 0 })).await;
    assert_eq!(invalid_field(instant.unwrap_err()), "overflow_after_minutes");
    let unknown = store.set_overflow(TeamId(999), None).await.unwrap_err();
    assert!(matches!(unknown, StoreError::NotFound("team")), "{unknown:?}");

    let overflow = Overflow { team: support, after_seconds: 600 };
    assert_eq!(store.set_overflow(sales, Some(overflow)).await.unwrap(), Some(overflow));
    assert_eq!(store.find_overflow(sales).await.unwrap(), Some(overflow));
    assert_eq!(store.list_overflows().await.unwrap(), vec![(sales, overflow)]);
    assert_eq!(store.set_overflow(sales, None).await.unwrap(), None);
    assert!(store.list_overflows().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_team_change_and_its_overflow_are_kept_together_or_not_at_all() {
    let store = fresh_store().await;
    let sales = team(&store, "Sales").await;
    let support = team(&store, "Support").await;
    let overflow = Overflow { team: support, after_seconds: 600 };
    let rename = |name: &str| TeamChanges { name: Some(name.to_owned()), ..TeamChanges::default() };

    let taken = store
        .update_team_and_overflow(sales, rename("Support"), Some(Some(overflow)), rapport_core::Actor::System, at(1))
        .await
        .unwrap_err();
    assert!(matches!(taken, StoreError::Conflict { .. }), "{taken:?}");
    assert_eq!(store.find_overflow(sales).await.unwrap(), None, "the overflow stays as it was");
    let to_self = Some(Some(Overflow { team: sales, after_seconds: 60 }));
    let refused = store
        .update_team_and_overflow(sales, rename("Sales EU"), to_self, rapport_core::Actor::System, at(1))
        .await
        .unwrap_err();
    assert_eq!(invalid_field(refused), "overflow_team");
    assert_eq!(store.get_team(sales).await.unwrap().name, "Sales", "the name stays as it was");

    let (team, kept) = store
        .update_team_and_overflow(sales, rename("Sales EU"), Some(Some(overflow)), rapport_core::Actor::System, at(1))
        .await
        .unwrap();
    assert_eq!((team.name.as_str(), kept), ("Sales EU", Some(overflow)));
    let (team, kept) =
        store.update_team_and_overflow(sales, rename("Sales"), None, rapport_core::Actor::System, at(1)).await.unwrap();
    assert_eq!((team.name.as_str(), kept), ("Sales", Some(overflow)), "no overflow change keeps it");
    let missing = store
        .update_team_and_overflow(TeamId(999), rename("Nobody"), None, rapport_core::Actor::System, at(1))
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound("team")), "{missing:?}");
}

#[tokio::test]
async fn new_tickets_of_a_backed_up_team_move_to_its_overflow_team_once() {
    let store = fresh_store().await;
    let sales = team(&store, "Sales").await;
    let support = team(&store, "Support").await;
    let other = team(&store, "Other").await;
    store.set_overflow(sales, Some(Overflow { team: support, after_seconds: 600 })).await.unwrap();

    let oldest = ticket_at(&store, "a@example.com", Some(sales), at(0)).await;
    let early = ticket_at(&store, "b@example.com", Some(sales), at(300)).await;
    let late = ticket_at(&store, "c@example.com", Some(sales), at(700)).await;
    let elsewhere = ticket_at(&store, "d@example.com", Some(other), at(700)).await;
    // Taken by an agent before the pass: it no longer waits, so it stays.
    let agent = agent(&store, "sam@example.com", Role::Supervisor, vec![sales]).await;
    let taken = ticket_at(&store, "e@example.com", Some(sales), at(710)).await;
    let take = rapport_core::event::TicketPatch { owner: Some(Some(agent.agent)), ..Default::default() };
    store.patch_ticket(taken, agent, take, None, at(711)).await.unwrap();

    assert_eq!(store.route_overflow(at(800)).await.unwrap(), 1);
    for id in [oldest, early, elsewhere, taken] {
        let ticket = store.get_ticket(id, None).await.unwrap();
        assert!(!ticket.tags.contains(&"overflow".to_owned()), "ticket {id} was moved");
    }
    let moved = store.get_ticket(late, None).await.unwrap();
    assert_eq!((moved.team, moved.tags.clone()), (Some(support), vec!["overflow".to_owned()]));
    let events = store.list_events(late).await.unwrap();
    let change = events.iter().find(|event| matches!(event.change, Change::TeamChanged { .. })).unwrap();
    assert_eq!(change.change, Change::TeamChanged { from: Some(sales), to: Some(support) });
    assert_eq!(change.actor, rapport_core::Actor::System);

    // Handled tickets are not considered again; a ticket too new to be
    // settled waits for a later pass.
    assert_eq!(store.route_overflow(at(900)).await.unwrap(), 0);
    let fresh = ticket_at(&store, "f@example.com", Some(sales), at(995)).await;
    assert_eq!(store.route_overflow(at(1_000)).await.unwrap(), 0);
    assert_eq!(store.get_ticket(fresh, None).await.unwrap().team, Some(sales));
    assert_eq!(store.route_overflow(at(1_020)).await.unwrap(), 1);
    assert_eq!(store.get_ticket(fresh, None).await.unwrap().team, Some(support));
}

#[tokio::test]
async fn two_instances_route_each_ticket_once() {
    let (first, url) = fresh_store_with_url().await;
    let second = Store::open(&url, StoreOptions::default()).await.unwrap();
    let sales = team(&first, "Sales").await;
    let support = team(&first, "Support").await;
    first.set_overflow(sales, Some(Overflow { team: support, after_seconds: 60 })).await.unwrap();
    ticket_at(&first, "a@example.com", Some(sales), at(0)).await;
    let mut late = Vec::new();
    for index in 0..5 {
        late.push(ticket_at(&first, &format!("x{index}@example.com"), Some(sales), at(100 + index)).await);
    }
    let (one, two) = tokio::join!(first.route_overflow(at(200)), second.route_overflow(at(200)));
    assert_eq!(one.unwrap() + two.unwrap(), 5);
    for id in late {
        let events = first.list_events(id).await.unwrap();
        let moves = events.iter().filter(|event| matches!(event.change, Change::TeamChanged { .. })).count();
        assert_eq!(moves, 1, "ticket {id}");
    }
}

/// The problem (from carol) and linked tickets: two from ann, one from bob.
struct Incident {
    problem: TicketId,
    ann_old: TicketId,
    ann_new: TicketId,
    bob: TicketId,
}

async fn incident(store: &Store) -> Incident {
    let problem = ticket_at(store, "carol@example.com", None, at(0)).await;
    let ann_old = ticket_at(store, "ann@example.com", None, at(1)).await;
    let bob = ticket_at(store, "bob@example.com", None, at(2)).await;
    let ann_new = ticket_at(store, "ann@example.com", None, at(3)).await;
    let linked = store.link_to_problem(problem, vec![ann_old, bob, ann_new], Author::Agent(AgentId(1)), at(4)).await;
    let ids: Vec<TicketId> = linked.unwrap().into_iter().map(|ticket| ticket.id).collect();
    assert_eq!(ids, vec![ann_old, bob, ann_new]);
    Incident { problem, ann_old, ann_new, bob }
}

/// Claims and runs every due job; returns how many ran.
async fn run_jobs(store: &Store, now: Timestamp) -> usize {
    let jobs = store.claim_jobs("test", 100, 60_000, now).await.unwrap();
    let count = jobs.len();
    for job in jobs {
        assert_eq!(store.run_job("test", job, now).await.unwrap(), JobOutcome::Done);
    }
    count
}

fn replies(detail: &rapport_store::TicketDetail) -> Vec<String> {
    detail
        .messages
        .iter()
        .filter(|message| message.kind == MessageKind::Reply && message.author == Author::System)
        .map(|message| message.text.clone())
        .collect()
}

#[tokio::test]
async fn linking_is_recorded_and_refused_clearly() {
    let store = fresh_store().await;
    let incident = incident(&store).await;
    let events = store.list_events(incident.bob).await.unwrap();
    let linked = events.iter().find(|event| matches!(event.change, Change::ProblemLinked { .. })).unwrap();
    assert_eq!(linked.change, Change::ProblemLinked { problem: Some(incident.problem) });
    assert_eq!(linked.actor, rapport_core::Actor::Agent(AgentId(1)));
    assert_eq!(store.get_ticket(incident.bob, None).await.unwrap().version, 2);

    let author = Author::Agent(AgentId(1));
    let link = |problem: TicketId, tickets: Vec<TicketId>| {
        let store = &store;
        async move { invalid_field(store.link_to_problem(problem, tickets, author, at(5)).await.unwrap_err()) }
    };
    let spare = ticket_at(&store, "dan@example.com", None, at(5)).await;
    assert_eq!(link(incident.problem, vec![spare, incident.problem]).await, "tickets[1]");
    assert_eq!(link(incident.problem, vec![TicketId(999)]).await, "tickets[0]");
    assert_eq!(link(incident.bob, vec![spare]).await, "problem", "a linked ticket is not a problem");
    assert_eq!(link(spare, vec![incident.problem]).await, "tickets[0]", "problems do not nest");
    let viewer = agent(&store, "sup@example.com", Role::Supervisor, vec![]).await;
    let solve = rapport_core::event::TicketPatch { status: Some(Status::Solved), ..Default::default() };
    store.patch_ticket(spare, viewer, solve, None, at(6)).await.unwrap();
    assert_eq!(store.auto_close(0, at(7)).await.unwrap(), 1);
    assert_eq!(link(incident.problem, vec![spare]).await, "tickets[0]");
    let missing = store.link_to_problem(TicketId(999), vec![spare], author, at(8)).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound("problem")), "{missing:?}");
    // A refused request links nothing.
    assert_eq!(store.list_problem_tickets(incident.problem).await.unwrap().len(), 3);

    store.unlink_from_problem(incident.problem, incident.bob, author, at(9)).await.unwrap();
    let ids: Vec<TicketId> =
        store.list_problem_tickets(incident.problem).await.unwrap().into_iter().map(|ticket| ticket.id).collect();
    assert_eq!(ids, vec![incident.ann_old, incident.ann_new]);
    let events = store.list_events(incident.bob).await.unwrap();
    assert_eq!(events.last().unwrap().change, Change::ProblemLinked { problem: None });
    let again = store.unlink_from_problem(incident.problem, incident.bob, author, at(10)).await.unwrap_err();
    assert!(matches!(again, StoreError::NotFound("problem link")), "{again:?}");
    // Replay still rebuilds the linked ticket from its log.
    let rebuilt = rapport_core::replay(&store.list_events(incident.bob).await.unwrap()).unwrap();
    assert_eq!(rebuilt, store.get_ticket(incident.bob, None).await.unwrap());
}

#[tokio::test]
async fn an_update_reaches_each_customer_once() {
    let store = fresh_store().await;
    let incident = incident(&store).await;
    let author = Author::Agent(AgentId(1));
    let text = "We are restoring service.".to_owned();
    let first = store.update_problem(incident.problem, text.clone(), None, author, at(10)).await.unwrap();
    assert_eq!((first.number, first.customers, first.queued), (1, 2, 2));
    // The same update again (a retried request) queues nothing.
    let retried = store.update_problem(incident.problem, text.clone(), Some(1), author, at(11)).await.unwrap();
    assert_eq!((retried.number, retried.customers, retried.queued), (1, 2, 0));
    let past = store.update_problem(incident.problem, text.clone(), Some(3), author, at(11)).await.unwrap_err();
    assert_eq!(invalid_field(past), "update");
    let blank = store.update_problem(incident.problem, "  ".into(), None, author, at(11)).await.unwrap_err();
    assert_eq!(invalid_field(blank), "body");

    assert_eq!(run_jobs(&store, at(12)).await, 2);
    let ann_new = store.get_ticket_detail(incident.ann_new, None).await.unwrap();
    let ann_old = store.get_ticket_detail(incident.ann_old, None).await.unwrap();
    let bob = store.get_ticket_detail(incident.bob, None).await.unwrap();
    assert_eq!(replies(&ann_new), vec![text.clone()], "on ann's most recent ticket");
    assert!(replies(&ann_old).is_empty());
    assert_eq!(replies(&bob), vec![text.clone()]);
    let outbox = store.claim_outbox(at(13), 60_000, 100).await.unwrap();
    let mut recipients: Vec<String> = outbox
        .iter()
        .filter(|item| item.payload.text == text)
        .flat_map(|item| item.payload.to.iter().map(|to| to.identity.value.clone()))
        .collect();
    recipients.sort();
    assert_eq!(recipients, vec!["ann@example.com".to_owned(), "bob@example.com".to_owned()]);
    assert!(outbox.iter().all(|item| item.channel == Channel::Email));

    let problem = store.get_ticket_detail(incident.problem, None).await.unwrap();
    let notes: Vec<&str> = problem
        .messages
        .iter()
        .filter(|message| message.kind == MessageKind::Note)
        .map(|message| message.text.as_str())
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("Update 1 sent to 2 affected customers") && notes[0].contains(&text), "{}", notes[0]);
    assert!(replies(&problem).is_empty(), "the problem's own customer is not affected");

    let second = store.update_problem(incident.problem, "Still on it.".into(), None, author, at(20)).await.unwrap();
    assert_eq!((second.number, second.queued), (2, 2));
}

#[tokio::test]
async fn solving_a_problem_solves_its_tickets_and_tells_each_customer_once() {
    let store = fresh_store().await;
    let incident = incident(&store).await;
    let author = Author::Agent(AgentId(1));
    let viewer = agent(&store, "sup@example.com", Role::Supervisor, vec![]).await;
    let pending = rapport_core::event::TicketPatch { status: Some(Status::Pending), ..Default::default() };
    store.patch_ticket(incident.bob, viewer, pending, None, at(5)).await.unwrap();

    let solved = store.solve_problem(incident.problem, Some("Fixed, sorry.".into()), author, at(10)).await.unwrap();
    assert_eq!(solved.solved, 4, "three linked tickets and the problem");
    let update = solved.update.unwrap();
    assert_eq!((update.number, update.customers, update.queued), (1, 2, 2));
    for id in [incident.problem, incident.ann_old, incident.ann_new, incident.bob] {
        let ticket = store.get_ticket(id, None).await.unwrap();
        assert_eq!((ticket.status, ticket.solved_at), (Status::Solved, Some(at(10))), "ticket {id}");
        let events = store.list_events(id).await.unwrap();
        assert_eq!(events.last().unwrap().actor, rapport_core::Actor::System);
    }
    assert_eq!(run_jobs(&store, at(11)).await, 2);
    let bob = store.get_ticket_detail(incident.bob, None).await.unwrap();
    assert_eq!(replies(&bob), vec!["Fixed, sorry.".to_owned()]);
    assert_eq!(bob.ticket.status, Status::Solved, "the update does not reopen the ticket");

    // Solving again changes nothing and sends nothing.
    let again = store.solve_problem(incident.problem, None, author, at(12)).await.unwrap();
    assert_eq!((again.solved, again.update), (0, None));
    assert_eq!(run_jobs(&store, at(13)).await, 0);
}

#[tokio::test]
async fn with_no_overflow_team_the_pass_skips_past_every_settled_ticket_at_once() {
    let store = fresh_store().await;
    let sales = team(&store, "Sales").await;
    let support = team(&store, "Support").await;
    let old = ticket_at(&store, "a@example.com", Some(sales), at(0)).await;
    let older = ticket_at(&store, "b@example.com", Some(sales), at(100)).await;
    assert_eq!(store.route_overflow(at(800)).await.unwrap(), 0);

    // Overflow applies to tickets that come in after it is set up.
    store.set_overflow(sales, Some(Overflow { team: support, after_seconds: 60 })).await.unwrap();
    let new = ticket_at(&store, "c@example.com", Some(sales), at(900)).await;
    assert_eq!(store.route_overflow(at(1_000)).await.unwrap(), 1);
    for (id, team) in [(old, sales), (older, sales), (new, support)] {
        assert_eq!(store.get_ticket(id, None).await.unwrap().team, Some(team), "ticket {id}");
    }
}

#[tokio::test]
async fn problems_are_listed_with_their_linked_and_unsolved_tickets() {
    let store = fresh_store().await;
    assert!(store.list_problems(10).await.unwrap().is_empty(), "no problem yet");
    let incident = incident(&store).await;
    let listed = store.list_problems(10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].ticket.id, listed[0].linked, listed[0].unsolved), (incident.problem, 3, 3));
    store.solve_problem(incident.problem, None, Author::Agent(AgentId(1)), at(9)).await.unwrap();
    let listed = store.list_problems(10).await.unwrap();
    assert_eq!((listed[0].linked, listed[0].unsolved), (3, 0), "solved together");
}
