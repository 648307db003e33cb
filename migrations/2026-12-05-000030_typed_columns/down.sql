ALTER TABLE tenant_paths DROP CONSTRAINT tenant_paths_no_nulls;
ALTER TABLE users DROP CONSTRAINT users_source_check;
