// Where sealed chunks live, behind one small interface. The PostgreSQL store
// is the default and, for now, the only driver: chunks go into
// document_chunks inside the upload's own transaction, so the embedded
// single-machine mode needs nothing else and one backup holds everything.
// A bucket driver (S3-compatible) would implement the same interface.
import type pg from 'pg';
import { TAG_BYTES } from './document-crypto.ts';

export type StoredChunk = { idx: number; body: Buffer };

export interface ChunkWriter {
  /** Queues one sealed chunk; resolves once it is safe to send more (backpressure). */
  put(idx: number, body: Buffer): Promise<void>;
  /** Writes whatever is still queued. */
  flush(): Promise<void>;
}

export interface DocumentStore {
  readonly name: string;
  /** Writes a document's chunks as part of the transaction `tx` (rolled back with it). */
  writer(tx: pg.PoolClient, documentId: string): ChunkWriter;
  /** Every chunk's index and GCM tag, in index order (for the manifest check). */
  tags(documentId: string): Promise<{ idx: number; tag: Buffer }[]>;
  /** Chunks from..to (inclusive), in index order. */
  read(documentId: string, from: number, to: number): Promise<StoredChunk[]>;
  /** Removes the chunks (after the data key has been destroyed). */
  destroy(tx: pg.PoolClient, documentId: string): Promise<void>;
}

/** Chunks per INSERT: 16 × 64 KiB = 1 MiB held in memory at most. */
const BATCH = 16;

export class PgDocumentStore implements DocumentStore {
  readonly name = 'pg';
  constructor(private readonly pool: pg.Pool) {}

  writer(tx: pg.PoolClient, documentId: string): ChunkWriter {
    let pending: StoredChunk[] = [];
    // One INSERT in flight while the next batch is sealed: the upload's CPU
    // work overlaps the database's, and memory stays at two batches.
    let inFlight: Promise<unknown> = Promise.resolve();
    const send = async () => {
      if (!pending.length) return;
      const batch = pending;
      pending = [];
      const values: unknown[] = [documentId];
      const rows = batch.map((c) => {
        values.push(c.idx, c.body);
        return `($1::uuid, $${values.length - 1}::int, $${values.length}::bytea)`;
      });
      await tx.query(`INSERT INTO document_chunks (document_id, idx, body) VALUES ${rows.join(', ')}`, values);
    };
    const flush = async () => {
      await inFlight;
      inFlight = send();
      await inFlight;
    };
    return {
      put: async (idx, body) => {
        pending.push({ idx, body });
        if (pending.length < BATCH) return;
        await inFlight;
        inFlight = send();
        // A failed INSERT surfaces at the next put or at flush; never unhandled meanwhile.
        inFlight.catch(() => {});
      },
      flush,
    };
  }

  async tags(documentId: string) {
    // STORAGE EXTERNAL on body: substring reads only the last TOAST slice.
    const { rows } = await this.pool.query<{ idx: number; tag: Buffer }>(
      `SELECT idx, substring(body FROM octet_length(body) - ${TAG_BYTES - 1}) AS tag
         FROM document_chunks WHERE document_id = $1::uuid ORDER BY idx`,
      [documentId],
    );
    return rows;
  }

  async read(documentId: string, from: number, to: number) {
    // Text-format results (bytea as hex): pg's binary result mode decodes values as UTF-8 and corrupts bytes.
    const { rows } = await this.pool.query<StoredChunk>(
      `SELECT idx, body FROM document_chunks WHERE document_id = $1::uuid AND idx BETWEEN $2 AND $3 ORDER BY idx`,
      [documentId, from, to],
    );
    return rows;
  }

  async destroy(tx: pg.PoolClient, documentId: string) {
    await tx.query(`DELETE FROM document_chunks WHERE document_id = $1::uuid`, [documentId]);
  }
}
