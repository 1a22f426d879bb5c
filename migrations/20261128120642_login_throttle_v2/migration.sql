-- AlterTable
ALTER TABLE "login_throttle" ADD COLUMN     "blocked_until" TIMESTAMPTZ(3),
ADD COLUMN     "blocks" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "expires_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateIndex
CREATE INDEX "login_throttle_expires_at_idx" ON "login_throttle"("expires_at");

-- ---------------------------------------------------------------------------
-- Hand-written (reviewed)
-- ---------------------------------------------------------------------------

-- Rows written before this migration are keyed by the plain client IP (personal
-- data). Counters are transient: drop them all; new rows are keyed by an HMAC.
DELETE FROM "login_throttle";

-- users.failed_logins is no longer written (the counter lives in
-- login_throttle, per submitted email); users.locked_until is kept as a mirror
-- of the current block for admins. Reset both so no stale lock shows.
UPDATE "users" SET "failed_logins" = 0, "locked_until" = NULL
  WHERE "failed_logins" <> 0 OR "locked_until" IS NOT NULL;
