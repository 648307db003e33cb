-- The JSON API: personal API tokens and idempotency keys.

-- A personal API token acts as its user (never with more rights). Only a SHA-256
-- hash of the token is stored; `prefix` (the first characters) helps recognise it.
CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    -- A read-only token may only make GET requests.
    read_only    BOOLEAN NOT NULL DEFAULT FALSE,
    -- NULL: never expires.
    expires_at   TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

-- `Idempotency-Key` of API POSTs: a retried request gets the stored response.
-- Kept 24 hours. `status` is NULL while the first request is still running.
CREATE TABLE idempotency_keys (
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER,
    response_body TEXT,
    location      TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
