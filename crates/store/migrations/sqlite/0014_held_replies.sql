-- How long a team's agents may take back an email, messaging or SMS reply
-- sent from the workspace before it is filed and goes out (0: at once).
-- Live chat replies are never held.
ALTER TABLE teams ADD COLUMN reply_undo_seconds INTEGER NOT NULL DEFAULT 10;

-- A reply sent from the workspace inside its undo window: filed on its
-- ticket and queued for the outbox when `due_at` passes, in one transaction
-- that deletes this row (so several instances release it once), or taken
-- back by its agent before then. A release the ticket refuses (closed,
-- merged, no channel left) keeps the row with the reason in `failure`, for
-- the agent to take back; nothing written is lost.
CREATE TABLE held_replies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    agent_id    INTEGER NOT NULL REFERENCES agents(id),
    body        TEXT NOT NULL,
    channel     TEXT,
    status      TEXT,
    created_at  INTEGER NOT NULL,
    due_at      INTEGER NOT NULL,
    failure     TEXT
);
CREATE INDEX held_replies_due ON held_replies(due_at);
CREATE INDEX held_replies_ticket ON held_replies(ticket_id);

-- The files of a held reply, kept with it (not yet among the attachments,
-- which an erasure may prune) and deleted with it.
CREATE TABLE held_reply_files (
    held_id      INTEGER NOT NULL REFERENCES held_replies(id),
    position     INTEGER NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content      BLOB NOT NULL,
    PRIMARY KEY (held_id, position)
);
