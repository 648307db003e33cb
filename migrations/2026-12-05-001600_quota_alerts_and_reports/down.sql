DROP TABLE report_subscriptions;
DROP TABLE quota_alert_opt_ins;
DROP TABLE quota_alerts;
DROP TABLE outbox_attachments;
