-- Monthly reports (issue #12 review): the list says which month was last *sent*,
-- not only handled (a month is also handled when it is skipped: subscribed after
-- its day, or suspended), and why a subscription is suspended, as a code the page
-- words (and links) itself.

-- The month (first day) whose report was last mailed; NULL: none yet.
ALTER TABLE report_subscriptions
    ADD COLUMN last_sent DATE CHECK (extract(day FROM last_sent) = 1);

-- Rows from before: a handled month was sent unless the subscription is suspended
-- or was made after that month's report day (the report of month M goes out on
-- day `day_of_month` of M + 1; subscribing on the day itself still gets it).
UPDATE report_subscriptions
   SET last_sent = last_month
 WHERE last_month IS NOT NULL
   AND suspended_reason IS NULL
   AND (created_at AT TIME ZONE 'UTC')::date
       <= last_month + interval '1 month' + (day_of_month - 1) * interval '1 day';

-- Until now the only reason was lost access, stored as its sentence.
UPDATE report_subscriptions SET suspended_reason = 'no-access' WHERE suspended_reason IS NOT NULL;
ALTER TABLE report_subscriptions
    ADD CONSTRAINT report_subscriptions_suspended_reason
    CHECK (suspended_reason IN ('no-access', 'no-email'));
