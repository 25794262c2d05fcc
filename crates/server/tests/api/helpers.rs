//! `spawn_app()`: a real server on a free port over a fresh database, and a
//! `TestApp` with typed helpers to talk HTTP to it.
//!
//! The database is SQLite in a temporary folder, or, when
//! `RAPPORT_TEST_DATABASE_URL` names a PostgreSQL server, a new database
//! `rapport_test_<random>` on it, dropped when the test ends.

use rapport_core::{AgentId, Role, TeamId};
use rapport_server::{AppState, Clock, ServerConfig, http::auth};
use rapport_store::{NewAgent, Store, StoreOptions};
use reqwest::{Method, RequestBuilder, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection};
use tokio::sync::oneshot;

/// Now, by the system clock: for setting up records a test does not time.
pub fn now() -> rapport_core::Timestamp {
    Clock::system().now()
}

/// A running server and what the test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// The server's store, for setting up agents and tokens directly.
    pub store: Store,
    /// An admin with a token.
    pub admin: TestAgent,
    /// The server's clock (manual in tests that move time by hand).
    pub clock: Clock,
    database: TestDatabase,
    url: String,
    config: ServerConfig,
    server: Instance,
}

/// One running server: stopping it waits until it has shut down.
pub struct Instance {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Instance {
    /// Starts a server on its own store over `url`.
    pub async fn start(url: &str, config: ServerConfig, clock: Clock) -> Instance {
        let store = Store::open(url, StoreOptions::default()).await.expect("opening the test store");
        Instance::start_on(store, config, clock).await
    }

    async fn start_on(store: Store, config: ServerConfig, clock: Clock) -> Instance {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binding a free port");
        let address = format!("http://{}", listener.local_addr().expect("the bound address"));
        let state = AppState { clock, ..AppState::new(store, config) };
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let signal = async move {
                let _ = stop.await;
            };
            if let Err(error) = rapport_server::serve(listener, state, signal).await {
                eprintln!("the test server failed: {error:#}");
            }
        });
        Instance { address, shutdown, task }
    }

    /// Stops the server and waits for it (its background work included) to end.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        self.task.await.expect("the test server task");
    }
}

/// An agent and their API token.
#[derive(Debug, Clone)]
pub struct TestAgent {
    /// The agent's id.
    pub id: i64,
    /// The secret to send as a bearer token.
    pub token: String,
    /// The token's id (to revoke it).
    pub token_id: i64,
}

/// An answer: status, headers and the body as JSON (`Null` when not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// Asserts an error answer with this status, code and (optionally) field.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, code: &str, field: Option<&str>) {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert_eq!(self.body["error"]["code"], code, "code of {}", self.text);
        assert!(self.body["error"]["message"].as_str().is_some_and(|message| !message.is_empty()), "{}", self.text);
        if let Some(field) = field {
            assert_eq!(self.body["error"]["field"], field, "field of {}", self.text);
        }
    }

    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn expect(self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "status of {}", self.text);
        self.body
    }
}

enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = &self.database {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Dropping needs async I/O, and Drop runs inside the test's
            // runtime: do it on a thread of its own.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(async {
                    let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await?;
                    anyhow::Ok(())
                })
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("could not drop the test database {}", self.database_name());
            }
        }
    }
}

/// Starts a server on a fresh database, with an admin agent and token.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(ServerConfig::default()).await
}

/// [`spawn_app`] with a given configuration.
pub async fn spawn_app_with(config: ServerConfig) -> TestApp {
    spawn_app_on(config, Clock::system()).await
}

/// [`spawn_app`] on a clock that stands still until the test moves it.
pub async fn spawn_app_at(config: ServerConfig, start: rapport_core::Timestamp) -> TestApp {
    spawn_app_on(config, Clock::manual(start)).await
}

async fn spawn_app_on(config: ServerConfig, clock: Clock) -> TestApp {
    let (url, database) = fresh_database().await;
    let store = Store::open(&url, StoreOptions::default()).await.expect("opening the test store");
    let server = Instance::start_on(store.clone(), config.clone(), clock.clone()).await;
    rapport_channels::http::install_crypto_provider();
    let client = reqwest::Client::builder().build().expect("building an HTTP client");
    let admin = new_agent(&store, Role::Admin, &[]).await;
    TestApp { address: server.address.clone(), client, store, admin, clock, database, url, config, server }
}

impl TestApp {
    /// Stops the server and starts a new one (a new store, a new port) on
    /// the same database and clock, as after a crash or a deploy.
    pub async fn restart(&mut self) {
        let fresh = Instance::start(&self.url, self.config.clone(), self.clock.clone()).await;
        let old = std::mem::replace(&mut self.server, fresh);
        old.stop().await;
        self.address = self.server.address.clone();
    }

    /// The database URL.
    pub fn database_url(&self) -> &str {
        &self.url
    }

    /// Starts another server on the same database (several instances on one PostgreSQL).
    pub async fn another_instance(&self) -> Instance {
        Instance::start(&self.url, self.config.clone(), self.clock.clone()).await
    }
}

async fn fresh_database() -> (String, TestDatabase) {
    match std::env::var("RAPPORT_TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("rapport_test_{}", hex::encode(rand::random::<[u8; 8]>()));
            let mut conn =
                sqlx::PgConnection::connect(&admin_url).await.expect("connecting to RAPPORT_TEST_DATABASE_URL");
            sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut conn)
                .await
                .expect("creating a test database");
            let url = with_database(&admin_url, &name);
            (url, TestDatabase::Postgres { admin_url, name })
        }
        _ => {
            let dir = tempfile::tempdir().expect("creating a temporary folder");
            let url = format!("sqlite://{}", dir.path().join("rapport.db").display());
            (url, TestDatabase::Sqlite(dir))
        }
    }
}

