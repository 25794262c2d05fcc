-- Ticket lists sorted by the next SLA due time (`sort=sla_due`), and search
-- over customers' names and addresses.
--
-- `ticket_sla.next_due` is now the earliest due instant of a target whose
-- clock runs, breached ones included (it was that of targets still on time,
-- so a ticket re-measured after a breach fell to the end of the queue). The
-- open tickets are marked to be measured again; until then they keep the old
-- value. The index orders tickets with no running target (NULL) last, by id.
CREATE INDEX ticket_sla_due ON ticket_sla (COALESCE(next_due, 9223372036854775807), ticket_id);
INSERT INTO sla_dirty (ticket_id, event_id, claimed_until)
    SELECT s.ticket_id, -1 - s.event_id, 0 FROM ticket_sla s WHERE s.open = 1
    ON CONFLICT (ticket_id) DO NOTHING;

-- One document per customer: the name and every address. Like tickets and
-- messages, new customers are indexed by the writer at the end of each write
-- batch (`search_indexed`); triggers keep indexed customers in step when a
-- name or an identity changes (erasure included). A regular FTS5 table: the
-- document is built from two tables, so it keeps its own copy.
CREATE VIRTUAL TABLE customers_fts USING fts5(name, addresses, tokenize='unicode61 remove_diacritics 2');
INSERT INTO customers_fts (rowid, name, addresses)
    SELECT c.id, c.name, COALESCE((SELECT group_concat(i.value, ' ') FROM identities i WHERE i.customer_id = c.id), '')
    FROM customers c;
INSERT INTO search_indexed (name, last_id) SELECT 'customers', COALESCE(MAX(id), 0) FROM customers;

CREATE TRIGGER customers_fts_update AFTER UPDATE OF name ON customers
WHEN new.id <= (SELECT last_id FROM search_indexed WHERE name = 'customers') BEGIN
    DELETE FROM customers_fts WHERE rowid = new.id;
    INSERT INTO customers_fts (rowid, name, addresses) VALUES (new.id, new.name,
        COALESCE((SELECT group_concat(i.value, ' ') FROM identities i WHERE i.customer_id = new.id), ''));
END;
CREATE TRIGGER customers_fts_delete AFTER DELETE ON customers BEGIN
    DELETE FROM customers_fts WHERE rowid = old.id;
END;
CREATE TRIGGER identities_fts_insert AFTER INSERT ON identities
WHEN new.customer_id <= (SELECT last_id FROM search_indexed WHERE name = 'customers') BEGIN
    DELETE FROM customers_fts WHERE rowid = new.customer_id;
    INSERT INTO customers_fts (rowid, name, addresses)
        SELECT c.id, c.name, COALESCE((SELECT group_concat(i.value, ' ') FROM identities i WHERE i.customer_id = c.id), '')
        FROM customers c WHERE c.id = new.customer_id;
END;
CREATE TRIGGER identities_fts_delete AFTER DELETE ON identities
WHEN old.customer_id <= (SELECT last_id FROM search_indexed WHERE name = 'customers') BEGIN
    DELETE FROM customers_fts WHERE rowid = old.customer_id;
    INSERT INTO customers_fts (rowid, name, addresses)
        SELECT c.id, c.name, COALESCE((SELECT group_concat(i.value, ' ') FROM identities i WHERE i.customer_id = c.id), '')
        FROM customers c WHERE c.id = old.customer_id;
END;
CREATE TRIGGER identities_fts_update AFTER UPDATE OF customer_id, value ON identities BEGIN
    DELETE FROM customers_fts WHERE rowid IN (old.customer_id, new.customer_id)
        AND rowid <= (SELECT last_id FROM search_indexed WHERE name = 'customers');
    INSERT INTO customers_fts (rowid, name, addresses)
        SELECT c.id, c.name, COALESCE((SELECT group_concat(i.value, ' ') FROM identities i WHERE i.customer_id = c.id), '')
        FROM customers c WHERE c.id IN (old.customer_id, new.customer_id)
        AND c.id <= (SELECT last_id FROM search_indexed WHERE name = 'customers');
END;
