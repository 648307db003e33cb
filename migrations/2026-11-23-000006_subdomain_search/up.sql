-- Search as you type (switcher, move picker) matches names and subdomains with
-- ILIKE '%…%'. With a trigram index on the name only, the OR with the subdomain
-- made every keystroke a sequential scan of all tenants; with both indexed it is a
-- BitmapOr of two index scans.
CREATE INDEX tenants_subdomain_trgm ON tenants USING gin (subdomain gin_trgm_ops);
