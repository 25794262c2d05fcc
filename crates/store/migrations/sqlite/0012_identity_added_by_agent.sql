-- The agent who entered an identity (adding it to a customer, or with a
-- customer or ticket they created), kept until a supervisor or admin
-- confirms it. Such an identity reaches only the tickets it is on, through
-- the help pages and by quoting a ticket number, even after a magic link to
-- it was followed: that proves who holds the address, not that it is the
-- customer's, so an agent cannot widen what they see by adding an address
-- of their own to a customer. NULL for identities that arrived on their own
-- (an email, the web form, a chat) or were confirmed.
ALTER TABLE identities ADD COLUMN added_by_agent INTEGER;
