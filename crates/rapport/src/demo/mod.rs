//! The demo help desk: what a newcomer judges Rapport by, so it has to look
//! like a real desk on a busy week.
//!
//! - `conversations/*.txt` hold the tickets, written by hand as customers
//!   write on each channel; `script.rs` reads them. Every ticket is its own
//!   conversation.
//! - `people.rs` is the desk (teams, agents) and its customers, each with the
//!   identities their tickets' channels need.
//! - `schedule.rs` decides when each message happens, so attainment looks
//!   like a good team: premium best served, a few breaches, a few tickets
//!   about to breach when the server starts, calls with real waits.
//! - `desk.rs` adds the example escalation rules, the escalation plan and a
//!   major incident with its linked tickets.
//!
//! Loading is seeded (the same desk every time, placed relative to now),
//! refuses a database that already holds tickets, and measures every ticket
//! before it returns, so `rapport report sla` is right at once.

mod desk;
mod people;
mod schedule;
mod script;

use std::collections::HashMap;

use anyhow::{Context, bail};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rapport_core::event::TicketPatch;
use rapport_core::outbox::DeliveryState;
use rapport_core::priority::PriorityMatrix;
use rapport_core::sla::TicketFacts;
use rapport_core::{Actor, Agent, Author, MessageKind, Role, TeamId, Tier, Timestamp, Viewer};
use rapport_store::{
    AgentChanges, CallEventFiling, CreateTicket, CustomerRef, MessageOrigin, NewAgent, NewCustomer, NewMessage, Store,
};

use crate::token;
use people::{AGENTS, CustomerSpec, ORGANIZATIONS, TEAMS};
use schedule::{Act, Pace, Schedule};
use script::{Conversation, ProblemRole, Speaker};

/// The demo administrator's sign-in email.
pub const ADMIN_EMAIL: &str = "admin@rapport.example";
const ADMIN_NAME: &str = "Ada Admin";
const SEED: u64 = 20_261_206;
/// The share of tickets from a customer who has written before.
const RETURNING_PERCENT: u32 = 30;
/// How many tickets' histories are written at once (SQLite commits them together).
const PARALLEL: usize = 16;

const SCRIPTS: [(&str, &str); 4] = [
    ("written.txt", include_str!("conversations/written.txt")),
    ("messaging.txt", include_str!("conversations/messaging.txt")),
    ("chat.txt", include_str!("conversations/chat.txt")),
    ("phone.txt", include_str!("conversations/phone.txt")),
];

/// Whether to draw a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Bar,
    Hidden,
}

impl Progress {
    /// A bar when a person is watching stderr, nothing in logs and pipes.
    pub fn for_stderr() -> Progress {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() { Progress::Bar } else { Progress::Hidden }
    }
}

/// What `serve --demo` prints about signing in.
pub enum Welcome {
    /// A password and a token made now, shown once.
    Minted { email: String, password: String, token: String },
    /// The demo's sign-in was made when it was loaded; nothing new was made.
    Existing { email: String },
}

/// Every demo conversation, in file order.
pub fn conversations() -> anyhow::Result<Vec<Conversation>> {
    let mut all = Vec::new();
    for (file, text) in SCRIPTS {
        all.extend(script::parse(file, text)?);
    }
    Ok(all)
}

/// One ticket to write: its conversation, customer and timing.
struct Planned<'a> {
    conversation: &'a Conversation,
    customer: usize,
    team: TeamId,
    schedule: Schedule,
}

/// Loads the demo into an empty database; returns a one-line summary.
pub async fn load(store: &Store, matrix: &PriorityMatrix, progress: Progress) -> anyhow::Result<String> {
    load_at(store, matrix, progress, rapport_server::Clock::system().now()).await
}

