ALTER TABLE report_subscriptions DROP CONSTRAINT report_subscriptions_suspended_reason;
-- Before, lost Owner was not told apart from lost access.
UPDATE report_subscriptions SET suspended_reason = 'no-access' WHERE suspended_reason = 'not-owner';
ALTER TABLE report_subscriptions
    ADD CONSTRAINT report_subscriptions_suspended_reason
    CHECK (suspended_reason IN ('no-access', 'no-email'));
