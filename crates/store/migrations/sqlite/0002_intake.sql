-- Intake and outbox: verified identities, message external ids (Message-IDs)
-- and delivery states, ticket participants (requesters and followers), the
-- outbox, the quarantine, admin alerts, merges, magic links, rate counters and
-- the help pages' sessions.

ALTER TABLE identities ADD COLUMN verified_at INTEGER;

ALTER TABLE messages ADD COLUMN external_id TEXT;
ALTER TABLE messages ADD COLUMN delivery TEXT;
ALTER TABLE messages ADD COLUMN original_text TEXT;
ALTER TABLE messages ADD COLUMN sender_kind TEXT;
ALTER TABLE messages ADD COLUMN sender_value TEXT;
-- One message per channel id: a redelivered email is filed once, a reply to
-- one of our Message-IDs threads onto its ticket.
CREATE UNIQUE INDEX messages_external ON messages(channel, external_id) WHERE external_id IS NOT NULL;
-- The per-sender rate limit counts recent inbound messages.
CREATE INDEX messages_sender ON messages(sender_kind, sender_value, created_at) WHERE sender_value IS NOT NULL;

-- A merged ticket points at the one that survived; a survivor's reads gather
-- the tickets merged into it through this index.
ALTER TABLE tickets ADD COLUMN merged_into INTEGER REFERENCES tickets(id);
CREATE INDEX tickets_merged_into ON tickets(merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE ticket_participants (
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    role       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, kind, value)
);
CREATE INDEX ticket_participants_identity ON ticket_participants(kind, value);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      INTEGER REFERENCES messages(id),
    ticket_id       INTEGER REFERENCES tickets(id),
    channel         TEXT NOT NULL,
    external_id     TEXT NOT NULL UNIQUE,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX outbox_message ON outbox(message_id);

CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    channel     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    sha256      TEXT NOT NULL UNIQUE,
    raw         BLOB NOT NULL,
    state       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    resolved_at INTEGER,
    ticket_id   INTEGER REFERENCES tickets(id)
);
CREATE INDEX quarantine_state ON quarantine(state, id);

CREATE TABLE admin_alerts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    detail     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    seen_at    INTEGER
);

CREATE TABLE customer_merges (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id  INTEGER NOT NULL REFERENCES customers(id),
    target_id  INTEGER NOT NULL REFERENCES customers(id),
    actor_type TEXT NOT NULL,
    actor_id   INTEGER,
    identities TEXT NOT NULL,
    tickets    TEXT NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX customer_merges_target ON customer_merges(target_id);
CREATE INDEX customer_merges_source ON customer_merges(source_id);
ALTER TABLE customers ADD COLUMN merged_into INTEGER REFERENCES customers(id);

CREATE TABLE magic_links (
    token_hash  TEXT PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    ticket_id   INTEGER REFERENCES tickets(id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);

CREATE TABLE rate_counters (
    key          TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL
);

-- A customer's session in the help pages, begun by following a magic link.
-- Only the SHA-256 of the cookie's secret is kept. The session belongs to the
-- identity that followed the link, so it follows that identity through
-- customer merges and ends when the identity is erased or loses its verification.
CREATE TABLE portal_sessions (
    token_hash TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX portal_sessions_identity ON portal_sessions(kind, value);
