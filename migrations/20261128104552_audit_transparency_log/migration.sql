-- AlterTable
ALTER TABLE "audit_entries" ADD COLUMN     "leaf_index" BIGINT,
ALTER COLUMN "seq" DROP NOT NULL,
ALTER COLUMN "prev_hash" DROP NOT NULL,
ALTER COLUMN "hash" DROP NOT NULL;

-- CreateTable
CREATE TABLE "audit_tree_nodes" (
    "level" INTEGER NOT NULL,
    "idx" BIGINT NOT NULL,
    "hash" BYTEA NOT NULL,

    CONSTRAINT "audit_tree_nodes_pkey" PRIMARY KEY ("level","idx")
);

-- CreateTable
CREATE TABLE "audit_checkpoints" (
    "tree_size" BIGINT NOT NULL,
    "root_hash" BYTEA NOT NULL,
    "note" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "audit_checkpoints_pkey" PRIMARY KEY ("tree_size")
);

-- CreateIndex
CREATE UNIQUE INDEX "audit_entries_leaf_index_key" ON "audit_entries"("leaf_index");

-- CreateIndex
CREATE INDEX "audit_entries_chain_id_idx" ON "audit_entries"("chain", "id");

-- ---------------------------------------------------------------------------
-- Hand-written (reviewed)
-- ---------------------------------------------------------------------------

-- Writers now only insert their entry: no per-case lock, no read of the
-- previous entry, so audited reads never wait for or conflict with each other.
-- The sequencer gives each committed entry its leaf index once; that single
-- transition (NULL -> a value, nothing else changed) is the only UPDATE the
-- table accepts. Tampering with anything else is refused here, and detected by
-- the signed tree if a superuser disables the trigger.
CREATE OR REPLACE FUNCTION audit_entries_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.leaf_index IS NULL AND NEW.leaf_index IS NOT NULL
     AND (to_jsonb(NEW) - 'leaf_index') = (to_jsonb(OLD) - 'leaf_index') THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_entries is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- The sequencer's work list: entries not yet in the tree, oldest first.
CREATE INDEX "audit_entries_unsequenced" ON "audit_entries" ("id") WHERE "leaf_index" IS NULL;

-- Tree nodes and checkpoints are append-only too.
CREATE FUNCTION audit_tree_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_tree_nodes_append_only BEFORE UPDATE OR DELETE ON "audit_tree_nodes"
  FOR EACH ROW EXECUTE FUNCTION audit_tree_refuse_change();
CREATE TRIGGER audit_tree_nodes_no_truncate BEFORE TRUNCATE ON "audit_tree_nodes"
  FOR EACH STATEMENT EXECUTE FUNCTION audit_tree_refuse_change();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON "audit_checkpoints"
  FOR EACH ROW EXECUTE FUNCTION audit_tree_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON "audit_checkpoints"
  FOR EACH STATEMENT EXECUTE FUNCTION audit_tree_refuse_change();
