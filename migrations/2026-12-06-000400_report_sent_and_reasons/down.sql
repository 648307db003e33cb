ALTER TABLE report_subscriptions DROP CONSTRAINT report_subscriptions_suspended_reason;
UPDATE report_subscriptions
   SET suspended_reason = 'You may no longer read this tenant''s statistics: the report was not sent.'
 WHERE suspended_reason IS NOT NULL;
ALTER TABLE report_subscriptions DROP COLUMN last_sent;
