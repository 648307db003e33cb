-- Search as you type (switcher, move picker) matches names and subdomains with
-- ILIKE '%…%'. With a trigram index on the name only, the OR with the subdomain
-- made every keystroke a sequential scan of all tenants; with both indexed it is a
-- BitmapOr of two index scans. The subdomain one is on lower(subdomain) (subdomains
-- are lower case anyway) so that the planner never takes it for `subdomain = ANY(…)`
-- (trigram indexes also answer equality, badly: seconds for a thousand values),
-- which belongs to the unique btree.
CREATE INDEX tenants_subdomain_trgm ON tenants USING gin (lower(subdomain) gin_trgm_ops);
