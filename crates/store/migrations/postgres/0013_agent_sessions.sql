-- An agent's signed-in session in the workspace. Only the SHA-256 of the
-- cookie's secret is kept, so a copy of the database signs nobody in. Every
-- instance on one database shares these rows. A password change or a
-- deactivation deletes all of an agent's sessions.
CREATE TABLE agent_sessions (
    token_hash TEXT PRIMARY KEY,
    agent_id   BIGINT NOT NULL REFERENCES agents(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX agent_sessions_agent ON agent_sessions(agent_id);

