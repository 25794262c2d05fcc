-- Why a public reply took its channel (core's `reply::ReplyRoute`, as text:
-- `requested`, `ticket_channel`, `fallback:<channel>`, `live_chat`); empty
-- for inbound messages, notes and replies written before this was kept.
ALTER TABLE messages ADD COLUMN route TEXT;

-- Whether the agent who sends the first public reply on an ownerless ticket,
-- or who takes its chat, becomes its owner (`replier`, the default) or the
-- ticket stays unassigned until someone assigns it (`none`).
ALTER TABLE teams ADD COLUMN owner_on_reply TEXT NOT NULL DEFAULT 'replier';
