// Where sealed chunks live, behind one small interface. The PostgreSQL store
// (here) is the default: chunks go into document_chunks inside the upload's
// own transaction, so the embedded single-machine mode needs nothing else and
// one backup holds everything. The S3-compatible store
// (./s3-document-store.ts) keeps one object per document instead. Each
// document row names the store that holds its body (documents.storage), so
// switching DOCUMENTS_STORE leaves earlier documents readable.
import type pg from 'pg';
import { checkedUuid } from './chunk-copy.ts';
import { CopyIn } from './copy-in.ts';
import { CopyOutRows } from './copy-out.ts';
import { TAG_BYTES } from './document-crypto.ts';

export type StoredChunk = { idx: number; body: Buffer };

/** A sealed chunk as one buffer or as pieces to be stored back to back (ciphertext, then tag): no copy to join them. */
export type SealedChunk = Buffer | readonly Buffer[];

export const piecesOf = (body: SealedChunk): readonly Buffer[] => (Buffer.isBuffer(body) ? [body] : body);

/** The last n bytes of a sealed chunk (its GCM tag). */
export function tailOf(body: SealedChunk, n: number): Buffer {
  const pieces = piecesOf(body);
  const last = pieces[pieces.length - 1];
  return last.length >= n ? last.subarray(last.length - n) : Buffer.concat(pieces).subarray(-n);
}

/** What a store needs to know of a document to find its chunks. */
export type ChunkLayout = { id: string; chunkCount: number; size: number };

export interface ChunkWriter {
  /** Queues one sealed chunk (ciphertext ‖ tag, whole or in pieces); resolves once it is safe to send more. */
  put(idx: number, body: SealedChunk): Promise<void>;
  /** Writes whatever is still queued. */
  flush(): Promise<void>;
  /**
   * The upload failed: stops writing (before the transaction is rolled back, so the connection is free for
   * the ROLLBACK) and removes what was written outside the transaction (best effort).
   */
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
  /**
   * Chunks from..to as one stream, each as soon as it arrives (a download's body after its first batch);
   * stores without it are read in batches of readBatch. A chunk's body may be valid only until the next is
   * asked for (its buffer reused).
   */
  stream?(doc: ChunkLayout, from: number, to: number): AsyncIterable<StoredChunk>;
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

/** A row's head in the binary COPY format: field count, then the uuid, the int4 index and the body's length. */
const ROW_HEAD = 2 + 4 + 16 + 4 + 4 + 4;

export class PgDocumentStore implements DocumentStore {
  readonly name = 'pg';
  constructor(private readonly pool: pg.Pool) {}

  writer(tx: pg.PoolClient, documentId: string): ChunkWriter {
    const idBytes = Buffer.from(checkedUuid(documentId).replace(/-/g, ''), 'hex');
    let copy: CopyIn | null = null;
    // Started on the first chunk: the upload's BEGIN has been sent by then.
    const open = () => {
      copy = new CopyIn('COPY document_chunks (document_id, idx, body) FROM STDIN (FORMAT binary)');
      void tx.query(copy as unknown as pg.QueryConfig);
      return copy;
    };
    return {
      put: async (idx, body) => {
        const c = copy ?? open();
        // Per row: 3 fields; the uuid (16 bytes), the int4 index, the body's length — then the body itself.
        const pieces = piecesOf(body);
        const length = pieces.reduce((n, p) => n + p.length, 0);
        const head = Buffer.allocUnsafe(ROW_HEAD);
        head.writeInt16BE(3, 0);
        head.writeInt32BE(16, 2);
        idBytes.copy(head, 6);
        head.writeInt32BE(4, 22);
        head.writeInt32BE(idx, 26);
        head.writeInt32BE(length, 30);
        // Resolves once the socket can take more (backpressure); rejects if the COPY failed meanwhile.
        await c.row(head, pieces, ROW_HEAD + length);
      },
      flush: async () => {
        await copy?.end();
      },
      // The COPY is abandoned (CopyFail) so the connection can roll back; rows go with the transaction.
      abort: async () => {
        await copy?.fail('upload aborted');
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

  /** The rows of one COPY of chunks from..to; the connection is held until it has ended. */
  private async *copied(documentId: string, from: number, to: number, recycle: boolean): AsyncGenerator<StoredChunk> {
    if (!Number.isInteger(from) || !Number.isInteger(to)) throw new Error('chunk range must be integers');
    const copy = new CopyOutRows(
      `COPY (SELECT idx, body FROM document_chunks WHERE document_id = '${checkedUuid(documentId)}'::uuid
              AND idx BETWEEN ${from} AND ${to} ORDER BY idx) TO STDOUT (FORMAT binary)`,
      recycle,
    );
    const client = await this.pool.connect();
    let complete = false;
    try {
      void client.query(copy as unknown as pg.QueryConfig);
      yield* copy.rows();
      complete = true;
    } finally {
      // A connection left in the middle of a COPY (the client went away) is closed, not given back to the pool.
      client.release(complete ? undefined : new Error('download stopped during COPY'));
    }
  }

  async read({ id: documentId }: ChunkLayout, from: number, to: number) {
    const rows: StoredChunk[] = [];
    for await (const row of this.copied(documentId, from, to, false)) rows.push(row);
    return rows;
  }

  /**
   * One COPY for the rest of a download: the database sends without waiting for a request per batch, and
   * each chunk is decrypted and sent as it arrives; the socket's backpressure paces the database. A body
   * is valid until the next chunk is asked for (its buffer is reused).
   */
  stream({ id: documentId }: ChunkLayout, from: number, to: number): AsyncGenerator<StoredChunk> {
    return this.copied(documentId, from, to, true);
  }

  async destroy(tx: pg.PoolClient, documentId: string) {
    await tx.query(`DELETE FROM document_chunks WHERE document_id = $1::uuid`, [documentId]);
  }

  async discard() {}
}
