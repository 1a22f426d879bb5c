-- CreateTable
CREATE TABLE "digest_log" (
    "user_id" UUID NOT NULL,
    "day" TEXT NOT NULL,
    "sent_at" TIMESTAMPTZ(3),

    CONSTRAINT "digest_log_pkey" PRIMARY KEY ("user_id","day")
);
