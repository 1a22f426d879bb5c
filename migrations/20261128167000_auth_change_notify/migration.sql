-- Hand-written (reviewed): no schema change, triggers only.
--
-- Every change to what the per-request session check reads (the session, the
-- user's role/active/password flag, team memberships, second factors) sends
-- the user's id on channel exile_auth. API instances that cache checked
-- sessions (src/plugins/session-cache.ts) drop that user's entries when it
-- arrives. Triggers, not application code, so no code path (or psql session)
-- can change access without the caches hearing of it. NOTIFY is sent at commit
-- and identical payloads within one transaction are sent once.
CREATE FUNCTION auth_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  col text := TG_ARGV[0];
  old_id text;
  new_id text;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    old_id := to_jsonb(OLD) ->> col;
    PERFORM pg_notify('exile_auth', old_id);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    new_id := to_jsonb(NEW) ->> col;
    IF new_id IS DISTINCT FROM old_id THEN
      PERFORM pg_notify('exile_auth', new_id);
    END IF;
    RETURN NEW;
  END IF;
  RETURN OLD;
END;
$$;

-- A new session is never cached before it is read: inserts need no notice.
CREATE TRIGGER sessions_auth_notify AFTER UPDATE OR DELETE ON "sessions"
  FOR EACH ROW EXECUTE FUNCTION auth_notify_change('user_id');
CREATE TRIGGER users_auth_notify AFTER UPDATE OR DELETE ON "users"
  FOR EACH ROW EXECUTE FUNCTION auth_notify_change('id');
CREATE TRIGGER team_members_auth_notify AFTER INSERT OR UPDATE OR DELETE ON "team_members"
  FOR EACH ROW EXECUTE FUNCTION auth_notify_change('user_id');
CREATE TRIGGER user_totp_auth_notify AFTER INSERT OR UPDATE OR DELETE ON "user_totp"
  FOR EACH ROW EXECUTE FUNCTION auth_notify_change('user_id');
CREATE TRIGGER webauthn_credentials_auth_notify AFTER INSERT OR UPDATE OR DELETE ON "webauthn_credentials"
  FOR EACH ROW EXECUTE FUNCTION auth_notify_change('user_id');

-- TRUNCATE fires no row trigger: tell every cache to empty itself.
CREATE FUNCTION auth_notify_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('exile_auth', '*');
  RETURN NULL;
END;
$$;
CREATE TRIGGER sessions_auth_truncate AFTER TRUNCATE ON "sessions" FOR EACH STATEMENT EXECUTE FUNCTION auth_notify_truncate();
CREATE TRIGGER users_auth_truncate AFTER TRUNCATE ON "users" FOR EACH STATEMENT EXECUTE FUNCTION auth_notify_truncate();
CREATE TRIGGER team_members_auth_truncate AFTER TRUNCATE ON "team_members" FOR EACH STATEMENT EXECUTE FUNCTION auth_notify_truncate();
