// Objects in the documents bucket that no live document row points to:
//  - a deleted document's object whose delete failed after the key was
//    destroyed (crypto-shredded already: deleted at once);
//  - an upload that wrote its object but never committed its row (crash,
//    lost connection, a failed delete after a rollback): deleted once older
//    than DOCUMENTS_S3_ORPHAN_MINUTES, so an upload still streaming or about
//    to commit is never touched. Its data key was never stored: nobody can
//    open it anyway.
// Runs at startup and every SWEEP_EVERY_MS in each API process; sweeps
// racing each other only delete the same objects twice.
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { S3DocumentStore } from './s3-document-store.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const SWEEP_EVERY_MS = 30 * 60 * 1000;

export type SweepResult = { deleted: string[]; kept: number };

export async function sweepOrphans(
  store: S3DocumentStore,
  pool: pg.Pool,
  opts: { olderThanMinutes: number; now: Date },
): Promise<SweepResult> {
  const cutoff = opts.now.getTime() - opts.olderThanMinutes * 60_000;
  const result: SweepResult = { deleted: [], kept: 0 };
  let token: string | undefined;
  do {
    const page = await store.client.send(
      new ListObjectsV2Command({ Bucket: store.bucket, ContinuationToken: token, MaxKeys: 1000 }),
    );
    // Keys that are not document ids are not ours: left alone.
    const objects = (page.Contents ?? []).filter((o) => o.Key && UUID.test(o.Key));
    const { rows } = await pool.query<{ id: string; live: boolean }>(
      'SELECT id::text AS id, wrapped_key IS NOT NULL AS live FROM documents WHERE id = ANY($1::uuid[])',
      [objects.map((o) => o.Key)],
    );
    const rowOf = new Map(rows.map((r) => [r.id, r]));
    for (const o of objects) {
      const row = rowOf.get(o.Key!);
      const orphan = row ? !row.live : (o.LastModified?.getTime() ?? Infinity) < cutoff;
      if (!orphan) {
        result.kept++;
        continue;
      }
      await store.client.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: o.Key }));
      result.deleted.push(o.Key!);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return result;
}

/** The startup sweep and its timer; stop() before the pool closes. */
export function scheduleOrphanSweep(app: FastifyInstance, store: S3DocumentStore, pool: pg.Pool) {
  const olderThanMinutes = app.config.documents.s3!.orphanMinutes;
  let running: Promise<unknown> = Promise.resolve();
  const run = () => {
    running = sweepOrphans(store, pool, { olderThanMinutes, now: app.clock() })
      .then((r) => {
        if (r.deleted.length) {
          app.log.info({ deleted: r.deleted.length, kept: r.kept }, 'orphan document objects deleted');
        }
      })
      .catch((e: unknown) => app.log.warn({ error: String(e) }, 'document orphan sweep failed'));
    return running;
  };
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    void run();
    timer = setInterval(() => void run(), SWEEP_EVERY_MS).unref();
  });
  return {
    run,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
