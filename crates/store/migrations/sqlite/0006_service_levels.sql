-- Service levels (issue 5): calendars, SLA policies, each ticket's measured
-- targets, escalation rules and the jobs that carry out their actions,
-- notifications and follow-up tasks, escalation levels, overflow teams and
-- problem tickets (major incidents).

-- Business-hours calendars, kept as their TOML text (docs/service-levels.md).
CREATE TABLE calendars (
    name       TEXT PRIMARY KEY,
    source     TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- SLA policies in order: the first that matches a ticket applies.
-- `definition` is the policy as JSON (conditions, targets, calendar).
CREATE TABLE sla_policies (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    position   INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Small named settings: the policy generation (bumped by every change to
-- policies or calendars), the recompute sweep's progress, the escalation plan.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO settings (name, value) VALUES ('sla_generation', '1'), ('sla_sweep', '{"generation":1,"after":0}');

-- Tickets whose SLA projection is out of date: every event marks its ticket
-- (the trigger below), the projector recomputes and unmarks it unless a newer
-- event marked it again meanwhile (`event_id` differs).
CREATE TABLE sla_dirty (
    ticket_id     INTEGER PRIMARY KEY,
    event_id      INTEGER NOT NULL,
    claimed_until INTEGER NOT NULL DEFAULT 0
);
CREATE TRIGGER events_mark_sla_dirty AFTER INSERT ON events BEGIN
    INSERT OR REPLACE INTO sla_dirty (ticket_id, event_id, claimed_until) VALUES (new.ticket_id, new.id, 0);
END;

-- Each ticket's targets as last measured (at `computed_at`), one row per
-- ticket. Per target (fr_ first response, nr_ next response, res_
-- resolution): when its cycle started (NULL: no such target), its length in
-- seconds, the time counted until `computed_at` (or until met), the due
-- instant, when it was met and its state then. A running target whose due
-- instant has passed is breached: readers derive that from `now`.
CREATE TABLE ticket_sla (
    ticket_id         INTEGER PRIMARY KEY REFERENCES tickets(id),
    policy_id         INTEGER,
    generation        INTEGER NOT NULL,
    computed_at       INTEGER NOT NULL,
    event_id          INTEGER NOT NULL,
    open              INTEGER NOT NULL,
    tier              TEXT NOT NULL,
    next_due          INTEGER,
    reopens           INTEGER NOT NULL,
    transfers         INTEGER NOT NULL,
    messages          INTEGER NOT NULL,
    customer_messages INTEGER NOT NULL,
    unowned_since     INTEGER,
    pending_since     INTEGER,
    fr_start INTEGER, fr_seconds INTEGER, fr_elapsed INTEGER, fr_due INTEGER, fr_met INTEGER, fr_state TEXT,
    nr_start INTEGER, nr_seconds INTEGER, nr_elapsed INTEGER, nr_due INTEGER, nr_met INTEGER, nr_state TEXT,
    res_start INTEGER, res_seconds INTEGER, res_elapsed INTEGER, res_due INTEGER, res_met INTEGER, res_state TEXT
);
CREATE INDEX ticket_sla_open ON ticket_sla(open, ticket_id);
CREATE INDEX ticket_sla_next_due ON ticket_sla(next_due) WHERE open = 1;

-- Escalation rules in order; `definition` is the rule as JSON.
CREATE TABLE rules (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    position   INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Work to do once, at or after `run_at`: a rule's actions for one ticket, a
-- problem's update to one customer. `dedupe_key` makes a rule fire once per
-- ticket and cycle. A worker claims a job until `claimed_until`; the job's
-- effects and its `done` state commit together, so it runs exactly once.
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL,
    dedupe_key    TEXT UNIQUE,
    ticket_id     INTEGER REFERENCES tickets(id),
    payload       TEXT NOT NULL,
    run_at        INTEGER NOT NULL,
    state         TEXT NOT NULL,
    claimed_by    TEXT,
    claimed_until INTEGER NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    created_at    INTEGER NOT NULL,
    done_at       INTEGER
);
CREATE INDEX jobs_due ON jobs(state, run_at, id);
CREATE INDEX jobs_ticket ON jobs(ticket_id);

-- What rules tell agents.
CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id   INTEGER NOT NULL REFERENCES agents(id),
    ticket_id  INTEGER REFERENCES tickets(id),
    job_id     INTEGER REFERENCES jobs(id),
    message    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read_at    INTEGER
);
CREATE INDEX notifications_agent ON notifications(agent_id, id);
CREATE INDEX notifications_job ON notifications(job_id);

-- Follow-up tasks on a ticket.
CREATE TABLE tasks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    title      TEXT NOT NULL,
    due_at     INTEGER,
    job_id     INTEGER REFERENCES jobs(id),
    created_at INTEGER NOT NULL,
    done_at    INTEGER
);
CREATE INDEX tasks_ticket ON tasks(ticket_id, id);

-- The escalation level a ticket has reached (0: not escalated; 1-3: L1-L3),
-- and the problem ticket it is linked to in a major incident.
ALTER TABLE tickets ADD COLUMN escalation_level INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN problem_id INTEGER REFERENCES tickets(id);
CREATE INDEX tickets_problem ON tickets(problem_id) WHERE problem_id IS NOT NULL;

-- Overflow: when the team's oldest waiting ticket is older than
-- `overflow_after_seconds`, new tickets also go to the overflow team.
ALTER TABLE teams ADD COLUMN overflow_team_id INTEGER REFERENCES teams(id);
ALTER TABLE teams ADD COLUMN overflow_after_seconds INTEGER;

-- Existing tickets get their targets measured on first start.
INSERT INTO sla_dirty (ticket_id, event_id) SELECT ticket_id, MAX(id) FROM events GROUP BY ticket_id;
