-- Live chat (issue 4): one row per chat session of a website visitor. The
-- visitor id is random, made by the widget and kept in the browser; the
-- conversation itself is the ticket's messages. State: queued (waiting for an
-- agent), active (an agent has it), offline (no agent came: answered by
-- email), ended.

CREATE TABLE chat_sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    visitor     TEXT NOT NULL,
    ticket_id   INTEGER REFERENCES tickets(id),
    state       TEXT NOT NULL,
    agent_id    INTEGER REFERENCES agents(id),
    email       TEXT,
    created_at  INTEGER NOT NULL,
    assigned_at INTEGER,
    answered_at INTEGER,
    ended_at    INTEGER
);
CREATE INDEX chat_sessions_visitor ON chat_sessions(visitor, id);
CREATE INDEX chat_sessions_ticket ON chat_sessions(ticket_id, id);

-- How many chats an agent takes at once; NULL means the `[chat]
-- default_capacity` setting (3 unless configured).
ALTER TABLE agents ADD COLUMN chat_capacity INTEGER;
