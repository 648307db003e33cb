-- Issue #16: links in mail lead to the address of the tenant the mail is for (its
-- verified custom domain, else its host under the base domain), resolved by the
-- outbox worker when it sends. No foreign key: a mail of a tenant deleted since
-- links to the console's public URL, and a tenant's delete does not touch the outbox.
ALTER TABLE outbox ADD COLUMN link_tenant_id BIGINT;
