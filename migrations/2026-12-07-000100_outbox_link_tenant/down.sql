ALTER TABLE outbox DROP COLUMN link_tenant_id;
