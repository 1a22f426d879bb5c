// The sequencer: the single writer of the audit tree. It runs in the worker
// role, one pass at a time across every process (a transaction-scoped advisory
// lock), and
//   1. gives committed entries without a leaf the next leaf indexes, in the
//      order it takes them (oldest id first), and extends the tree;
//   2. every AUDIT_CHECKPOINT_SECONDS with new leaves, signs a checkpoint
//      (tree size + root hash, C2SP signed note, Ed25519) and hands it to the
//      witnesses: an append-only file, a signed webhook, a daily email.
// A database writer can add or change rows but cannot sign: a rewritten or
// truncated history no longer matches the checkpoints the witnesses kept.
import { createHmac } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Transporter } from 'nodemailer';
import type { AppConfig } from '../../config.ts';
import type { Db } from '../../db.ts';
import { formatCheckpoint, signNote } from '../../lib/checkpoint.ts';
import { postJson } from '../../lib/http-post.ts';
import { leafHash } from '../../lib/merkle.ts';
import { resolveWebhookTarget } from '../../lib/webhook-target.ts';
import { leafData, type LeafSource } from './audit.log.ts';
import { auditSigner } from './audit.keys.ts';
import { appendToTree, rootAt, treeSize } from './audit.tree.ts';
import { errorMessage } from '../../lib/error-message.ts';

// One lock for the tree; any constant distinct from the project's other advisory keys.
const SEQUENCER_LOCK = 0x6175_6474; // "audt"
const PASS_LIMIT = 5000;

export type SequencerDeps = {
  db: Db;
  config: AppConfig;
  log: FastifyBaseLogger;
  clock?: () => Date;
  /** For the daily witness email; none without SMTP. */
  mailer?: Transporter | null;
};

type EntryRow = LeafSource & { id: bigint };

export type SignedCheckpoint = { treeSize: number; rootHash: Buffer; note: string };

export class AuditSequencer {
  private lastEmailDay = '';
  constructor(private readonly deps: SequencerDeps) {}

  /** One pass: sequences up to `limit` entries; returns their ids (none when another process holds the tree). */
  async sequenceOnce(limit = PASS_LIMIT): Promise<bigint[]> {
    return this.deps.db.$transaction(async (tx) => {
      const [{ locked }] = await tx.$queryRaw<
        { locked: boolean }[]
      >`SELECT pg_try_advisory_xact_lock(${SEQUENCER_LOCK}) AS locked`;
      if (!locked) return [];
      const rows = await tx.$queryRaw<EntryRow[]>`
        SELECT id, at, actor_id::text AS "actorId", action, entity_type AS "entityType", entity_id AS "entityId",
               case_id::text AS "caseId", request_id AS "requestId", changes
        FROM audit_entries WHERE leaf_index IS NULL ORDER BY id LIMIT ${limit}`;
      if (!rows.length) return [];
      const size = await treeSize(tx);
      await appendToTree(
        tx,
        size,
        rows.map((r) => leafHash(leafData(r))),
      );
      await tx.$executeRaw`
        UPDATE audit_entries AS e SET leaf_index = v.leaf
        FROM unnest(${rows.map((r) => r.id.toString())}::bigint[], ${rows.map((_, i) => String(size + i))}::bigint[]) AS v(id, leaf)
        WHERE e.id = v.id AND e.leaf_index IS NULL`;
      return rows.map((r) => r.id);
    });
  }

