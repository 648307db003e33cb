-- Issue #16: a mail's Reply-To, the support address of the branding it is worded in
-- (the recipient's home tenant's, or the invited tenant's), set when it is queued.
ALTER TABLE outbox ADD COLUMN reply_to TEXT;
