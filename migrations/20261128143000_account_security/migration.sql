-- Accounts against a state adversary (issue 11): second factors, password
-- lifecycle, step-up (auth_time) and security notices.

-- Set by an admin's password reset: the holder must choose a new password first.
ALTER TABLE users ADD COLUMN password_change_required boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN password_changed_at timestamptz(3);

-- When the person behind the session last proved who they are (sign-in or
-- reauth); refreshed access tokens carry it, step-up routes compare with it.
ALTER TABLE sessions ADD COLUMN auth_time timestamptz(3);
UPDATE sessions SET auth_time = created_at;
ALTER TABLE sessions ALTER COLUMN auth_time SET NOT NULL;
ALTER TABLE sessions ALTER COLUMN auth_time SET DEFAULT now();

-- TOTP (RFC 6238). The secret is encrypted with the field-encryption keyring
-- (associated data: this table, column and the user id). last_step is the
-- last accepted time step: a code is accepted once.
CREATE TABLE user_totp (
  user_id      uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  secret_enc   text NOT NULL,
  confirmed_at timestamptz(3),
  last_step    bigint NOT NULL DEFAULT 0,
  created_at   timestamptz(3) NOT NULL DEFAULT now()
);

-- Single-use recovery codes, stored as HMAC-SHA256 under a server key.
CREATE TABLE recovery_codes (
  id         uuid PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash  text NOT NULL UNIQUE,
  used_at    timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX recovery_codes_user_idx ON recovery_codes (user_id);

-- Passkeys (WebAuthn). counter: the authenticator's signature counter (0 for
-- authenticators that do not count).
CREATE TABLE webauthn_credentials (
  id            uuid PRIMARY KEY,
  user_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  credential_id text NOT NULL UNIQUE,
  public_key    bytea NOT NULL,
  counter       bigint NOT NULL DEFAULT 0,
  transports    text[] NOT NULL DEFAULT '{}',
  name          text NOT NULL,
  created_at    timestamptz(3) NOT NULL DEFAULT now(),
  last_used_at  timestamptz(3)
);
CREATE INDEX webauthn_credentials_user_idx ON webauthn_credentials (user_id);

-- Pending second-factor sign-ins (token_hash: SHA-256 of the mfaToken) and
-- passkey registrations (challenge); short-lived, single use.
CREATE TABLE auth_challenges (
  id         uuid PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  purpose    text NOT NULL CHECK (purpose IN ('mfa_login', 'webauthn_register')),
  token_hash text UNIQUE,
  challenge  text,
  ip         text,
  user_agent text,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  expires_at timestamptz(3) NOT NULL,
  used_at    timestamptz(3)
);
CREATE INDEX auth_challenges_expires_idx ON auth_challenges (expires_at);
CREATE INDEX auth_challenges_user_idx ON auth_challenges (user_id, purpose);

-- Security notices to a user (factor added or removed, password changed or
-- reset, reminder channels changed): an outbox written in the transaction of
-- the change, emailed by the worker. Never case data.
CREATE TABLE security_notices (
  id              uuid PRIMARY KEY,
  user_id         uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind            text NOT NULL,
  detail          jsonb NOT NULL DEFAULT '{}',
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  sent_at         timestamptz(3),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX security_notices_pending_idx ON security_notices (next_attempt_at) WHERE sent_at IS NULL;
