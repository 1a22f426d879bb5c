-- Refresh-token reuse grace (REFRESH_REUSE_GRACE_SECONDS): a rotated token
-- keeps its successor, encrypted with the field-encryption keyring (bound to
-- this row), so that a duplicate refresh within the grace gets the same new
-- token instead of revoking the session.
ALTER TABLE refresh_tokens ADD COLUMN successor_enc text;
