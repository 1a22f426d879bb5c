-- The relay walks pending reminders in (send_at, id) order with a keyset
-- `(send_at, id) > (last_send_at, last_id)`: with id in the index the walk
-- resumes where the previous page ended instead of re-reading every row
-- already queued (quadratic when 100,000 reminders fall due together).
DROP INDEX IF EXISTS "reminders_pending_send_at";
CREATE INDEX "reminders_pending_send_at" ON "reminders" ("send_at", "id") WHERE "status" = 'PENDING';
