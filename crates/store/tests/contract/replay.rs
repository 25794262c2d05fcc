//! Replay against the store's normal write path: whatever sequence of
//! patches and messages the store accepts, rebuilding the ticket from the
//! events it wrote gives exactly the row it wrote.

use proptest::prelude::*;
use rapport_core::event::TicketPatch;
use rapport_core::{Author, Level, MessageKind, Role, Status, Viewer};
use rapport_store::NewMessage;

use crate::harness::*;

#[derive(Debug, Clone)]
enum Step {
    Patch {
        status: Option<usize>,
        urgency: Option<usize>,
        priority: Option<usize>,
        owner: Option<bool>,
        team: Option<bool>,
        tags: Option<Vec<String>>,
    },
    Message(usize),
    Erase,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (
            proptest::option::of(0usize..6),
            proptest::option::of(0usize..4),
            proptest::option::of(0usize..4),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<bool>()),
            proptest::option::of(proptest::collection::vec("[a-c]{1,2}", 0..3)),
        ).prop_map(|(status, urgency, priority, owner, team, tags)| Step::Patch { status, urgency, priority, owner, team, tags }),
        3 => (0usize..3).prop_map(Step::Message),
        1 => Just(Step::Erase),
    ]
}

async fn run(steps: Vec<Step>) {
    let store = fresh_store().await;
    let team = store.insert_team("Team".into(), String::new(), T0).await.unwrap().id;
    let supervisor = agent(&store, "s@rapport.example", Role::Supervisor, vec![team]).await;
    let worker = agent(&store, "w@rapport.example", Role::Agent, vec![team]).await;
    let ticket = store.create_ticket(request("Replay", "r@example.com")).await.unwrap().ticket;
    for (index, step) in steps.into_iter().enumerate() {
        let now = at(index as i64 + 1);
        let viewer: Viewer = if index % 2 == 0 { supervisor.clone() } else { worker.clone() };
        let _ = match step {
            Step::Patch { status, urgency, priority, owner, team: with_team, tags } => {
                let patch = TicketPatch {
                    status: status.map(|i| Status::ALL[i]),
                    urgency: urgency.map(|i| Level::ALL[i]),
                    priority: priority.map(|i| (Level::ALL[i], "because".to_owned())),
                    owner: owner.map(|assign| assign.then_some(viewer.agent)),
                    team: with_team.map(|set| set.then_some(team)),
                    tags,
                };
                store.patch_ticket(ticket.id, viewer, patch, None, now).await.map(|_| ())
            }
            Step::Message(kind) => {
                let kind = [MessageKind::Inbound, MessageKind::Reply, MessageKind::Note][kind];
                let author = if kind == MessageKind::Inbound {
                    Author::Customer(ticket.customer)
                } else {
                    Author::Agent(viewer.agent)
                };
                let message = NewMessage {
                    kind,
                    author,
                    text: format!("message {index}"),
                    html: None,
                    attachments: vec![],
                    origin: Default::default(),
                    now,
                };
                store.add_message(ticket.id, None, message).await.map(|_| ())
            }
            Step::Erase => store.erase_customer(ticket.customer, rapport_core::Actor::System, now).await.map(|_| ()),
        };
        let stored = store.get_ticket(ticket.id, None).await.unwrap();
        let events = store.list_events(ticket.id).await.unwrap();
        assert_eq!(rapport_core::replay(&events).unwrap(), stored);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn replay_matches_the_stored_ticket(steps in proptest::collection::vec(step(), 1..25)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(run(steps));
    }
}
