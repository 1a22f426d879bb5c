// PostgreSQL's binary COPY format for document chunks (rows of idx int4, body
// bytea), written and read by the PostgreSQL store (document-store.ts).
import type { StoredChunk } from './document-store.ts';

// Chunks travel in PostgreSQL's binary COPY format both ways: raw bytes on the
// wire, no hex text to encode and parse (a bytea in a normal result comes as
// hex, twice its size, and node-pg cannot return binary results), and no
// statement buffer grown and copied per batch. Profiled (bench/documents.bench.ts
// --profile): hex decoding was a third of a download's CPU, buffer growth and
// its garbage most of an upload's.
export const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Signature, flags 0, no header extension. */
export const COPY_HEADER = Buffer.concat([COPY_SIGNATURE, Buffer.alloc(8)]);
export const COPY_TRAILER = Buffer.from([0xff, 0xff]);
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** COPY takes no parameters: the id goes into the statement only once it is known to be a UUID. */
export function checkedUuid(id: string): string {
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
