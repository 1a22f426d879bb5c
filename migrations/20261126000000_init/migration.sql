-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('ADMIN', 'COORDINATOR', 'CASEWORKER', 'LAWYER');

-- CreateEnum
CREATE TYPE "CaseStatus" AS ENUM ('OPEN', 'MONITORING', 'RELOCATED', 'CLOSED');

-- CreateEnum
CREATE TYPE "RiskLevel" AS ENUM ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL');

-- CreateEnum
CREATE TYPE "TravelDocumentStatus" AS ENUM ('INTERNAL_PASSPORT_ONLY', 'INTERNATIONAL_VALID', 'INTERNATIONAL_EXPIRED', 'INTERNATIONAL_CONFISCATED', 'NONE', 'UNKNOWN');

-- CreateEnum
CREATE TYPE "ChargeCategory" AS ENUM ('ANTI_WAR_SPEECH', 'FAKES', 'DISCREDITING_ARMY', 'EXTREMISM', 'TERRORISM', 'DESERTION', 'MOBILISATION_EVASION', 'VANDALISM', 'ECONOMIC', 'TREASON', 'OTHER');

-- CreateEnum
CREATE TYPE "WantedMechanism" AS ENUM ('DOMESTIC', 'CIS_INTERSTATE_SEARCH', 'INTERPOL_RED_NOTICE', 'INTERPOL_DIFFUSION', 'BILATERAL_REQUEST', 'NONE');

-- CreateEnum
CREATE TYPE "ChargeStatus" AS ENUM ('INVESTIGATION', 'CHARGED', 'WANTED', 'CONVICTED_IN_ABSENTIA', 'CONVICTED', 'DROPPED', 'UNKNOWN');

-- CreateEnum
CREATE TYPE "PoliticalMotivation" AS ENUM ('CONFIRMED', 'LIKELY', 'UNCLEAR', 'UNLIKELY');

-- CreateEnum
CREATE TYPE "EventType" AS ENUM ('DETENTION', 'DETENTION_EXTENSION', 'RELEASE', 'EXTRADITION_REQUEST', 'EXTRADITION_HEARING', 'EXTRADITION_DECISION', 'TRAVEL_BAN', 'TRAVEL_BAN_LIFTED', 'DEPORTATION_ORDER', 'DEPORTATION_EXECUTED', 'RESIDENCE_PERMIT_CANCELLED', 'RESIDENCE_PERMIT_REFUSED', 'ENTRY_REFUSAL', 'ABDUCTION', 'FORCED_RETURN', 'ATTACK', 'THREAT', 'SURVEILLANCE', 'ASYLUM_APPLICATION', 'ASYLUM_DECISION', 'HUMANITARIAN_VISA', 'INTERPOL_CCF_REQUEST', 'ECHR_RULE39_REQUEST', 'COURT_HEARING', 'APPEAL_FILED', 'APPEAL_DECISION', 'LEFT_TO_SAFE_COUNTRY', 'OTHER');

-- CreateEnum
CREATE TYPE "DatePrecision" AS ENUM ('DAY', 'MONTH', 'YEAR');

-- CreateEnum
CREATE TYPE "Verification" AS ENUM ('UNVERIFIED', 'CORROBORATED', 'VERIFIED', 'DISPUTED');

-- CreateEnum
CREATE TYPE "AssignmentRole" AS ENUM ('LEAD', 'SUPPORTING');

