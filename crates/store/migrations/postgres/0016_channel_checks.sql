-- How each way messages come in is doing: an IMAP mailbox's polls, a
-- provider's webhooks. The last success, and the last error with when, for
-- the admin's Channels page (a channel that is down shows at a glance).
-- Successes are written at most once a minute per source and instance.
CREATE TABLE channel_checks (
    source        TEXT PRIMARY KEY,
    channel       TEXT NOT NULL,
    last_ok_at    BIGINT,
    last_error    TEXT,
    last_error_at BIGINT
);
