-- No query reads `ticket_sla.next_due` through an index (the timer pass reads
-- every open ticket's card in id order, the report filters on the due and
-- met columns), yet every re-measure that moves a due time moved an entry of
-- this index to a random page: after a calendar change, one index page per
-- ticket written. The column stays, for views.
DROP INDEX ticket_sla_next_due;
