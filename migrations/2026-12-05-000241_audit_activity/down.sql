DROP TRIGGER audit_events_no_truncate ON audit_events;
DROP INDEX audit_events_actor;
DROP INDEX audit_events_subtree;
DROP INDEX audit_events_action;
DROP INDEX audit_events_time;
DROP INDEX audit_events_tenant;
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, occurred_at);
DROP TRIGGER audit_events_snapshot ON audit_events;
DROP FUNCTION audit_events_snapshot();
ALTER TABLE audit_events
    DROP COLUMN actor_home_id,
    DROP COLUMN acting_tenant_name,
    DROP COLUMN tenant_path,
    DROP COLUMN tenant_name;
