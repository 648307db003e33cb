-- The values the application's enums know (db::models::enums), stated where the
-- data lives: a user comes from the console or an identity source, and a path
-- names tenants only (the schema maps it to an array without NULLs).
ALTER TABLE users
    ADD CONSTRAINT users_source_check CHECK (source IN ('local', 'scim', 'ldap'));
ALTER TABLE tenant_paths
    ADD CONSTRAINT tenant_paths_no_nulls CHECK (array_position(path, NULL) IS NULL);
