-- Legal rules v2: event types and deadline kinds, the treaty of an extradition
-- request, final decisions, rule provenance, confirmed cancellations and
-- admins' holiday-calendar corrections.
ALTER TYPE "EventType" ADD VALUE IF NOT EXISTS 'SURRENDER_SCHEDULED';
ALTER TYPE "EventType" ADD VALUE IF NOT EXISTS 'CCF_ADMISSIBILITY';
ALTER TYPE "DeadlineKind" ADD VALUE IF NOT EXISTS 'FOLLOW_UP';
ALTER TYPE "DeadlineKind" ADD VALUE IF NOT EXISTS 'UN_INTERIM_MEASURES';

CREATE TYPE "ExtraditionTreaty" AS ENUM ('ECE_1957', 'MINSK_1993', 'CHISINAU_2002', 'BILATERAL', 'NONE');

ALTER TABLE "charges" ADD COLUMN "treaty" "ExtraditionTreaty";

ALTER TABLE "events" ADD COLUMN "is_final" BOOLEAN,
  ADD COLUMN "served_on" DATE;

ALTER TABLE "deadline_rules" ADD COLUMN "treaties" "ExtraditionTreaty"[] NOT NULL DEFAULT ARRAY[]::"ExtraditionTreaty"[],
  ADD COLUMN "final_only" BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN "source_url" TEXT,
  ADD COLUMN "verified_on" DATE,
  ADD COLUMN "verified_by" TEXT,
  ADD COLUMN "shipped_hash" TEXT,
  ADD COLUMN "admin_edited" BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN "pending_default" JSONB;

-- Rules edited through the API before this migration: their version moved
-- past 1, so the shipped text must not overwrite them silently.
UPDATE "deadline_rules" SET "admin_edited" = true WHERE "version" > 1;

ALTER TABLE "deadlines" ADD COLUMN "cancel_requested_by_id" UUID,
  ADD COLUMN "cancel_confirmed_by_id" UUID;

CREATE TABLE "holiday_calendar_days" (
    "id" UUID NOT NULL,
    "country" TEXT NOT NULL,
    "day" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "created_by_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "holiday_calendar_days_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "holiday_calendar_days_action_check" CHECK ("action" IN ('ADD', 'REMOVE')),
    CONSTRAINT "holiday_calendar_days_day_check" CHECK ("day" ~ '^\d{4}-\d{2}-\d{2}$')
);
CREATE UNIQUE INDEX "holiday_calendar_days_country_day_key" ON "holiday_calendar_days"("country", "day");
