-- Every change of a setting (teams, agents, tokens, service levels, rules,
-- customers' tiers, quarantine decisions...): who, when, what, and the
-- record before and after as JSON (null when created or deleted). Written
-- in the transaction of the change it records, so neither is ever without
-- the other. Listed newest first, by subject or by actor.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id   INTEGER,
    subject    TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    verb       TEXT NOT NULL,
    old_value  TEXT,
    new_value  TEXT
);
CREATE INDEX audit_log_subject ON audit_log(subject, id);
CREATE INDEX audit_log_actor ON audit_log(actor_id, id);
