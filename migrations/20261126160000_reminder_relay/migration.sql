-- The relay walks pending reminders in (send_at, id) order with a keyset
-- `(send_at, id) > (last_send_at, last_id)`: with id in the index the walk
-- resumes where the previous page ended instead of re-reading every row
-- already queued (quadratic when 100,000 reminders fall due together).
-- The rebuild runs inside the migration's transaction and locks `reminders`
-- while it scans the whole table: on a large table, deploy it when no
-- burst of reminders is due.
DROP INDEX IF EXISTS "reminders_pending_send_at";
CREATE INDEX "reminders_pending_send_at" ON "reminders" ("send_at", "id") WHERE "status" = 'PENDING';

-- Reminders written already due (a detention logged at night: the 72-hour
-- clock's passed offsets are coalesced into one reminder due now) must not
-- wait for the next relay run. One notification per inserting statement,
-- sent on commit, tells the workers to queue them at once; the periodic
-- relay still runs in case a notification is missed.
CREATE OR REPLACE FUNCTION "reminders_notify_due"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM new_rows WHERE status = 'PENDING' AND send_at <= now() + interval '5 minutes') THEN
    PERFORM pg_notify('reminders_due', '');
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER "reminders_notify_due" AFTER INSERT ON "reminders"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "reminders_notify_due"();