  /** Sequences everything committed so far. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = (await this.sequenceOnce()).length;
      total += n;
      if (n < PASS_LIMIT) return total;
    }
  }

  /** Signs a checkpoint when the tree grew since the last one (or `force` for a first one). */
  async checkpoint(): Promise<SignedCheckpoint | null> {
    const { db, config } = this.deps;
    const now = (this.deps.clock ?? (() => new Date()))();
    const signed = await db.$transaction(async (tx) => {
      const [{ locked }] = await tx.$queryRaw<
        { locked: boolean }[]
      >`SELECT pg_try_advisory_xact_lock(${SEQUENCER_LOCK}) AS locked`;
      if (!locked) return null;
      const size = await treeSize(tx);
      const [last] = await tx.$queryRaw<{ n: bigint | null }[]>`SELECT max(tree_size) AS n FROM audit_checkpoints`;
      if (size === 0 || (last?.n != null && Number(last.n) >= size)) return null;
      const root = await rootAt(tx, size);
      const note = signNote(
        formatCheckpoint({ origin: config.audit.origin, size, rootHash: root }),
        auditSigner(config),
      );
      await tx.$executeRaw`INSERT INTO audit_checkpoints (tree_size, root_hash, note, created_at) VALUES (${size}, ${root}, ${note}, ${now})`;
      return { treeSize: size, rootHash: root, note };
    });
    if (signed) await this.witness(signed, now);
    return signed;
  }

  /** Hands a checkpoint to every configured witness; a failing witness is logged, never fatal. */
  private async witness(cp: SignedCheckpoint, now: Date): Promise<void> {
    const { config, log } = this.deps;
    const { checkpointFile, witnessUrl, witnessSecret, witnessEmail } = config.audit;
    if (checkpointFile) {
      await mkdir(path.dirname(checkpointFile), { recursive: true })
        .then(() => appendFile(checkpointFile, `${cp.note}\n`, { mode: 0o600 }))
        .catch((e: Error) => log.error({ error: e.message }, 'audit checkpoint file write failed'));
    }
    if (witnessUrl && witnessSecret) {
      try {
        const vetted = await resolveWebhookTarget(witnessUrl, config.webhooks.allowPrivate);
        const body = JSON.stringify({
          origin: config.audit.origin,
          treeSize: cp.treeSize,
          rootHash: cp.rootHash.toString('base64'),
          checkpoint: cp.note,
        });
        const ts = Math.floor(now.getTime() / 1000).toString();
        const signature = createHmac('sha256', witnessSecret).update(`${ts}.${body}`).digest('hex');
        const res = await postJson(
          witnessUrl,
          {
            'content-type': 'application/json',
            'x-signature-timestamp': ts,
            'x-signature-256': `sha256=${signature}`,
            'idempotency-key': `checkpoint-${cp.treeSize}`,
          },
          body,
          10_000,
          { connectTo: vetted.addresses },
        );
        if (res.status < 200 || res.status >= 300) throw new Error(`answered ${res.status}`);
      } catch (e) {
        log.error({ error: errorMessage(e), treeSize: cp.treeSize }, 'audit witness webhook failed');
      }
    }
    const day = now.toISOString().slice(0, 10);
    if (witnessEmail && this.deps.mailer && day !== this.lastEmailDay) {
      try {
        await this.deps.mailer.sendMail({
          from: config.mail.from,
          to: witnessEmail,
          subject: `Audit log checkpoint ${day} (${cp.treeSize} entries)`,
          text: `Keep this message: it lets anyone prove later that the audit log was not rewritten.\n\n${cp.note}`,
        });
        this.lastEmailDay = day;
      } catch (e) {
        log.error({ error: errorMessage(e) }, 'audit witness email failed');
      }
    }
  }

  /**
   * Runs in the worker role: sequences every `intervalMs`, signs a checkpoint
   * every AUDIT_CHECKPOINT_SECONDS. Returns a stop function that waits for the
   * running pass.
   */
  start(intervalMs = 200): { close(): Promise<void> } {
    let stopped = false;
    let lastCheckpoint = 0;
    let running: Promise<void> = Promise.resolve();
    const tick = async () => {
      try {
        await this.drain();
        if (Date.now() - lastCheckpoint >= this.deps.config.audit.checkpointSeconds * 1000) {
          lastCheckpoint = Date.now();
          await this.checkpoint();
        }
      } catch (e) {
        this.deps.log.error({ error: errorMessage(e) }, 'audit sequencer pass failed');
      }
    };
    const timer = setInterval(() => {
      if (stopped) return;
      running = running.then(tick);
    }, intervalMs);
    timer.unref();
    return {
      close: async () => {
        stopped = true;
        clearInterval(timer);
        await running;
      },
    };
  }
}
