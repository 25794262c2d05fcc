-- Each ticket's targets as last measured, kept as text the projector writes
-- and every reader decodes (rapport_core::rules::TimerCard): `card` holds
-- the ticket as the rules' conditions see it, its counters, the policy and
-- every target (start, length, clock, elapsed, due, met, state, running) at
-- `computed_at`; `happenings` holds what the SLA clocks read from its event
-- log (rapport_core::sla::kept). The timer pass reads one column per open
-- ticket, and re-measuring after a policy change reads no event log. The
-- due and met instants stay columns for the attainment report's filter and
-- `next_due` (the earliest due of a running target) for views.
--
-- `generation` is the policy generation the row was last written under: a
-- sweep leaves a row that still holds under a new generation as it is.
--
-- The table is rebuilt, so every ticket is marked changed and measured again
-- by the projector in the background (until then reports miss it).
DROP TABLE ticket_sla;
CREATE TABLE ticket_sla (
    ticket_id   BIGINT PRIMARY KEY REFERENCES tickets(id),
    policy_id   BIGINT,
    generation  BIGINT NOT NULL,
    computed_at BIGINT NOT NULL,
    event_id    BIGINT NOT NULL,
    open        BIGINT NOT NULL,
    next_due    BIGINT,
    fr_due BIGINT, fr_met BIGINT,
    nr_due BIGINT, nr_met BIGINT,
    res_due BIGINT, res_met BIGINT,
    card        TEXT NOT NULL,
    happenings  TEXT NOT NULL
);
CREATE INDEX ticket_sla_open ON ticket_sla(open, ticket_id);
CREATE INDEX ticket_sla_next_due ON ticket_sla(next_due) WHERE open = 1;
INSERT INTO sla_dirty (ticket_id, event_id, claimed_until)
    SELECT ticket_id, MAX(id), 0 FROM events GROUP BY ticket_id
    ON CONFLICT (ticket_id) DO NOTHING;
