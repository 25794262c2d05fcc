-- The phone: each call's lifecycle (the instants its provider reported, from
-- which wait and talk time are measured) and the callback queue, whose order
-- is the instant each callback was requested.

CREATE TABLE calls (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    call_sid      TEXT NOT NULL UNIQUE,
    ticket_id     INTEGER REFERENCES tickets(id),
    caller        TEXT NOT NULL,
    state         TEXT NOT NULL,
    queued_at     INTEGER,
    ringing_at    INTEGER,
    answered_at   INTEGER,
    ended_at      INTEGER,
    voicemail_url TEXT,
    agent_id      INTEGER REFERENCES agents(id),
    created_at    INTEGER NOT NULL
);
CREATE INDEX calls_created ON calls(created_at);
CREATE INDEX calls_ticket ON calls(ticket_id);

CREATE TABLE callbacks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    phone        TEXT NOT NULL,
    ticket_id    INTEGER REFERENCES tickets(id),
    source       TEXT NOT NULL,
    call_sid     TEXT UNIQUE,
    requested_at INTEGER NOT NULL,
    state        TEXT NOT NULL,
    offered_to   INTEGER REFERENCES agents(id),
    offered_at   INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0,
    done_at      INTEGER
);
CREATE INDEX callbacks_line ON callbacks(state, requested_at, id);
CREATE INDEX callbacks_phone ON callbacks(phone, state);
