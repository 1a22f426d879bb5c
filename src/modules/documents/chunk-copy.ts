// PostgreSQL's binary COPY format for document chunks (rows of idx int4, body
// bytea), written and read by the PostgreSQL store (document-store.ts).
import { UUID_RE } from '../../lib/uuid.ts';

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

/** COPY takes no parameters: the id goes into the statement only once it is known to be a UUID. */
export function checkedUuid(id: string): string {
  if (!UUID_RE.test(id)) throw new Error('document id must be a UUID');
  return id.toLowerCase();
}
