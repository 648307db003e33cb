ALTER TABLE outbox DROP COLUMN from_name;
DROP TABLE tenant_branding;
