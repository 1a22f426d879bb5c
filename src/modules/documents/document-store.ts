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

// Chunks travel in PostgreSQL's binary COPY format both ways: raw bytes on the
// wire, no hex text to encode and parse (a bytea in a normal result comes as
// hex, twice its size, and node-pg cannot return binary results), and no
// statement buffer grown and copied per batch. Profiled (bench/documents.bench.ts
// --profile): hex decoding was a third of a download's CPU, buffer growth and
// its garbage most of an upload's.
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Signature, flags 0, no header extension. */
const COPY_HEADER = Buffer.concat([COPY_SIGNATURE, Buffer.alloc(8)]);
const COPY_TRAILER = Buffer.from([0xff, 0xff]);
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** COPY takes no parameters: the id goes into the statement only once it is known to be a UUID. */
function checkedUuid(id: string): string {
  if (!UUID_RE.test(id)) throw new Error('document id must be a UUID');
  return id.toLowerCase();
}

/** The rows of `COPY (SELECT idx, body …) TO STDOUT (FORMAT binary)`: bodies are views into `buf`. */
export function parseCopiedChunks(buf: Buffer): StoredChunk[] {
  if (buf.length < COPY_HEADER.length || !buf.subarray(0, COPY_SIGNATURE.length).equals(COPY_SIGNATURE)) {
    throw new Error('unexpected COPY output');
  }
  let at = COPY_SIGNATURE.length + 4;
  at += 4 + buf.readInt32BE(at);
  const rows: StoredChunk[] = [];
  for (;;) {
    const fields = buf.readInt16BE(at);
    at += 2;
    if (fields === -1) return rows;
    if (fields !== 2 || buf.readInt32BE(at) !== 4) throw new Error('unexpected COPY row');
    const idx = buf.readInt32BE(at + 4);
    const length = buf.readInt32BE(at + 8);
    at += 12;
    if (length < 0 || at + length > buf.length) throw new Error('unexpected COPY row');
    rows.push({ idx, body: buf.subarray(at, at + length) });
    at += length;
  }
}

export class PgDocumentStore implements DocumentStore {
  readonly name = 'pg';
  /** 2 MiB per COPY while a download streams (1 MiB: ~10 % slower here; 4 MiB: no faster, +15 MB peak). */
  readonly readBatch = 32;
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

  async destroy(tx: pg.PoolClient, documentId: string) {
    await tx.query(`DELETE FROM document_chunks WHERE document_id = $1::uuid`, [documentId]);
  }

  async discard() {}
}
