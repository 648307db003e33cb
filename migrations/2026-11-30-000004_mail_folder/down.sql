UPDATE outbox SET sent_via = 'log' WHERE sent_via = 'file';
ALTER TABLE outbox DROP CONSTRAINT outbox_sent_via_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_sent_via_check CHECK (sent_via IN ('smtp', 'log'));
