//! A fresh store per test, on the backend the environment selects.

use rapport_core::{Actor, Channel, Identity, Level, Role, TeamId, Timestamp, Viewer};
use rapport_store::{CreateTicket, CustomerRef, NewAgent, Store, StoreOptions};
use sqlx::Connection;

pub struct TestStore {
    pub store: Store,
    // Keeps the SQLite file alive for the test's duration.
    _dir: Option<tempfile::TempDir>,
}

impl std::ops::Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

/// A migrated, empty store.
pub async fn fresh_store() -> TestStore {
    fresh_store_with_url().await.0
}

/// A migrated, empty store and its database URL, for opening a second store
/// on the same database (as a second instance would).
pub async fn fresh_store_with_url() -> (TestStore, String) {
    match std::env::var("RAPPORT_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let url = fresh_postgres_database(&base).await;
            (TestStore { store: Store::open(&url, StoreOptions::default()).await.unwrap(), _dir: None }, url)
        }
        _ => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            (TestStore { store: Store::open(&url, StoreOptions::default()).await.unwrap(), _dir: Some(dir) }, url)
        }
    }
}

/// Creates `rapport_test_<random>` on the server of `base` and returns its URL.
pub async fn fresh_postgres_database(base: &str) -> String {
    let name = format!("rapport_test_{:016x}", rand::random::<u64>());
    let mut admin = sqlx::PgConnection::connect(base).await.expect("connecting to RAPPORT_TEST_DATABASE_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.unwrap();
    let (server, _) =
        base.rsplit_once('/').expect("RAPPORT_TEST_DATABASE_URL has the form postgres://USER@HOST:PORT/DB");
    format!("{server}/{name}")
}

pub const T0: Timestamp = Timestamp(1_790_000_000_000);

pub fn at(seconds: i64) -> Timestamp {
    T0.plus_millis(seconds * 1000)
}

pub async fn agent(store: &Store, email: &str, role: Role, teams: Vec<TeamId>) -> Viewer {
    let agent = store
        .insert_agent(NewAgent {
            email: email.to_owned(),
            name: email.to_owned(),
            role,
            teams,
            skills: vec![],
            languages: vec!["en".into()],
            password_hash: None,
            now: T0,
            by: rapport_core::Actor::System,
        })
        .await
        .unwrap();
    Viewer::of(&agent)
}

pub fn request(subject: &str, email: &str) -> CreateTicket {
    CreateTicket {
        subject: subject.to_owned(),
        body: format!("Body of {subject}"),
        html: None,
        channel: Channel::Email,
        customer: CustomerRef { name: Some("Ann Example".into()), identities: vec![Identity::email(email).unwrap()] },
        urgency: Level::Normal,
        team: None,
        tags: vec![],
        attachments: vec![],
        actor: Actor::System,
        idempotency: None,
        linked_to: None,
        origin: Default::default(),
        now: T0,
    }
}

/// An email from `from` with Message-ID `id`, in intake's shape.
pub fn email(from: &str, id: &str, subject: &str, now: Timestamp) -> rapport_core::InboundMessage {
    rapport_core::InboundMessage {
        sender_name: Some("Ann Example".into()),
        external_id: Some(id.to_owned()),
        ..rapport_core::InboundMessage::new(
            Channel::Email,
            Identity::email(from).unwrap(),
            subject.to_owned(),
            format!("text of {id}"),
            now,
        )
    }
}

/// A request to file `message`, acknowledged with Message-ID `ack` if given.
pub fn filing(message: rapport_core::InboundMessage, ack: Option<&str>) -> rapport_store::FileInbound {
    rapport_store::FileInbound {
        raw: format!("raw {:?}", message.external_id).into_bytes(),
        message,
        acknowledgment: ack.map(str::to_owned),
        rate_limit: rapport_core::intake::RateLimit::default(),
    }
}

/// Runs one statement on the database at `url` behind the store's back (to
/// stage rows as an older version or a damaged file would have left them).
pub async fn execute_sql(url: &str, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
}

/// The first column of every row `sql` returns, as text, read behind the
/// store's back (to see what the database itself holds).
pub async fn query_texts(url: &str, sql: &str) -> Vec<String> {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
    }
}

/// A help-pages session of `customer` by `email` that reaches all their tickets.
pub fn portal_session(customer: rapport_core::CustomerId, email: &str) -> rapport_store::PortalSession {
    rapport_store::PortalSession {
        customer,
        identity: Identity::email(email).unwrap(),
        reach: rapport_store::PortalReach::Customer,
    }
}
