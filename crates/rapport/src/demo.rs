//! The demo help desk: a few teams and agents, a few hundred customers and
//! tickets across every channel, tier and status, with history spread over
//! the last two weeks and some new tickets close to their response targets,
//! so a newcomer sees a living queue at once. Deterministic (seeded), and it
//! refuses a database that already holds tickets.

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rapport_core::event::TicketPatch;
use rapport_core::time::{DAY, HOUR, MINUTE};
use rapport_core::{
    Actor, Agent, Author, Channel, Identity, Level, MessageKind, Role, Status, TeamId, Tier, Timestamp, Viewer,
};
use rapport_store::{AgentChanges, CreateTicket, CustomerRef, NewAgent, NewCustomer, NewMessage, Store};

use crate::token;

/// How many customers and tickets the demo holds.
const CUSTOMERS: usize = 300;
const TICKETS: usize = 320;
/// The demo administrator's sign-in email.
pub const ADMIN_EMAIL: &str = "admin@rapport.example";

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

/// What `serve --demo` prints.
pub struct Welcome {
    pub email: String,
    pub password: String,
    pub token: String,
}

const TEAMS: [(&str, &str); 3] = [
    ("Billing", "Invoices, refunds, plans and payment methods"),
    ("Technical support", "Errors, outages, integrations and the API"),
    ("Onboarding", "New accounts, set-up and training"),
];

const AGENTS: [(&str, &str, Role, usize); 7] = [
    ("Sam Okafor", "sam@rapport.example", Role::Supervisor, 0),
    ("Priya Natarajan", "priya@rapport.example", Role::Agent, 0),
    ("Tomás Herrera", "tomas@rapport.example", Role::Agent, 0),
    ("Mei Lin", "mei@rapport.example", Role::Agent, 1),
    ("Jonas Berg", "jonas@rapport.example", Role::Agent, 1),
    ("Aisha Bello", "aisha@rapport.example", Role::Agent, 1),
    ("Lucía Romero", "lucia@rapport.example", Role::Agent, 2),
];

const FIRST: [&str; 20] = [
    "Ana", "Ben", "Chloé", "Dmitri", "Elif", "Farah", "Gustavo", "Hana", "Ivan", "Jun", "Kwame", "Lena", "Mateo",
    "Nadia", "Oskar", "Paula", "Quentin", "Rosa", "Sven", "Yara",
];
const LAST: [&str; 15] = [
    "Andersen", "Baptiste", "Costa", "Dubois", "Eze", "Fischer", "García", "Horvat", "Ito", "Jensen", "Kowalski",
    "López", "Mensah", "Novak", "Olsen",
];

/// (team index, subject, body) of the demo's contact reasons.
const REASONS: [(usize, &str, &str); 12] = [
    (
        0,
        "Charged twice for the March invoice",
        "I was billed twice this month for the same invoice. Please refund the duplicate charge.",
    ),
    (
        0,
        "How do I change my payment card?",
        "Our company card expired and I can't find where to update the payment method.",
    ),
    (
        0,
        "Refund for cancelled order",
        "I cancelled my order within the trial period but haven't received a refund yet.",
    ),
    (
        0,
        "Invoice needs our VAT number",
        "Could you reissue last month's invoice with our VAT number on it? Finance needs it.",
    ),
    (
        1,
        "Login page shows an error 500",
        "Since this morning the login page shows an internal error for our whole team.",
    ),
    (
        1,
        "API returns 429 too often",
        "Our integration hits rate limits at low volume. Is the limit per key or per account?",
    ),
    (1, "Export to CSV is empty", "When I export the report to CSV the file only has the header row."),
    (
        1,
        "App crashes when uploading photos",
        "The mobile app closes whenever I try to upload a photo larger than a few megabytes.",
    ),
    (
        1,
        "Webhook deliveries stopped",
        "We stopped receiving webhook deliveries yesterday around 3pm; nothing changed on our side.",
    ),
    (2, "Help setting up our account", "We just signed up and need help inviting our team and setting permissions."),
    (2, "Training session for new staff", "Can we book a training session for five new colleagues next week?"),
    (2, "Importing our old tickets", "We are moving from another help desk. How do we import our history?"),
];

const REPLIES: [&str; 5] = [
    "Thanks for getting in touch. I've looked into this and I'm on it; I'll update you within the day.",
    "I'm sorry about the trouble. I've reproduced the problem and passed it to our engineers with your details.",
    "Good news: this is fixed on our side. Could you try again and let me know whether it works for you now?",
    "I've issued the correction. You'll see it on your account within two business days.",
    "Could you send us a screenshot of what you see? That will help us find the cause quickly.",
];

