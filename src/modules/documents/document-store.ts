// Where sealed chunks live, behind one small interface. The PostgreSQL store
// (here) is the default: chunks go into document_chunks inside the upload's
// own transaction, so the embedded single-machine mode needs nothing else and
// one backup holds everything. The S3-compatible store
// (./s3-document-store.ts) keeps one object per document instead. Each
// document row names the store that holds its body (documents.storage), so
// switching DOCUMENTS_STORE leaves earlier documents readable.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { checkedUuid, COPY_HEADER, COPY_TRAILER, copiedChunks, parseCopiedChunks } from './chunk-copy.ts';
import { TAG_BYTES } from './document-crypto.ts';

export type StoredChunk = { idx: number; body: Buffer };
export { parseCopiedChunks } from './chunk-copy.ts';

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
   * stores without it are read in batches of readBatch.
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

export class PgDocumentStore implements DocumentStore {
  readonly name = 'pg';
  constructor(private readonly pool: pg.Pool) {}

  writer(tx: pg.PoolClient, documentId: string): ChunkWriter {
    const idBytes = Buffer.from(checkedUuid(documentId).replace(/-/g, ''), 'hex');
    let copy: Writable | null = null;
    let done: Promise<void> = Promise.resolve();
    // Started on the first chunk: the upload's BEGIN has been sent by then.
    const open = () => {
      const c = tx.query(copyFrom('COPY document_chunks (document_id, idx, body) FROM STDIN (FORMAT binary)'));
      done = finished(c);
      done.catch(() => {});
      c.write(COPY_HEADER);
      copy = c;
      return c;
    };
    return {
      put: async (idx, body) => {
        const c = copy ?? open();
        // Per row: 3 fields; the uuid (16 bytes), the int4 index, the body's length — then the body itself.
        const head = Buffer.allocUnsafe(2 + 4 + 16 + 4 + 4 + 4);
        head.writeInt16BE(3, 0);
        head.writeInt32BE(16, 2);
        idBytes.copy(head, 6);
        head.writeInt32BE(4, 22);
        head.writeInt32BE(idx, 26);
        const pieces = piecesOf(body);
        head.writeInt32BE(
          pieces.reduce((n, p) => n + p.length, 0),
          30,
        );
        c.write(head);
        let ready = true;
        for (const p of pieces) ready = c.write(p);
        // Backpressure: wait while the socket is behind (rejects if the COPY fails meanwhile).
        if (!ready) {
          const drained = once(c, 'drain');
          drained.catch(() => {}); // an 'error' rejects both; `done` carries it
          await Promise.race([drained, done]);
        }
      },
      flush: async () => {
        if (!copy) return;
        copy.end(COPY_TRAILER);
        await done;
      },
      // The COPY is abandoned (CopyFail) so the connection can roll back; rows go with the transaction.
      abort: async () => {
        if (copy && !copy.writableFinished) copy.destroy(new Error('upload aborted'));
        await done.catch(() => {});
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
    if (!Number.isInteger(from) || !Number.isInteger(to)) throw new Error('chunk range must be integers');
    const client = await this.pool.connect();
    let failed: Error | undefined;
    try {
      const stream = client.query(
        copyTo(
          `COPY (SELECT idx, body FROM document_chunks WHERE document_id = '${checkedUuid(documentId)}'::uuid
                  AND idx BETWEEN ${from} AND ${to} ORDER BY idx) TO STDOUT (FORMAT binary)`,
        ),
      );
      const parts: Buffer[] = [];
      for await (const part of stream) parts.push(part as Buffer);
      return parseCopiedChunks(parts.length === 1 ? parts[0] : Buffer.concat(parts));
    } catch (e) {
      failed = e as Error;
      throw e;
    } finally {
      // A connection that failed in the middle of a COPY is not given back to the pool.
      client.release(failed);
    }
  }

  /**
   * One COPY for the rest of a download: the database sends without waiting for a request per batch, and
   * each chunk is decrypted and sent as it arrives; the socket's backpressure paces the database. The
   * connection is held until the end; one left mid-COPY (the client went away) is closed, not pooled.
   */
  async *stream({ id: documentId }: ChunkLayout, from: number, to: number): AsyncGenerator<StoredChunk> {
    if (!Number.isInteger(from) || !Number.isInteger(to)) throw new Error('chunk range must be integers');
    const sql = `COPY (SELECT idx, body FROM document_chunks WHERE document_id = '${checkedUuid(documentId)}'::uuid
                  AND idx BETWEEN ${from} AND ${to} ORDER BY idx) TO STDOUT (FORMAT binary)`;
    const client = await this.pool.connect();
    let complete = false;
    try {
      const copy = client.query(copyTo(sql));
      yield* copiedChunks(copy);
      // The trailer is in: wait for the COPY to end so the connection is ready for the next query.
      await finished(copy);
      complete = true;
    } finally {
      client.release(complete ? undefined : new Error('download stopped during COPY'));
    }
  }

  async destroy(tx: pg.PoolClient, documentId: string) {
    await tx.query(`DELETE FROM document_chunks WHERE document_id = $1::uuid`, [documentId]);
  }

  async discard() {}
}
