-- CreateTable
CREATE TABLE "stats_query_log" (
    "id" UUID NOT NULL,
    "query_key" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "group_by" TEXT[],
    "filters" JSONB NOT NULL,
    "created_by_id" UUID,
    "published_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stats_query_log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stats_epsilon_spend" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "epsilon" DOUBLE PRECISION NOT NULL,
    "query_key" TEXT NOT NULL,
    "spent_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stats_epsilon_spend_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "stats_query_log_query_key_key" ON "stats_query_log"("query_key");

-- CreateIndex
CREATE INDEX "stats_epsilon_spend_user_id_spent_at_idx" ON "stats_epsilon_spend"("user_id", "spent_at");