-- CreateTable
CREATE TABLE "users" (
    "id" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "display_name" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "password_hash" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "failed_logins" INTEGER NOT NULL DEFAULT 0,
    "locked_until" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sessions" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),
    "revoke_reason" TEXT,

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "refresh_tokens" (
    "id" UUID NOT NULL,
    "session_id" UUID NOT NULL,
    "token_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "rotated_at" TIMESTAMPTZ(3),

    CONSTRAINT "refresh_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "login_throttle" (
    "key" TEXT NOT NULL,
    "window_start" TIMESTAMPTZ(3) NOT NULL,
    "count" INTEGER NOT NULL,

    CONSTRAINT "login_throttle_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "teams" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "countries" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "teams_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "team_members" (
    "team_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "added_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "team_members_pkey" PRIMARY KEY ("team_id","user_id")
);

-- CreateTable
CREATE TABLE "lawyer_profiles" (
    "user_id" UUID NOT NULL,
    "jurisdictions" TEXT[],
    "languages" TEXT[],
    "organisation" TEXT,
    "phone_enc" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "lawyer_profiles_pkey" PRIMARY KEY ("user_id")
);

-- CreateTable
CREATE TABLE "people" (
    "id" UUID NOT NULL,
    "pseudonym" TEXT NOT NULL,
    "legal_name_enc" TEXT NOT NULL,
    "legal_name_bidx" TEXT NOT NULL,
    "date_of_birth_enc" TEXT,
    "dob_bidx" TEXT,
    "contacts_enc" TEXT,
    "notes_enc" TEXT,
    "citizenship" TEXT[],
    "travel_document_status" "TravelDocumentStatus" NOT NULL,
    "tags" TEXT[],
    "created_by_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "people_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cases" (
    "id" UUID NOT NULL,
    "reference" TEXT NOT NULL,
    "person_id" UUID NOT NULL,
    "team_id" UUID NOT NULL,
    "host_country" CHAR(2) NOT NULL,
    "status" "CaseStatus" NOT NULL DEFAULT 'OPEN',
    "risk_level" "RiskLevel" NOT NULL DEFAULT 'MEDIUM',
    "summary" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_by_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "cases_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "charges" (
    "id" UUID NOT NULL,
    "case_id" UUID NOT NULL,
    "issuing_country" CHAR(2) NOT NULL,
    "code" TEXT NOT NULL,
    "article" TEXT NOT NULL,
    "category" "ChargeCategory" NOT NULL,
    "mechanism" "WantedMechanism" NOT NULL,
    "status" "ChargeStatus" NOT NULL,
    "filed_on" DATE,
    "political_motivation" "PoliticalMotivation",
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "charges_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "events" (
    "id" UUID NOT NULL,
    "case_id" UUID NOT NULL,
    "type" "EventType" NOT NULL,
    "country" CHAR(2) NOT NULL,
    "city" TEXT,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "occurred_at_precision" "DatePrecision" NOT NULL DEFAULT 'DAY',
    "authority" TEXT,
    "legal_basis" TEXT,
    "outcome" TEXT,
    "source_urls" TEXT[],
    "details_enc" TEXT,
    "term_days" INTEGER,
    "verification" "Verification" NOT NULL DEFAULT 'UNVERIFIED',
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "assignments" (
    "id" UUID NOT NULL,
    "case_id" UUID NOT NULL,
    "lawyer_id" UUID NOT NULL,
    "role" "AssignmentRole" NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ended_at" TIMESTAMPTZ(3),
    "created_by_id" UUID NOT NULL,
    "ended_by_id" UUID,

    CONSTRAINT "assignments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_entries" (
    "id" BIGSERIAL NOT NULL,
    "chain" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "prev_hash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "actor_id" UUID,
    "action" TEXT NOT NULL,
    "entity_type" TEXT NOT NULL,
    "entity_id" TEXT,
    "case_id" UUID,
    "request_id" TEXT,
    "changes" JSONB,

    CONSTRAINT "audit_entries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "idempotency_keys" (
    "user_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "method" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "status_code" INTEGER,
    "response_body" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("user_id","key")
);

-- CreateIndex
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");

-- CreateIndex
CREATE INDEX "sessions_user_id_idx" ON "sessions"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "refresh_tokens_token_hash_key" ON "refresh_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "refresh_tokens_session_id_idx" ON "refresh_tokens"("session_id");

-- CreateIndex
CREATE UNIQUE INDEX "teams_name_key" ON "teams"("name");

-- CreateIndex
CREATE INDEX "team_members_user_id_idx" ON "team_members"("user_id");

-- CreateIndex
CREATE INDEX "people_legal_name_bidx_idx" ON "people"("legal_name_bidx");

-- CreateIndex
CREATE UNIQUE INDEX "cases_reference_key" ON "cases"("reference");

-- CreateIndex
CREATE INDEX "cases_team_id_created_at_id_idx" ON "cases"("team_id", "created_at" DESC, "id");

-- CreateIndex
CREATE INDEX "cases_host_country_idx" ON "cases"("host_country");

-- CreateIndex
CREATE INDEX "cases_person_id_idx" ON "cases"("person_id");

-- CreateIndex
CREATE INDEX "charges_case_id_idx" ON "charges"("case_id");

-- CreateIndex
CREATE INDEX "events_case_id_occurred_at_idx" ON "events"("case_id", "occurred_at");

-- CreateIndex
CREATE INDEX "events_country_type_occurred_at_idx" ON "events"("country", "type", "occurred_at");

-- CreateIndex
CREATE INDEX "assignments_case_id_idx" ON "assignments"("case_id");

-- CreateIndex
CREATE INDEX "assignments_lawyer_id_ended_at_idx" ON "assignments"("lawyer_id", "ended_at");

-- CreateIndex
CREATE INDEX "audit_entries_case_id_seq_idx" ON "audit_entries"("case_id", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "audit_entries_chain_seq_key" ON "audit_entries"("chain", "seq");

-- AddForeignKey
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "sessions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "team_members" ADD CONSTRAINT "team_members_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "team_members" ADD CONSTRAINT "team_members_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "lawyer_profiles" ADD CONSTRAINT "lawyer_profiles_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cases" ADD CONSTRAINT "cases_person_id_fkey" FOREIGN KEY ("person_id") REFERENCES "people"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cases" ADD CONSTRAINT "cases_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "charges" ADD CONSTRAINT "charges_case_id_fkey" FOREIGN KEY ("case_id") REFERENCES "cases"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "events" ADD CONSTRAINT "events_case_id_fkey" FOREIGN KEY ("case_id") REFERENCES "cases"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "assignments" ADD CONSTRAINT "assignments_case_id_fkey" FOREIGN KEY ("case_id") REFERENCES "cases"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "assignments" ADD CONSTRAINT "assignments_lawyer_id_fkey" FOREIGN KEY ("lawyer_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- ---------------------------------------------------------------------------
-- Hand-written (reviewed): what the Prisma schema language cannot express.
-- ---------------------------------------------------------------------------

-- The audit log is append-only: any UPDATE or DELETE is refused, whatever the
-- client. (TRUNCATE is refused too; only a superuser dropping the trigger can
-- rewrite history, and the hash chain then shows it.)
CREATE FUNCTION audit_entries_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_entries is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_entries_no_update_delete
  BEFORE UPDATE OR DELETE ON "audit_entries"
  FOR EACH ROW EXECUTE FUNCTION audit_entries_refuse_change();
CREATE TRIGGER audit_entries_no_truncate
  BEFORE TRUNCATE ON "audit_entries"
  FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_refuse_change();

-- A lawyer holds at most one current assignment per case; ended ones stay as history.
CREATE UNIQUE INDEX "assignments_one_current_per_lawyer" ON "assignments" ("case_id", "lawyer_id") WHERE "ended_at" IS NULL;

-- Human case references ARK-<year>-<number>: numbers never repeat, across years too.
CREATE SEQUENCE case_reference_seq START 1;

ALTER TABLE "cases" ADD CONSTRAINT "cases_host_country_iso" CHECK ("host_country" ~ '^[A-Z]{2}$');
ALTER TABLE "events" ADD CONSTRAINT "events_country_iso" CHECK ("country" ~ '^[A-Z]{2}$');
ALTER TABLE "events" ADD CONSTRAINT "events_term_days_positive" CHECK ("term_days" IS NULL OR "term_days" > 0);
ALTER TABLE "charges" ADD CONSTRAINT "charges_issuing_country_iso" CHECK ("issuing_country" ~ '^[A-Z]{2}$');
ALTER TABLE "cases" ADD CONSTRAINT "cases_version_positive" CHECK ("version" > 0);