/// [`load`] as if it were `now`: the demo's history ends then.
async fn load_at(store: &Store, matrix: &PriorityMatrix, progress: Progress, now: Timestamp) -> anyhow::Result<String> {
    if store.count_tickets().await? > 0 {
        bail!(
            "this database already holds tickets; the demo loads only into an empty database (use a new --data-dir or --database)"
        );
    }
    let conversations = conversations()?;
    let mut rng = StdRng::seed_from_u64(SEED);
    store.install_default_policies(now).await.context("installing the default SLA policies")?;

    let mut teams: HashMap<&str, TeamId> = HashMap::new();
    for (key, name, description) in TEAMS {
        teams.insert(key, store.insert_team(name.to_owned(), description.to_owned(), now).await?.id);
    }
    let all_teams: Vec<TeamId> = TEAMS.iter().filter_map(|(key, _, _)| teams.get(key).copied()).collect();
    let (admin, _) = token::find_or_create_agent(store, ADMIN_EMAIL, Some(ADMIN_NAME.to_owned()), Role::Admin).await?;
    let changes = AgentChanges { teams: Some(all_teams.clone()), ..Default::default() };
    store.update_agent(admin.id, changes, Actor::System, now).await?;
    let mut agents: Vec<Agent> = Vec::new();
    for spec in &AGENTS {
        let team_ids = if spec.teams.is_empty() {
            all_teams.clone()
        } else {
            spec.teams.iter().filter_map(|key| teams.get(key).copied()).collect()
        };
        agents.push(
            store
                .insert_agent(NewAgent {
                    email: spec.email.to_owned(),
                    name: spec.name.to_owned(),
                    role: spec.role,
                    teams: team_ids,
                    skills: spec.teams.iter().map(|key| (*key).to_owned()).collect(),
                    languages: spec.languages.iter().map(|code| (*code).to_owned()).collect(),
                    password_hash: None,
                    now,
                    by: Actor::System,
                })
                .await?,
        );
    }
    let mut organizations = Vec::new();
    for (name, tier, _) in ORGANIZATIONS {
        organizations.push(
            store
                .insert_organization(name.to_owned(), Tier(tier.to_owned()), rapport_core::Actor::System, now)
                .await?
                .id,
        );
    }

    // Cast the customers: some write again, on the same or another channel.
    let mut casting = people::Casting::new();
    let mut specs: Vec<CustomerSpec> = Vec::new();
    let mut cast: Vec<usize> = Vec::with_capacity(conversations.len());
    for conversation in &conversations {
        let same_language: Vec<usize> =
            (0..specs.len()).filter(|index| specs[*index].language == conversation.language).collect();
        let index = if !same_language.is_empty() && rng.random_ratio(RETURNING_PERCENT, 100) {
            same_language[rng.random_range(0..same_language.len())]
        } else {
            specs.push(casting.customer(conversation.language, &mut rng));
            specs.len() - 1
        };
        casting.give(&mut specs[index], conversation.channel, &mut rng);
        cast.push(index);
    }

    let bar = match progress {
        Progress::Bar => ProgressBar::new((specs.len() + 2 * conversations.len()) as u64),
        Progress::Hidden => ProgressBar::hidden(),
    };
    bar.set_style(
        ProgressStyle::with_template("loading demo data {bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("customers");
    let mut customers = Vec::with_capacity(specs.len());
    for spec in &specs {
        let customer = NewCustomer {
            name: spec.name.clone(),
            organization: spec.organization.map(|index| organizations[index]),
            tier: spec.tier.map(|tier| Tier(tier.to_owned())),
            identities: spec.identities(),
            // As if each had written in: their addresses are their own.
            added_by: None,
            now,
        };
        customers.push(store.insert_customer(customer).await?);
        bar.inc(1);
    }

    // Time every conversation under the policy its ticket will have.
    let (_, policies) = store.policy_set().await?;
    let mut planned = Vec::with_capacity(conversations.len());
    for (conversation, &customer) in conversations.iter().zip(&cast) {
        let team = *teams
            .get(conversation.team.as_str())
            .with_context(|| format!("{}: there is no demo team {:?}", conversation.origin, conversation.team))?;
        let tier = Tier(specs[customer].tier().to_owned());
        let facts = TicketFacts {
            channel: conversation.channel,
            priority: matrix.priority(&tier, conversation.urgency),
            tier,
            team: Some(team),
            tags: conversation.tags.clone(),
        };
        let (targets, calendar) = match policies.policy_for(&facts) {
            Some((_, policy)) => (policy.targets.clone(), policies.calendar(&policy.calendar)),
            None => (Default::default(), policies.calendar(rapport_core::sla::DEFAULT_CALENDAR)),
        };
        let pace = Pace { targets, calendar, premium: specs[customer].tier() == "premium" };
        let schedule = schedule::plan(conversation, &pace, now, &mut rng);
        planned.push(Planned { conversation, customer, team, schedule });
    }
    // Ticket numbers follow the order customers wrote in, as on a real desk.
    planned.sort_by_key(|planned| planned.schedule.created);

    bar.set_message("tickets");
    let mut tickets = Vec::with_capacity(planned.len());
    for plan in &planned {
        let spec = &specs[plan.customer];
        let identity = spec.identity_for(plan.conversation.channel).with_context(|| {
            format!("{}: the customer has no identity for {}", plan.conversation.origin, plan.conversation.channel)
        })?;
        let customer = &customers[plan.customer];
        let body = match plan.conversation.steps.first() {
            Some(step) if step.speaker == Speaker::Customer => fill(&step.text, spec, None),
            _ => format!("Call from {}", identity.value),
        };
        let created = store
            .create_ticket(CreateTicket {
                subject: plan.conversation.subject.clone(),
                body,
                html: None,
                channel: plan.conversation.channel,
                customer: CustomerRef { name: Some(customer.name.clone()), identities: vec![identity.clone()] },
                urgency: plan.conversation.urgency,
                team: Some(plan.team),
                tags: plan.conversation.tags.clone(),
                attachments: Vec::new(),
                actor: Actor::Customer(customer.id),
                idempotency: None,
                linked_to: None,
                origin: MessageOrigin { sender: Some(identity), ..Default::default() },
                now: plan.schedule.created,
            })
            .await
            .with_context(|| format!("creating the ticket of {}", plan.conversation.origin))?;
        tickets.push(created.ticket.id);
        bar.inc(1);
    }

    bar.set_message("conversations");
    let histories = planned.iter().zip(&tickets).enumerate().map(|(index, (plan, ticket))| {
        let owner = pick_owner(&agents, plan, &specs[plan.customer], index);
        let spec = &specs[plan.customer];
        let customer = customers[plan.customer].id;
        let bar = bar.clone();
        async move {
            let result = write_history(store, *ticket, plan, spec, customer, &owner).await;
            bar.inc(1);
            result.with_context(|| format!("writing the history of {}", plan.conversation.origin))
        }
    });
    let results: Vec<anyhow::Result<()>> =
        futures_util::stream::iter(histories).buffer_unordered(PARALLEL).collect().await;
    results.into_iter().collect::<anyhow::Result<()>>()?;

    bar.set_message("measuring");
    let measured_at = now;
    while store.project_changed(500, measured_at).await? > 0 {}

    let supervisor = agents.iter().find(|agent| agent.role == Role::Supervisor).unwrap_or(&admin);
    let escalations = *teams.get("escalations").context("the demo has an escalations team")?;
    let rules = desk::install_rules(store, escalations, supervisor.id, measured_at).await?;
    let lead = planned.iter().position(|plan| plan.conversation.problem == Some(ProblemRole::Lead));
    let linked: Vec<_> = planned
        .iter()
        .zip(&tickets)
        .filter(|(plan, _)| plan.conversation.problem == Some(ProblemRole::Linked))
        .map(|(_, ticket)| *ticket)
        .collect();
    let incident = match lead {
        Some(lead) if !linked.is_empty() => {
            desk::link_problem(store, tickets[lead], linked, supervisor.id, measured_at).await?
        }
        _ => 0,
    };
    bar.finish_and_clear();
    Ok(format!(
        "demo loaded: {} teams, {} agents, {} organizations, {} customers, {} tickets, {rules} escalation rules, \
         a problem with {incident} linked tickets",
        TEAMS.len(),
        agents.len() + 1,
        ORGANIZATIONS.len(),
        customers.len(),
        tickets.len(),
    ))
}

/// Writes one ticket's history after its creation, act by act.
async fn write_history(
    store: &Store,
    ticket: rapport_core::TicketId,
    plan: &Planned<'_>,
    spec: &CustomerSpec,
    customer: rapport_core::CustomerId,
    owner: &Agent,
) -> anyhow::Result<()> {
    let viewer = Viewer::of(owner);
    let identity = spec.identity_for(plan.conversation.channel);
    for timed in &plan.schedule.acts {
        let at = timed.at;
        match &timed.act {
            Act::Assign => {
                let patch = TicketPatch { owner: Some(Some(owner.id)), ..Default::default() };
                store.patch_ticket(ticket, viewer.clone(), patch, None, at).await?;
            }
            Act::Set(status) => {
                let patch = TicketPatch { status: Some(*status), ..Default::default() };
                store.patch_ticket(ticket, viewer.clone(), patch, None, at).await?;
            }
            Act::Say(step) => {
                let Some(step) = plan.conversation.steps.get(*step) else { continue };
                let text = fill(&step.text, spec, Some(owner));
                let (kind, author, origin, viewer) = match step.speaker {
                    Speaker::Customer => (
                        MessageKind::Inbound,
                        Author::Customer(customer),
                        MessageOrigin { sender: identity.clone(), ..Default::default() },
                        None,
                    ),
                    Speaker::Agent => (
                        MessageKind::Reply,
                        Author::Agent(owner.id),
                        MessageOrigin { delivery: Some(delivered(plan, at)), ..Default::default() },
                        Some(viewer.clone()),
                    ),
                    Speaker::Note => {
                        (MessageKind::Note, Author::Agent(owner.id), MessageOrigin::default(), Some(viewer.clone()))
                    }
                };
                let message = NewMessage { kind, author, text, html: None, attachments: Vec::new(), origin, now: at };
                store.add_message(ticket, viewer, message).await?;
            }
            Act::Call(call, event) => {
                let caller = identity.clone().context("a phone ticket's customer has a phone number")?;
                let filing = CallEventFiling {
                    sid: format!("CAdemo{:06}{call:02}", ticket.0),
                    caller,
                    ticket: Some(ticket),
                    event: event.clone(),
                    now: at,
                };
                store.record_call_event(filing).await?;
            }
        }
    }
    Ok(())
}

/// How far a past reply got: messaging apps report reads, the rest delivery.
fn delivered(plan: &Planned<'_>, at: Timestamp) -> DeliveryState {
    use rapport_core::Channel;
    match plan.conversation.channel {
        Channel::Whatsapp | Channel::Messenger | Channel::Instagram | Channel::Telegram if at.0 % 3 != 0 => {
            DeliveryState::Read
        }
        Channel::Email | Channel::Web | Channel::Api => DeliveryState::Sent,
        _ => DeliveryState::Delivered,
    }
}

/// The owner: someone in the ticket's team, speaking the customer's language when one does.
fn pick_owner(agents: &[Agent], plan: &Planned<'_>, spec: &CustomerSpec, index: usize) -> Agent {
    let members: Vec<&Agent> = agents.iter().filter(|agent| agent.teams.contains(&plan.team)).collect();
    let speakers: Vec<&Agent> = members
        .iter()
        .copied()
        .filter(|agent| agent.teams.len() < TEAMS.len())
        .filter(|agent| agent.languages.iter().any(|code| code == spec.language.code()))
        .collect();
    let pool = if speakers.is_empty() { &members } else { &speakers };
    match pool.get(index % pool.len().max(1)) {
        Some(agent) => (*agent).clone(),
        None => agents[0].clone(),
    }
}

/// The text with `{name}` and `{agent}` filled in.
fn fill(text: &str, spec: &CustomerSpec, owner: Option<&Agent>) -> String {
    let agent = owner.map(|owner| owner.name.split(' ').next().unwrap_or(&owner.name)).unwrap_or("the team");
    text.replace("{name}", spec.first_name()).replace("{agent}", agent)
}

/// Whether the database holds the demo (its administrator exists).
pub async fn is_loaded(store: &Store) -> anyhow::Result<bool> {
    Ok(store.find_agent_by_email(ADMIN_EMAIL).await?.is_some())
}

/// The demo administrator's sign-in. The first time (no password yet) it
/// sets a password and creates a token, both shown once; after that it
/// makes nothing, so restarts never pile up tokens.
pub async fn welcome(store: &Store) -> anyhow::Result<Welcome> {
    let (admin, _) = token::find_or_create_agent(store, ADMIN_EMAIL, Some(ADMIN_NAME.to_owned()), Role::Admin).await?;
    if store.find_password_hash(admin.id).await?.is_some() {
        return Ok(Welcome::Existing { email: admin.email });
    }
    let password: String = {
        let mut rng = rand::rng();
        (0..16).map(|_| char::from(b"abcdefghijkmnpqrstuvwxyz23456789"[rng.random_range(0..32)])).collect()
    };
    let hash = rapport_server::http::auth::hash_password(&password)?;
    let changes = AgentChanges { password_hash: Some(hash), ..Default::default() };
    store.update_agent(admin.id, changes, Actor::System, rapport_server::Clock::system().now()).await?;
    let token = token::create_token(store, &admin, "demo".to_owned()).await?;
    Ok(Welcome::Minted { email: admin.email, password, token })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rapport_core::Status;

    use super::*;

    #[test]
    fn the_conversations_read_and_are_many_and_distinct() {
        let conversations = conversations().unwrap();
        assert!(conversations.len() >= 150, "{}", conversations.len());
        let subjects: std::collections::HashSet<&str> =
            conversations.iter().map(|conversation| conversation.subject.as_str()).collect();
        assert_eq!(subjects.len(), conversations.len(), "every subject is its own");
        for conversation in &conversations {
            assert!(TEAMS.iter().any(|(key, _, _)| *key == conversation.team), "{}", conversation.origin);
        }
        let leads = conversations.iter().filter(|c| c.problem == Some(ProblemRole::Lead)).count();
        assert_eq!(leads, 1);
    }

    #[tokio::test]
    async fn demo_fills_an_empty_database_once_and_signs_in_once() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("demo.db").display());
        let store = Store::open(&url, rapport_store::StoreOptions::default()).await.unwrap();
        let summary = load(&store, &PriorityMatrix::default(), Progress::Hidden).await.unwrap();
        assert_eq!(store.count_tickets().await.unwrap(), conversations().unwrap().len() as i64, "{summary}");
        let admin = store.find_agent_by_email(ADMIN_EMAIL).await.unwrap().unwrap();
        let page = store
            .list_tickets(rapport_store::TicketFilter { limit: 1000, ..Default::default() }, &Viewer::of(&admin))
            .await
            .unwrap();
        let statuses: std::collections::HashSet<Status> = page.tickets.iter().map(|t| t.status).collect();
        let channels: std::collections::HashSet<_> = page.tickets.iter().map(|t| t.channel).collect();
        assert_eq!(statuses.len(), Status::ALL.len(), "every status is represented: {statuses:?}");
        assert_eq!(channels.len(), rapport_core::Channel::ALL.len(), "every channel is represented");
        assert!(load(&store, &PriorityMatrix::default(), Progress::Hidden).await.is_err(), "a second load is refused");
        assert!(is_loaded(&store).await.unwrap());
        let Welcome::Minted { password, token, .. } = welcome(&store).await.unwrap() else {
            panic!("the first welcome mints a sign-in")
        };
        let hash = store.find_password_hash(admin.id).await.unwrap().unwrap();
        assert!(rapport_server::http::auth::verify_password(&password, &hash));
        assert!(token.len() > 20);
        assert!(matches!(welcome(&store).await.unwrap(), Welcome::Existing { .. }));
        assert_eq!(store.list_tokens().await.unwrap().len(), 1);
    }

    /// The report's bounds hold whatever the weekday and hour the demo is
    /// loaded at (business-hours targets stand still at night and on weekends).
    #[tokio::test]
    async fn issue_14_attainment_holds_whatever_the_day_the_demo_is_loaded() {
        use rapport_core::sla::attainment::attainment;
        use rapport_store::ReportGroup;
        // A Saturday night, a Monday morning before opening, a Wednesday afternoon.
        for when in ["2026-12-05T03:00:00Z", "2026-12-07T08:30:00Z", "2026-12-09T15:00:00Z"] {
            let now = Timestamp(when.parse::<jiff::Timestamp>().unwrap().as_millisecond());
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("demo.db").display());
            let store = Store::open(&url, rapport_store::StoreOptions::default()).await.unwrap();
            load_at(&store, &PriorityMatrix::default(), Progress::Hidden, now).await.unwrap();
            let from = now.plus_millis(-7 * rapport_core::time::DAY);
            let channels = attainment(&store.sla_outcomes(from, now, ReportGroup::Channel, now).await.unwrap());
            let (targets, met) =
                channels.iter().fold((0, 0), |(targets, met), group| (targets + group.targets, met + group.met));
            let overall = met as f64 / targets as f64;
            assert!((0.70..=0.95).contains(&overall), "{when}: overall {overall:.3} ({met}/{targets})");
            for channel in rapport_core::Channel::ALL {
                let met = channels.iter().find(|group| group.group == channel.as_str()).map_or(0, |group| group.met);
                assert!(met > 0, "{when}: no met target on {channel}");
            }
            let tiers = attainment(&store.sla_outcomes(from, now, ReportGroup::Tier, now).await.unwrap());
            let share = |tier: &str| tiers.iter().find(|group| group.group == tier).and_then(|group| group.share_met);
            let premium = share("premium").unwrap();
            for tier in ["basic", "business"] {
                assert!(
                    premium > share(tier).unwrap(),
                    "{when}: premium {premium:.3} is not above {tier} {:?}",
                    share(tier)
                );
            }
            eprintln!(
                "{when}: overall {overall:.3}, premium {premium:.3}, basic {:?}, business {:?}",
                share("basic"),
                share("business")
            );
            store.close().await;
        }
    }
}
