-- Monthly reports (issue #12 review): a report is sent only to who may still
-- subscribe to it (an Owner over the tenant); a subscriber who lost Owner but may
-- still read the statistics is suspended with its own reason, shown on the profile.
ALTER TABLE report_subscriptions DROP CONSTRAINT report_subscriptions_suspended_reason;
ALTER TABLE report_subscriptions
    ADD CONSTRAINT report_subscriptions_suspended_reason
    CHECK (suspended_reason IN ('no-access', 'no-email', 'not-owner'));
