-- Invitations by email, and the outbox their mail goes through.

-- An invitation offers either a user role of the tenant (a plain tenant user:
-- `role_id`, NULL once that role is deleted) or a grant on the tenant (`grant_role`,
-- `grant_scope`, `manage_subtenants`). Only a hash of the link's token is stored.
CREATE TABLE invitations (
    id                BIGSERIAL PRIMARY KEY,
    tenant_id         BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email             TEXT NOT NULL,
    token_hash        TEXT NOT NULL,
    role_id           BIGINT REFERENCES user_roles (id) ON DELETE SET NULL,
    grant_role        TEXT CHECK (grant_role IN ('owner', 'administrator', 'viewer')),
    grant_scope       TEXT CHECK (grant_scope IN ('tenant', 'subtree')),
    manage_subtenants BOOLEAN NOT NULL DEFAULT FALSE,
    inviter_user_id   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    -- `subdomain\username` of the inviter, kept after the user is gone.
    inviter_login     TEXT NOT NULL,
    -- 'expired' is not stored: a pending invitation past expires_at.
    status            TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'revoked')),
    expires_at        TIMESTAMPTZ NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    accepted_at       TIMESTAMPTZ,
    accepted_user_id  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    revoked_at        TIMESTAMPTZ,
    CONSTRAINT invitations_offer CHECK (
        (grant_role IS NULL AND grant_scope IS NULL AND NOT manage_subtenants)
        OR (role_id IS NULL AND grant_role IS NOT NULL AND grant_scope IS NOT NULL)
    ),
    CONSTRAINT invitations_manage_needs_subtree CHECK (NOT manage_subtenants OR grant_scope = 'subtree')
);
CREATE UNIQUE INDEX invitations_token_hash ON invitations (token_hash);
-- One pending invitation per address and tenant: a second one is a resend.
CREATE UNIQUE INDEX invitations_one_pending ON invitations (tenant_id, lower(email)) WHERE status = 'pending';
CREATE INDEX invitations_tenant ON invitations (tenant_id, id);
CREATE INDEX invitations_role ON invitations (role_id) WHERE role_id IS NOT NULL;
CREATE INDEX invitations_inviter ON invitations (inviter_user_id) WHERE inviter_user_id IS NOT NULL;
CREATE INDEX invitations_accepted_user ON invitations (accepted_user_id) WHERE accepted_user_id IS NOT NULL;

-- Mail waiting to be sent, written in the same transaction as what caused it and
-- delivered by a background worker (several processes claim rows with SKIP LOCKED).
CREATE TABLE outbox (
    id                   BIGSERIAL PRIMARY KEY,
    kind                 TEXT NOT NULL DEFAULT 'mail' CHECK (kind IN ('mail')),
    recipient            TEXT NOT NULL,
    subject              TEXT NOT NULL,
    body_text            TEXT NOT NULL,
    body_html            TEXT,
    invitation_id        BIGINT REFERENCES invitations (id) ON DELETE CASCADE,
    -- For an invitation mail: the worker derives the link's token from this seed and
    -- the server's secret key when sending, and clears it once sent; so neither the
    -- database alone nor a delivered mail's row ever yields a working link.
    link_seed            TEXT,
    -- Who caused the mail (rate limits); NULL for the system or a deleted user.
    requested_by_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    -- 'cancelled': superseded (resent) or its invitation was revoked before delivery.
    status               TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts             INTEGER NOT NULL DEFAULT 0,
    next_attempt_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error           TEXT,
    -- 'smtp', or 'log' when no mail server is configured (development).
    sent_via             TEXT CHECK (sent_via IN ('smtp', 'log')),
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at              TIMESTAMPTZ
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX outbox_invitation ON outbox (invitation_id, id) WHERE invitation_id IS NOT NULL;
CREATE INDEX outbox_requested_by ON outbox (requested_by_user_id, created_at) WHERE requested_by_user_id IS NOT NULL;