/// Loads the demo data set into an empty database; returns a one-line summary.
pub async fn load(store: &Store, progress: Progress) -> anyhow::Result<String> {
    if store.count_tickets().await? > 0 {
        bail!(
            "this database already holds tickets; the demo loads only into an empty database (use a new --data-dir or --database)"
        );
    }
    let mut rng = StdRng::seed_from_u64(20261122);
    let now = rapport_server::now();
    let bar = match progress {
        Progress::Bar => ProgressBar::new((CUSTOMERS + TICKETS) as u64),
        Progress::Hidden => ProgressBar::hidden(),
    };
    bar.set_style(
        ProgressStyle::with_template("loading demo data {bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let mut teams = Vec::new();
    for (name, description) in TEAMS {
        teams.push(store.insert_team(name.to_owned(), description.to_owned(), now).await?.id);
    }
    let (admin, _) = token::find_or_create_agent(store, ADMIN_EMAIL, Some("Ada Admin".to_owned()), Role::Admin).await?;
    let admin = store.update_agent(admin.id, AgentChanges { teams: Some(teams.clone()), ..Default::default() }).await?;
    let mut agents: Vec<Agent> = Vec::new();
    for (name, email, role, team) in AGENTS {
        let team_ids = if role == Role::Supervisor { teams.clone() } else { vec![teams[team]] };
        agents.push(
            store
                .insert_agent(NewAgent {
                    email: email.to_owned(),
                    name: name.to_owned(),
                    role,
                    teams: team_ids,
                    skills: vec![TEAMS[team].0.to_lowercase().replace(' ', "-")],
                    languages: vec!["en".to_owned()],
                    password_hash: None,
                    now,
                })
                .await?,
        );
    }
    let organizations = [
        store.insert_organization("Northwind Traders".into(), Tier("premium".into()), now).await?,
        store.insert_organization("Globex".into(), Tier("business".into()), now).await?,
        store.insert_organization("Initech".into(), Tier::basic(), now).await?,
    ];

    bar.set_message("customers");
    let mut customers = Vec::with_capacity(CUSTOMERS);
    for index in 0..CUSTOMERS {
        let first = FIRST[index % FIRST.len()];
        let last = LAST[(index / FIRST.len()) % LAST.len()];
        let name = format!("{first} {last}");
        let email = format!("{}.{}{index}@example.com", ascii(first), ascii(last));
        let mut identities = vec![Identity::email(&email)?];
        if index % 3 == 0 {
            identities.push(Identity::phone(&format!("+4477009{index:05}"))?);
        }
        let organization = match index % 10 {
            0 | 1 => Some(organizations[0].id),
            2..=4 => Some(organizations[1].id),
            5 => Some(organizations[2].id),
            _ => None,
        };
        let tier = (index % 17 == 0).then(|| Tier("premium".into()));
        customers.push(store.insert_customer(NewCustomer { name, organization, tier, identities, now }).await?);
        bar.inc(1);
    }

    bar.set_message("tickets");
    let channels = [
        Channel::Email,
        Channel::Email,
        Channel::Email,
        Channel::Web,
        Channel::Chat,
        Channel::Whatsapp,
        Channel::Telegram,
        Channel::Messenger,
        Channel::Instagram,
        Channel::Sms,
        Channel::Phone,
        Channel::Api,
    ];
    for index in 0..TICKETS {
        let customer = &customers[rng.random_range(0..customers.len())];
        let (team_index, subject, body) = REASONS[rng.random_range(0..REASONS.len())];
        let channel = channels[index % channels.len()];
        let urgency = Level::ALL[[0, 1, 1, 1, 2, 2, 3][rng.random_range(0..7)]];
        let status = pick_status(index, &mut rng);
        // New tickets are recent, and some sit close to their first-response target.
        let age = match status {
            Status::New if index % 4 == 0 => 5 * HOUR + rng.random_range(0..50) * MINUTE,
            Status::New => rng.random_range(5..240) * MINUTE,
            _ => rng.random_range(6 * HOUR..14 * DAY),
        };
        let created_at = Timestamp(now.0 - age);
        let identity = preferred_identity(customer, channel);
        let created = store
            .create_ticket(CreateTicket {
                subject: subject.to_owned(),
                body: body.to_owned(),
                html: None,
                channel,
                customer: CustomerRef { name: Some(customer.name.clone()), identities: vec![identity] },
                urgency,
                team: Some(teams[team_index]),
                tags: vec![channel.as_str().to_owned()],
                attachments: Vec::new(),
                actor: Actor::Customer(customer.id),
                idempotency: None,
                linked_to: None,
                origin: Default::default(),
                now: created_at,
            })
            .await?;
        if status != Status::New {
            let team = teams[team_index];
            let owner = pick_owner(&agents, team, &mut rng);
            let viewer = Viewer { agent: admin.id, role: Role::Admin, teams: teams.clone() };
            let at = |minutes: i64| Timestamp((created_at.0 + minutes * MINUTE).min(now.0));
            store
                .patch_ticket(
                    created.ticket.id,
                    viewer.clone(),
                    TicketPatch { owner: Some(Some(owner.id)), ..Default::default() },
                    None,
                    at(5),
                )
                .await?;
            let owner_viewer = Viewer::of(&owner);
            let reply = REPLIES[rng.random_range(0..REPLIES.len())];
            store
                .add_message(created.ticket.id, Some(owner_viewer.clone()), reply_message(reply, owner.id, at(40)))
                .await?;
            let next = match status {
                Status::Open => None,
                Status::Closed => Some(Status::Solved),
                other => Some(other),
            };
            if let Some(next) = next {
                let patch = TicketPatch { status: Some(next), ..Default::default() };
                store.patch_ticket(created.ticket.id, owner_viewer.clone(), patch, None, at(120)).await?;
            }
            if status == Status::Closed {
                let patch = TicketPatch { status: Some(Status::Closed), ..Default::default() };
                store.patch_ticket(created.ticket.id, owner_viewer, patch, None, at(5 * 24 * 60)).await?;
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(format!(
        "demo loaded: {} teams, {} agents, {} organizations, {CUSTOMERS} customers, {TICKETS} tickets",
        teams.len(),
        agents.len() + 1,
        organizations.len()
    ))
}

/// Makes sure the demo admin can sign in and call the API: sets a fresh
/// password and creates a token, both shown once.
pub async fn sign_in(store: &Store) -> anyhow::Result<Welcome> {
    let (admin, _) = token::find_or_create_agent(store, ADMIN_EMAIL, Some("Ada Admin".to_owned()), Role::Admin).await?;
    let password: String = {
        let mut rng = rand::rng();
        (0..16).map(|_| char::from(b"abcdefghijkmnpqrstuvwxyz23456789"[rng.random_range(0..32)])).collect()
    };
    let hash = rapport_server::auth::hash_password(&password)?;
    store.update_agent(admin.id, AgentChanges { password_hash: Some(hash), ..Default::default() }).await?;
    let token = token::create_token(store, &admin, "demo".to_owned()).await?;
    Ok(Welcome { email: admin.email, password, token })
}

fn pick_status(index: usize, rng: &mut StdRng) -> Status {
    if index.is_multiple_of(5) {
        return Status::New;
    }
    match rng.random_range(0..20) {
        0..=5 => Status::Open,
        6..=8 => Status::Pending,
        9 => Status::OnHold,
        10..=15 => Status::Solved,
        _ => Status::Closed,
    }
}

fn pick_owner(agents: &[Agent], team: TeamId, rng: &mut StdRng) -> Agent {
    let members: Vec<&Agent> =
        agents.iter().filter(|agent| agent.role == Role::Agent && agent.teams.contains(&team)).collect();
    let index = rng.random_range(0..members.len().max(1));
    members.get(index).map(|agent| (*agent).clone()).unwrap_or_else(|| agents[0].clone())
}

fn preferred_identity(customer: &rapport_core::Customer, channel: Channel) -> Identity {
    let wants_phone = matches!(channel, Channel::Whatsapp | Channel::Sms | Channel::Phone);
    customer
        .identities
        .iter()
        .find(|identity| wants_phone == (identity.kind == rapport_core::IdentityKind::Phone))
        .or_else(|| customer.identities.first())
        .cloned()
        .unwrap_or(Identity { kind: rapport_core::IdentityKind::Chat, value: format!("visitor-{}", customer.id) })
}

fn reply_message(text: &str, agent: rapport_core::AgentId, now: Timestamp) -> NewMessage {
    NewMessage {
        kind: MessageKind::Reply,
        author: Author::Agent(agent),
        text: text.to_owned(),
        html: None,
        attachments: Vec::new(),
        origin: Default::default(),
        now,
    }
}

/// Folds accents for the demo's email addresses.
fn ascii(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'é' => 'e',
            'á' => 'a',
            'í' => 'i',
            'ó' => 'o',
            _ => c,
        })
        .collect::<String>()
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn demo_fills_an_empty_database_once() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("demo.db").display());
        let store = Store::open(&url, rapport_store::StoreOptions::default()).await.unwrap();
        let summary = load(&store, Progress::Hidden).await.unwrap();
        assert!(summary.contains("320 tickets"), "{summary}");
        assert_eq!(store.count_tickets().await.unwrap(), TICKETS as i64);
        let admin = store.find_agent_by_email(ADMIN_EMAIL).await.unwrap().unwrap();
        let page = store
            .list_tickets(rapport_store::TicketFilter { limit: 500, ..Default::default() }, &Viewer::of(&admin))
            .await
            .unwrap();
        let statuses: std::collections::HashSet<Status> = page.tickets.iter().map(|t| t.status).collect();
        let channels: std::collections::HashSet<Channel> = page.tickets.iter().map(|t| t.channel).collect();
        assert_eq!(statuses.len(), Status::ALL.len(), "every status is represented");
        assert_eq!(channels.len(), Channel::ALL.len(), "every channel is represented");
        assert!(load(&store, Progress::Hidden).await.is_err(), "a second load is refused");
        let welcome = sign_in(&store).await.unwrap();
        let hash = store.find_password_hash(admin.id).await.unwrap().unwrap();
        assert!(rapport_server::auth::verify_password(&welcome.password, &hash));
        assert!(welcome.token.len() > 20);
    }
}
