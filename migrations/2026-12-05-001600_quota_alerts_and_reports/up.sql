-- Quota threshold alerts and scheduled monthly usage reports (issue #12, items 3
-- and 5), and attachments for the outbox (the reports' CSV files).

-- Files sent with a queued mail, in order. Deleted with their mail.
CREATE TABLE outbox_attachments (
    id           BIGSERIAL PRIMARY KEY,
    outbox_id    BIGINT NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    filename     TEXT NOT NULL CHECK (filename <> ''),
    content_type TEXT NOT NULL CHECK (content_type <> ''),
    content      BYTEA NOT NULL
);
CREATE INDEX outbox_attachments_mail ON outbox_attachments (outbox_id, id);

-- Each quota threshold (80 and 100 %) a tenant's own queries crossed in a month.
-- The row is inserted by the ingestion transaction that crossed it, in the same
-- statement that decides the crossing (INSERT … ON CONFLICT DO NOTHING RETURNING),
-- and that transaction queues the alert mails: the primary key makes "one mail per
-- threshold per month" hold whatever runs at once (a second batch crossing the
-- same threshold waits on the key until the first commits, then inserts nothing),
-- in one process or many. `queries` and `quota` are the numbers at the crossing.
-- Keyed without the quota: a quota raised mid-month does not alert again for a
-- threshold already alerted that month (docs/USAGE.md).
CREATE TABLE quota_alerts (
    tenant_id  BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    month      DATE NOT NULL CHECK (extract(day FROM month) = 1),
    threshold  SMALLINT NOT NULL CHECK (threshold IN (80, 100)),
    queries    BIGINT NOT NULL,
    quota      BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, month, threshold)
);

-- Users who want the quota alerts of the tenants below those they own (a tenant's
-- own Owners always get them). Set on the profile page.
CREATE TABLE quota_alert_opt_ins (
    user_id    BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL
);

-- A user's monthly usage report of a tenant: on `day_of_month` (UTC) the previous
-- month's statistics as CSV, for the whole subtree in one mail or one mail per
-- direct child. `last_month` is the month (first day) last handled: the report job
-- claims due rows FOR UPDATE SKIP LOCKED and sets it in the transaction that
-- queues the mail, so each month is sent once however many processes run the job.
-- `suspended_at`/`suspended_reason`: the subscriber could no longer read the
-- tenant's statistics when a report was due; nothing was sent (the next due month
-- is tried again, and sending clears it).
CREATE TABLE report_subscriptions (
    id               BIGSERIAL PRIMARY KEY,
    user_id          BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id        BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day_of_month     SMALLINT NOT NULL CHECK (day_of_month BETWEEN 1 AND 28),
    scope            TEXT NOT NULL CHECK (scope IN ('subtree', 'children')),
    last_month       DATE CHECK (extract(day FROM last_month) = 1),
    suspended_at     TIMESTAMPTZ,
    suspended_reason TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, tenant_id, scope)
);
CREATE INDEX report_subscriptions_due ON report_subscriptions (day_of_month, last_month);
CREATE INDEX report_subscriptions_tenant ON report_subscriptions (tenant_id);
