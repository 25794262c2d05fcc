-- Ticket lists sorted by the next SLA due time (`sort=sla_due`), and search
-- over customers' names and addresses.
--
-- `ticket_sla.next_due` is now the earliest due instant of a target whose
-- clock runs, breached ones included (it was that of targets still on time,
-- so a ticket re-measured after a breach fell to the end of the queue). The
-- open tickets are marked to be measured again; until then they keep the old
-- value. The index orders tickets with no running target (NULL) last, by id.
CREATE INDEX ticket_sla_due ON ticket_sla ((COALESCE(next_due, 9223372036854775807)), ticket_id);
INSERT INTO sla_dirty (ticket_id, event_id, claimed_until)
    SELECT s.ticket_id, -1 - s.event_id, 0 FROM ticket_sla s WHERE s.open = 1
    ON CONFLICT (ticket_id) DO NOTHING;

-- One document per customer: the name and every address, kept by triggers
-- (a generated column cannot read identities). Punctuation becomes spaces so
-- that `ann.lee@example.com` is the words `ann lee example com`, as a query
-- is split, rather than one email token of PostgreSQL's parser.
CREATE TABLE customer_search (
    customer_id BIGINT PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    document    TEXT NOT NULL,
    search      tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', translate(document, '@.+-_:/''', '        '))
    ) STORED
);
CREATE INDEX customer_search_search ON customer_search USING GIN (search);

CREATE FUNCTION refresh_customer_search(customer BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO customer_search (customer_id, document)
    SELECT c.id, c.name || ' ' || COALESCE((SELECT string_agg(i.value, ' ' ORDER BY i.kind, i.value)
                                            FROM identities i WHERE i.customer_id = c.id), '')
    FROM customers c WHERE c.id = customer
    ON CONFLICT (customer_id) DO UPDATE SET document = EXCLUDED.document;
$$;
CREATE FUNCTION customer_search_of_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_customer_search(NEW.id);
    RETURN NULL;
END;
$$;
CREATE FUNCTION customer_search_of_identity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM refresh_customer_search(OLD.customer_id);
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.customer_id <> OLD.customer_id) THEN
        PERFORM refresh_customer_search(NEW.customer_id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER customers_search AFTER INSERT OR UPDATE OF name ON customers
    FOR EACH ROW EXECUTE FUNCTION customer_search_of_customer();
CREATE TRIGGER identities_search AFTER INSERT OR UPDATE OF customer_id, value OR DELETE ON identities
    FOR EACH ROW EXECUTE FUNCTION customer_search_of_identity();
INSERT INTO customer_search (customer_id, document)
    SELECT c.id, c.name || ' ' || COALESCE((SELECT string_agg(i.value, ' ' ORDER BY i.kind, i.value)
                                            FROM identities i WHERE i.customer_id = c.id), '')
    FROM customers c;
