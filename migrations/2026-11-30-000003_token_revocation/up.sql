-- Why a token stopped working, so its owner and administrators can tell a token
-- they revoked from one ended by a password reset, a disable or "log out everywhere".
ALTER TABLE api_tokens ADD COLUMN revoked_reason TEXT;
-- Until now only owners revoked tokens.
UPDATE api_tokens SET revoked_reason = 'owner' WHERE revoked_at IS NOT NULL;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_revoked_reason
    CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL));
-- Disabling now revokes a user's tokens for good; tokens of users disabled before
-- would otherwise come back when they are enabled again.
UPDATE api_tokens SET revoked_at = now(), revoked_reason = 'disabled'
    WHERE revoked_at IS NULL AND user_id IN (SELECT id FROM users WHERE NOT enabled);
