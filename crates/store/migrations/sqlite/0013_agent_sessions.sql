-- An agent's signed-in session in the workspace. Only the SHA-256 of the
-- cookie's secret is kept, so a copy of the database signs nobody in. Every
-- instance on one database shares these rows. A password change or a
-- deactivation deletes all of an agent's sessions.
CREATE TABLE agent_sessions (
    token_hash TEXT PRIMARY KEY,
    agent_id   INTEGER NOT NULL REFERENCES agents(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX agent_sessions_agent ON agent_sessions(agent_id);


-- A single-use link that lets an agent choose a password: an invitation or a
-- reset, emailed through the outbox (or printed by `rapport agent invite`).
-- Only the SHA-256 of its secret is kept. Using it ends the agent's sessions.
CREATE TABLE password_links (
    token_hash TEXT PRIMARY KEY,
    agent_id   INTEGER NOT NULL REFERENCES agents(id),
    purpose    TEXT NOT NULL CHECK (purpose IN ('invite', 'reset')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX password_links_agent ON password_links(agent_id);

-- A queue view saved with its filters: an agent's own (agent_id set) or
-- shared with everyone (agent_id NULL, made by a supervisor or an admin).
CREATE TABLE saved_views (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id   INTEGER REFERENCES agents(id),
    name       TEXT NOT NULL,
    base       TEXT NOT NULL,
    filters    TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES agents(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX saved_views_agent ON saved_views(agent_id);

-- The workspace's widest queue, every unsolved ticket by priority then age
-- (no team, no owner), read in index order at any size.
CREATE INDEX tickets_active_queue ON tickets(active, priority DESC, created_at, id);
