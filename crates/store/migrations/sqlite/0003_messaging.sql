-- Messaging providers: the id a provider gives a sent message (a WhatsApp
-- `wamid`, a Twilio `SM…` sid), which its delivery and read receipts name.

ALTER TABLE outbox ADD COLUMN provider_id TEXT;
CREATE UNIQUE INDEX outbox_provider ON outbox(channel, provider_id) WHERE provider_id IS NOT NULL;
