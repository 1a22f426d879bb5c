-- CreateEnum
CREATE TYPE "DeadlineKind" AS ENUM ('DETENTION_EXPIRY', 'PROSECUTOR_APPLICATION', 'CUSTODY_WARNING', 'RELEASE_DUE', 'APPEAL_WINDOW', 'HEARING', 'ECHR_APPLICATION', 'RULE39_REQUEST', 'CCF_REQUEST', 'CCF_DECISION', 'RESIDENCE_EXPIRY', 'COURT_FILING', 'CUSTOM');

-- CreateEnum
CREATE TYPE "DeadlineStatus" AS ENUM ('OPEN', 'DONE', 'MISSED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "DeadlineSource" AS ENUM ('RULE', 'MANUAL');

-- CreateEnum
CREATE TYPE "OffsetUnit" AS ENUM ('HOURS', 'CALENDAR_DAYS', 'WORKING_DAYS', 'MONTHS');

-- CreateEnum
CREATE TYPE "RollPolicy" AS ENUM ('FORWARD', 'BACKWARD', 'NONE');

-- CreateEnum
CREATE TYPE "OffsetAnchor" AS ENUM ('EVENT', 'TERM_END');

-- CreateEnum
CREATE TYPE "Confidence" AS ENUM ('HIGH', 'MEDIUM', 'LOW');

-- CreateEnum
CREATE TYPE "ReminderChannel" AS ENUM ('EMAIL', 'WEBHOOK');

-- CreateEnum
CREATE TYPE "ReminderStatus" AS ENUM ('PENDING', 'SENDING', 'SENT', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "ExportStatus" AS ENUM ('QUEUED', 'RUNNING', 'DONE', 'FAILED', 'EXPIRED');

-- CreateTable
CREATE TABLE "deadline_rules" (
    "id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "jurisdiction" TEXT NOT NULL,
    "host_countries" TEXT[],
    "trigger_event_type" "EventType" NOT NULL,
    "kind" "DeadlineKind" NOT NULL,
    "title" TEXT NOT NULL,
    "offset_value" INTEGER NOT NULL,
    "offset_unit" "OffsetUnit" NOT NULL,
    "anchor" "OffsetAnchor" NOT NULL DEFAULT 'EVENT',
    "roll_policy" "RollPolicy" NOT NULL DEFAULT 'FORWARD',
    "time_zone" TEXT,
    "cutoff_time" TEXT,
    "citation" TEXT NOT NULL,
    "confidence" "Confidence" NOT NULL DEFAULT 'MEDIUM',
    "verify_with_counsel" BOOLEAN NOT NULL DEFAULT true,
    "holiday_note" TEXT,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "deadline_rules_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "deadlines" (
    "id" UUID NOT NULL,
    "case_id" UUID NOT NULL,
    "trigger_event_id" UUID,
    "rule_id" UUID,
    "kind" "DeadlineKind" NOT NULL,
    "title" TEXT NOT NULL,
    "due_at" TIMESTAMPTZ(3) NOT NULL,
    "due_date" TEXT,
    "time_zone" TEXT NOT NULL,
    "hour_based" BOOLEAN NOT NULL DEFAULT false,
    "status" "DeadlineStatus" NOT NULL DEFAULT 'OPEN',
    "source" "DeadlineSource" NOT NULL,
    "citation" TEXT,
    "verify_with_counsel" BOOLEAN NOT NULL DEFAULT false,
    "confidence" "Confidence",
    "manual_override" BOOLEAN NOT NULL DEFAULT false,
    "assignee_id" UUID,
    "version" INTEGER NOT NULL DEFAULT 1,
    "completed_at" TIMESTAMPTZ(3),
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "deadlines_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "deadline_changes" (
    "id" BIGSERIAL NOT NULL,
    "deadline_id" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "actor_id" UUID,
    "reason" TEXT NOT NULL,
    "changes" JSONB NOT NULL,

    CONSTRAINT "deadline_changes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "reminders" (
    "id" UUID NOT NULL,
    "deadline_id" UUID NOT NULL,
    "recipient_id" UUID NOT NULL,
    "channel" "ReminderChannel" NOT NULL,
    "label" TEXT NOT NULL,
    "send_at" TIMESTAMPTZ(3) NOT NULL,
    "status" "ReminderStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "enqueued_at" TIMESTAMPTZ(3),
    "claimed_at" TIMESTAMPTZ(3),
    "sent_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reminders_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notification_settings" (
    "user_id" UUID NOT NULL,
    "email_enabled" BOOLEAN NOT NULL DEFAULT true,
    "webhook_url" TEXT,
    "webhook_secret_enc" TEXT,
    "webhook_enabled" BOOLEAN NOT NULL DEFAULT false,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "notification_settings_pkey" PRIMARY KEY ("user_id")
);

-- CreateTable
CREATE TABLE "calendar_tokens" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "token_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "calendar_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "exports" (
    "id" UUID NOT NULL,
    "created_by_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "filters" JSONB NOT NULL,
    "status" "ExportStatus" NOT NULL DEFAULT 'QUEUED',
    "progress" INTEGER NOT NULL DEFAULT 0,
    "row_count" INTEGER,
    "metadata" JSONB,
    "file_path" TEXT,
    "error" TEXT,
    "expires_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "exports_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "deadline_rules_key_key" ON "deadline_rules"("key");

-- CreateIndex
CREATE INDEX "deadline_rules_trigger_event_type_active_idx" ON "deadline_rules"("trigger_event_type", "active");

-- CreateIndex
CREATE INDEX "deadlines_case_id_due_at_idx" ON "deadlines"("case_id", "due_at");

-- CreateIndex
CREATE INDEX "deadlines_status_due_at_idx" ON "deadlines"("status", "due_at");

-- CreateIndex
CREATE INDEX "deadlines_assignee_id_status_idx" ON "deadlines"("assignee_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "deadlines_trigger_event_id_rule_id_key" ON "deadlines"("trigger_event_id", "rule_id");

-- CreateIndex
CREATE INDEX "deadline_changes_deadline_id_at_idx" ON "deadline_changes"("deadline_id", "at");

-- CreateIndex
CREATE INDEX "reminders_status_send_at_idx" ON "reminders"("status", "send_at");

-- CreateIndex
CREATE INDEX "reminders_deadline_id_idx" ON "reminders"("deadline_id");

-- CreateIndex
CREATE UNIQUE INDEX "calendar_tokens_token_hash_key" ON "calendar_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "calendar_tokens_user_id_idx" ON "calendar_tokens"("user_id");

-- CreateIndex
CREATE INDEX "exports_created_by_id_created_at_idx" ON "exports"("created_by_id", "created_at");

-- AddForeignKey
ALTER TABLE "deadlines" ADD CONSTRAINT "deadlines_case_id_fkey" FOREIGN KEY ("case_id") REFERENCES "cases"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deadlines" ADD CONSTRAINT "deadlines_trigger_event_id_fkey" FOREIGN KEY ("trigger_event_id") REFERENCES "events"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deadlines" ADD CONSTRAINT "deadlines_rule_id_fkey" FOREIGN KEY ("rule_id") REFERENCES "deadline_rules"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deadline_changes" ADD CONSTRAINT "deadline_changes_deadline_id_fkey" FOREIGN KEY ("deadline_id") REFERENCES "deadlines"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reminders" ADD CONSTRAINT "reminders_deadline_id_fkey" FOREIGN KEY ("deadline_id") REFERENCES "deadlines"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reminders" ADD CONSTRAINT "reminders_recipient_id_fkey" FOREIGN KEY ("recipient_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- ---------------------------------------------------------------------------
-- Hand-written (reviewed)
-- ---------------------------------------------------------------------------
-- The relay scans only pending reminders by time.
CREATE INDEX "reminders_pending_send_at" ON "reminders" ("send_at") WHERE "status" = 'PENDING';
-- One reminder per deadline, recipient, channel and offset label: recomputation
-- can never create a second copy of the same reminder.
CREATE UNIQUE INDEX "reminders_once_per_label" ON "reminders" ("deadline_id", "recipient_id", "channel", "label") WHERE "status" <> 'CANCELLED';
ALTER TABLE "deadline_rules" ADD CONSTRAINT "deadline_rules_cutoff_hhmm" CHECK ("cutoff_time" IS NULL OR "cutoff_time" ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$');
ALTER TABLE "deadlines" ADD CONSTRAINT "deadlines_due_date_iso" CHECK ("due_date" IS NULL OR "due_date" ~ '^\d{4}-\d{2}-\d{2}$');
ALTER TABLE "deadline_changes" ADD CONSTRAINT "deadline_changes_reason_nonempty" CHECK (length("reason") > 0);