/// `postgres://user@host:port/db?params` with `db` replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, params) = url.split_once('?').map_or((url, None), |(base, params)| (base, Some(params)));
    let authority_end = base.find("://").map_or(0, |index| index + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match params {
        Some(params) => format!("{base}/{name}?{params}"),
        None => format!("{base}/{name}"),
    }
}

/// Creates an agent with a token directly in the store.
pub async fn new_agent(store: &Store, role: Role, teams: &[i64]) -> TestAgent {
    let email = format!("agent-{}@example.com", hex::encode(rand::random::<[u8; 6]>()));
    let agent = store
        .insert_agent(NewAgent {
            email,
            name: format!("Test {role}"),
            role,
            teams: teams.iter().copied().map(TeamId).collect(),
            skills: Vec::new(),
            languages: vec!["en".into()],
            password_hash: Some(auth::hash_password("a long test password").expect("hashing")),
            now: now(),
            by: rapport_core::Actor::System,
        })
        .await
        .expect("inserting an agent");
    let (token, hash) = auth::new_token();
    let token_id = store
        .insert_token(AgentId(agent.id.0), "test".into(), hash, rapport_core::Actor::System, now())
        .await
        .expect("inserting a token");
    TestAgent { id: agent.id.0, token, token_id }
}

impl TestApp {
    fn database_name(&self) -> &str {
        match &self.database {
            TestDatabase::Sqlite(_) => "sqlite",
            TestDatabase::Postgres { name, .. } => name,
        }
    }

    /// A new agent with a token.
    pub async fn agent(&self, role: Role, teams: &[i64]) -> TestAgent {
        new_agent(&self.store, role, teams).await
    }

    /// A request to `path`, with `agent`'s token when given.
    pub fn request(&self, method: Method, path: &str, agent: Option<&TestAgent>) -> RequestBuilder {
        let builder = self.client.request(method, format!("{}{path}", self.address));
        match agent {
            Some(agent) => builder.bearer_auth(&agent.token),
            None => builder,
        }
    }

    /// Sends a request and reads the answer.
    pub async fn send(&self, builder: RequestBuilder) -> Reply {
        let response = builder.send().await.expect("sending a request");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("reading the answer");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, body, text }
    }

    /// `GET path` as `agent`.
    pub async fn get(&self, path: &str, agent: &TestAgent) -> Reply {
        self.send(self.request(Method::GET, path, Some(agent))).await
    }

    /// `POST path` with a JSON body as `agent`.
    pub async fn post(&self, path: &str, agent: &TestAgent, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path, Some(agent)).json(body)).await
    }

    /// `POST path` with raw bytes as JSON as `agent`.
    pub async fn post_raw(&self, path: &str, agent: &TestAgent, body: impl Into<reqwest::Body>) -> Reply {
        let builder = self.request(Method::POST, path, Some(agent)).header("content-type", "application/json");
        self.send(builder.body(body)).await
    }

    /// `PATCH path` with a JSON body as `agent`, with `If-Match` when given.
    pub async fn patch(&self, path: &str, agent: &TestAgent, body: &Value, if_match: Option<&str>) -> Reply {
        let mut builder = self.request(Method::PATCH, path, Some(agent)).json(body);
        if let Some(version) = if_match {
            builder = builder.header("if-match", version);
        }
        self.send(builder).await
    }

    /// `PUT path` with a JSON body as `agent`.
    pub async fn put(&self, path: &str, agent: &TestAgent, body: &Value) -> Reply {
        self.send(self.request(Method::PUT, path, Some(agent)).json(body)).await
    }

    /// `DELETE path` as `agent`.
    pub async fn delete(&self, path: &str, agent: &TestAgent) -> Reply {
        self.send(self.request(Method::DELETE, path, Some(agent))).await
    }

    /// Waits (up to 10 s) until the background projector has measured every changed ticket.
    pub async fn settle(&self) {
        for _ in 0..200 {
            if self.store.count_sla_backlog().await.expect("counting the SLA backlog") == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the SLA projector did not catch up within 10 s");
    }

    /// Creates a ticket as `agent`, asserting 201; returns its JSON.
    pub async fn create_ticket(&self, agent: &TestAgent, body: &Value) -> Value {
        self.post("/api/v1/tickets", agent, body).await.expect(StatusCode::CREATED)
    }

    /// Creates a team as the admin; returns its id.
    pub async fn team(&self, name: &str) -> i64 {
        let team = self.post("/api/v1/teams", &self.admin, &json!({ "name": name })).await.expect(StatusCode::CREATED);
        team["id"].as_i64().expect("a team id")
    }

    /// Sets a ticket's fields as the admin, asserting 200.
    pub async fn set(&self, ticket: i64, patch: Value) -> Value {
        self.patch(&format!("/api/v1/tickets/{ticket}"), &self.admin, &patch, None).await.expect(StatusCode::OK)
    }
}

/// A valid create-ticket body for the customer `email`.
pub fn ticket_body(email: &str) -> Value {
    json!({
        "subject": "Printer on fire",
        "body": "Hello, my printer is on fire. Please help.",
        "channel": "email",
        "customer": { "email": email, "name": "Ann Example" },
    })
}

/// The ids of the records listed under `key` in a page.
#[track_caller]
pub fn ids(page: &Value, key: &str) -> Vec<i64> {
    page[key].as_array().unwrap_or_else(|| panic!("no {key} in {page}")).iter().map(id).collect()
}

/// The id of a ticket, customer, team, ... JSON.
#[track_caller]
pub fn id(value: &Value) -> i64 {
    value["id"].as_i64().unwrap_or_else(|| panic!("no id in {value}"))
}

#[test]
fn database_names_are_replaced() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(with_database("postgres://u@h/db?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}
