-- Foundation schema: organizations, customers and identities, teams, agents,
-- API tokens, tickets, messages, attachments, the event log, idempotency keys
-- and full-text search. Instants are INTEGER milliseconds since the epoch.

CREATE TABLE organizations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    tier        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE customers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL,
    organization_id INTEGER REFERENCES organizations(id),
    tier            TEXT,
    erased_at       INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX customers_organization ON customers(organization_id);

CREATE TABLE identities (
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    PRIMARY KEY (kind, value)
);
CREATE INDEX identities_customer ON identities(customer_id);

CREATE TABLE teams (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE agents (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    skills        TEXT NOT NULL,
    languages     TEXT NOT NULL,
    password_hash TEXT,
    active        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE agent_teams (
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    team_id  INTEGER NOT NULL REFERENCES teams(id),
    PRIMARY KEY (agent_id, team_id)
);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id    INTEGER NOT NULL REFERENCES agents(id),
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE tickets (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    subject         TEXT NOT NULL,
    status          TEXT NOT NULL,
    active          INTEGER NOT NULL,
    urgency         INTEGER NOT NULL,
    priority        INTEGER NOT NULL,
    priority_reason TEXT,
    channel         TEXT NOT NULL,
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    team_id         INTEGER REFERENCES teams(id),
    owner_id        INTEGER REFERENCES agents(id),
    tags            TEXT NOT NULL,
    linked_to       INTEGER REFERENCES tickets(id),
    version         INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    solved_at       INTEGER
);
-- Queue views: one team's (or one owner's) unsolved tickets by priority, then age.
CREATE INDEX tickets_team_queue ON tickets(team_id, active, priority DESC, created_at, id);
CREATE INDEX tickets_owner_queue ON tickets(owner_id, active, priority DESC, created_at, id);
CREATE INDEX tickets_status_queue ON tickets(status, priority DESC, created_at, id);
CREATE INDEX tickets_customer ON tickets(customer_id, created_at);
CREATE INDEX tickets_updated ON tickets(updated_at, id);
CREATE INDEX tickets_solved ON tickets(solved_at) WHERE status = 'solved';

CREATE TABLE ticket_tags (
    tag       TEXT NOT NULL,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    PRIMARY KEY (tag, ticket_id)
);
CREATE INDEX ticket_tags_ticket ON ticket_tags(ticket_id);

CREATE TABLE messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    kind        TEXT NOT NULL,
    author_type TEXT NOT NULL,
    author_id   INTEGER,
    channel     TEXT NOT NULL,
    text        TEXT NOT NULL,
    html        TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX messages_ticket ON messages(ticket_id, id);

CREATE TABLE attachments (
    sha256  TEXT PRIMARY KEY,
    size    INTEGER NOT NULL,
    content BLOB NOT NULL
);

CREATE TABLE message_attachments (
    message_id   INTEGER NOT NULL REFERENCES messages(id),
    position     INTEGER NOT NULL,
    sha256       TEXT NOT NULL REFERENCES attachments(sha256),
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    PRIMARY KEY (message_id, position)
);
CREATE INDEX message_attachments_sha ON message_attachments(sha256);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    version    INTEGER NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id   INTEGER,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL
);
CREATE INDEX events_ticket ON events(ticket_id, id);

CREATE TABLE idempotency_keys (
    agent_id     INTEGER NOT NULL REFERENCES agents(id),
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    ticket_id    INTEGER NOT NULL REFERENCES tickets(id),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (agent_id, key)
);

-- Full-text search: external-content FTS5 tables. New rows are indexed by
-- the writer once per write batch (FTS5 flushes its pending index at every
-- statement, so per-row triggers would write a tiny segment per statement);
-- search_indexed records how far each table is indexed, in the same
-- transaction. Updates and deletes of indexed rows are kept in step by triggers.
CREATE TABLE search_indexed (
    name    TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL
);
INSERT INTO search_indexed (name, last_id) VALUES ('tickets', 0), ('messages', 0);

CREATE VIRTUAL TABLE tickets_fts USING fts5(subject, content='tickets', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets
WHEN old.id <= (SELECT last_id FROM search_indexed WHERE name = 'tickets') BEGIN
    INSERT INTO tickets_fts(tickets_fts, rowid, subject) VALUES ('delete', old.id, old.subject);
END;
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject ON tickets
WHEN old.id <= (SELECT last_id FROM search_indexed WHERE name = 'tickets') BEGIN
    INSERT INTO tickets_fts(tickets_fts, rowid, subject) VALUES ('delete', old.id, old.subject);
    INSERT INTO tickets_fts(rowid, subject) VALUES (new.id, new.subject);
END;

CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.id <= (SELECT last_id FROM search_indexed WHERE name = 'messages') BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages
WHEN old.id <= (SELECT last_id FROM search_indexed WHERE name = 'messages') BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
