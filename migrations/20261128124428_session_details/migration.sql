-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "ip" TEXT,
ADD COLUMN     "last_used_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "user_agent" TEXT;

-- Hand-written: sessions that existed before this migration were last used at
-- their login as far as anyone knows (not at the migration's time).
UPDATE "sessions" SET "last_used_at" = "created_at";

-- The service truncates User-Agent headers to 300 characters; the table holds it to that.
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_agent_length" CHECK (char_length("user_agent") <= 300);
