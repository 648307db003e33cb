-- Revocations stay revoked (revoked_at is kept); only their reasons go.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_revoked_reason;
ALTER TABLE api_tokens DROP COLUMN revoked_reason;
