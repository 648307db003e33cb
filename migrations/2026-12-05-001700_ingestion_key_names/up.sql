-- An ingestion key's name tells the keys apart in the list, the audit trail and a
-- revoke confirmation: two usable keys of the installation never share one (in any
-- case). A revoked key's name may be given again (a rotated key keeps its name).
CREATE UNIQUE INDEX ingestion_keys_name ON ingestion_keys (lower(name)) WHERE revoked_at IS NULL;
