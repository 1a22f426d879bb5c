-- Scheduled backups (issue 17): one row, written by the worker after every
-- scheduled run and read by /health/ready on every API instance, so the age
-- of the last good backup is visible wherever the API runs.
-- watch_since: when a worker first ran the schedule (the 48-hour clock of a
-- "stale" notice starts there while no backup has succeeded yet).
-- noticed_incident: the incident admins were last told of ("no good backup
-- since <last_good_at>", or "never"), so each incident is emailed once.
CREATE TABLE "backup_status" (
    "id" SMALLINT NOT NULL DEFAULT 1,
    "last_good_at" TIMESTAMPTZ(3),
    "last_good_file" TEXT,
    "last_good_bytes" BIGINT,
    "last_attempt_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "last_error_at" TIMESTAMPTZ(3),
    "watch_since" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "noticed_incident" TEXT,

    CONSTRAINT "backup_status_pkey" PRIMARY KEY ("id")
);

-- Hand-written: a single row.
ALTER TABLE "backup_status" ADD CONSTRAINT "backup_status_one_row" CHECK ("id" = 1);
