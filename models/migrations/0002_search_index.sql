-- Searching a merchant's invoices reads only this index: it holds the id
-- order and the search text, so rows are fetched only for matches.
CREATE INDEX invoices_search ON invoices (merchant_id, id, search_text);
