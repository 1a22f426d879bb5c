// Where sealed chunks live, behind one small interface. The PostgreSQL store
// (here) is the default: chunks go into document_chunks inside the upload's
// own transaction, so the embedded single-machine mode needs nothing else and
// one backup holds everything. The S3-compatible store
// (./s3-document-store.ts) keeps one object per document instead. Each
// document row names the store that holds its body (documents.storage), so
// switching DOCUMENTS_STORE leaves earlier documents readable.
import type pg from 'pg';
import { TAG_BYTES } from './document-crypto.ts';

export type StoredChunk = { idx: number; body: Buffer };

/** What a store needs to know of a document to find its chunks. */
export type ChunkLayout = { id: string; chunkCount: number; size: number };

export interface ChunkWriter {
  /** Queues one sealed chunk; resolves once it is safe to send more (backpressure). */
  put(idx: number, body: Buffer): Promise<void>;
  /** Writes whatever is still queued. */
  flush(): Promise<void>;
  /** After the upload's transaction rolled back: removes what was written outside it (best effort). */
  abort(): Promise<void>;
}

export interface DocumentStore {
  readonly name: string;
  /** Chunks per read() while a download streams (default 16, 1 MiB). */
  readonly readBatch?: number;
  /** Writes a document's chunks as part of the transaction `tx` (rolled back with it, or by abort()). */
  writer(tx: pg.PoolClient, documentId: string): ChunkWriter;
  /** Every chunk's index and GCM tag, in index order (for the manifest check). */
  tags(doc: ChunkLayout): Promise<{ idx: number; tag: Buffer }[]>;
  /** Chunks from..to (inclusive), in index order. */
  read(doc: ChunkLayout, from: number, to: number): Promise<StoredChunk[]>;
  /** Removes the chunks inside the deletion's transaction (after the data key has been destroyed). */
  destroy(tx: pg.PoolClient, documentId: string): Promise<void>;
  /** After the deletion committed: removes what lives outside the database (best effort). */
  discard(documentId: string): Promise<void>;
}

/** The store new uploads go to, and every configured store by the name documents.storage records. */
export class DocumentStores {
  private readonly byName = new Map<string, DocumentStore>();
  constructor(
    readonly current: DocumentStore,
    others: DocumentStore[] = [],
  ) {
    for (const s of [current, ...others]) this.byName.set(s.name, s);
  }

  of(doc: { storage: string }): DocumentStore {
    const store = this.byName.get(doc.storage);
    // A server error, not an integrity failure: the configuration lacks the store.
    if (!store) throw new Error(`document store "${doc.storage}" is not configured (DOCUMENTS_STORE, DOCUMENTS_S3_*)`);
    return store;
  }
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
      // Rolled back with the transaction.
      abort: async () => {
        await inFlight.catch(() => {});
      },
    };
  }

  async tags({ id: documentId }: ChunkLayout) {
    // STORAGE EXTERNAL on body: substring reads only the last TOAST slice.
    const { rows } = await this.pool.query<{ idx: number; tag: Buffer }>(
      `SELECT idx, substring(body FROM octet_length(body) - ${TAG_BYTES - 1}) AS tag
         FROM document_chunks WHERE document_id = $1::uuid ORDER BY idx`,
      [documentId],
    );
    return rows;
  }

  async read({ id: documentId }: ChunkLayout, from: number, to: number) {
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

  async discard() {}
}
