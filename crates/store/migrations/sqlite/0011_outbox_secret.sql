-- A secret that an outbox entry's payload carries only until it is sent (a
-- magic link): once the entry is sent or given up, the payload keeps the
-- text without it, so neither the database nor a backup holds a working
-- link. Empty for everything else.
ALTER TABLE outbox ADD COLUMN secret TEXT;
