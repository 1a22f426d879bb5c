-- CreateEnum
CREATE TYPE "DocumentKind" AS ENUM ('DETENTION_ORDER', 'COURT_DECISION', 'EXTRADITION_REQUEST', 'INTERPOL_NOTICE', 'ASYLUM_DECISION', 'POWER_OF_ATTORNEY', 'MEDICAL', 'PHOTO', 'CORRESPONDENCE', 'OTHER');

-- CreateTable
CREATE TABLE "documents" (
    "id" UUID NOT NULL,
    "case_id" UUID NOT NULL,
    "event_id" UUID,
    "kind" "DocumentKind" NOT NULL,
    "title" TEXT,
    "language" TEXT,
    "document_date" DATE,
    "media_type" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "sha256" TEXT NOT NULL,
    "original_sha256" TEXT NOT NULL,
    "original_size" BIGINT NOT NULL,
    "metadata_stripped" BOOLEAN NOT NULL,
    "metadata_findings" TEXT[],
    "storage" TEXT NOT NULL DEFAULT 'pg',
    "chunk_size" INTEGER NOT NULL,
    "chunk_count" INTEGER NOT NULL,
    "wrapped_key" TEXT,
    "manifest_mac" TEXT NOT NULL,
    "uploaded_by_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(3),
    "deleted_by_id" UUID,

    CONSTRAINT "documents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "document_chunks" (
    "document_id" UUID NOT NULL,
    "idx" INTEGER NOT NULL,
    "body" BYTEA NOT NULL,

    CONSTRAINT "document_chunks_pkey" PRIMARY KEY ("document_id","idx")
);

-- CreateIndex
CREATE INDEX "documents_case_id_created_at_id_idx" ON "documents"("case_id", "created_at" DESC, "id");

-- CreateIndex
CREATE INDEX "documents_event_id_idx" ON "documents"("event_id");

-- Hand-written: foreign keys (the models carry no Prisma relations, so that
-- this feature adds no fields to the shared Case, Event and User models).
ALTER TABLE "documents" ADD CONSTRAINT "documents_case_id_fkey"
  FOREIGN KEY ("case_id") REFERENCES "cases"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "documents" ADD CONSTRAINT "documents_event_id_fkey"
  FOREIGN KEY ("event_id") REFERENCES "events"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "documents" ADD CONSTRAINT "documents_uploaded_by_id_fkey"
  FOREIGN KEY ("uploaded_by_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "documents" ADD CONSTRAINT "documents_deleted_by_id_fkey"
  FOREIGN KEY ("deleted_by_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
-- Chunks are inserted while the upload streams, before the document row
-- (whose fields may follow the file in the multipart body): checked at commit.
ALTER TABLE "document_chunks" ADD CONSTRAINT "document_chunks_document_id_fkey"
  FOREIGN KEY ("document_id") REFERENCES "documents"("id") ON DELETE CASCADE ON UPDATE CASCADE
  DEFERRABLE INITIALLY DEFERRED;

-- Ciphertext does not compress: EXTERNAL skips pglz's attempt on every chunk
-- and lets substring() read a chunk's tag without detoasting the whole value.
ALTER TABLE "document_chunks" ALTER COLUMN "body" SET STORAGE EXTERNAL;

-- A live document has its wrapped data key; a deleted one has none (crypto-shredded).
ALTER TABLE "documents" ADD CONSTRAINT "documents_key_iff_live"
  CHECK (("deleted_at" IS NULL) = ("wrapped_key" IS NOT NULL));
ALTER TABLE "documents" ADD CONSTRAINT "documents_sha256_hex"
  CHECK ("sha256" ~ '^[0-9a-f]{64}$' AND "original_sha256" ~ '^[0-9a-f]{64}$');
