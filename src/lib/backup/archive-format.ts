// The plaintext inside a backup (it only ever exists inside the age stream):
// a magic line, then frames of [type: 1 byte][length: uint32 BE][payload].
//   H  manifest (JSON): format, migrations with checksums, tables in load order, sequences
//   T  table start (JSON {name})      D  COPY text data of that table (raw bytes)
//   E  table end (JSON {rows, bytes, sha256})
//   S  secrets (JSON)                 Z  end (JSON {tables}); nothing may follow
// Lengths make every boundary explicit; the E and Z frames let restore name
// what is wrong even if a bug (not an attacker: age authenticates every byte)
// ever produced an inconsistent archive.

export const MAGIC = Buffer.from('EXILES-BACKUP 1\n', 'ascii');
export const FORMAT_VERSION = 1;
/** Data frames are cut at this size, so neither side ever holds more than about this much per table. */
export const DATA_FRAME_BYTES = 128 * 1024;
const MAX_FRAME = 16 * 1024 * 1024;

export type FrameType = 'H' | 'T' | 'D' | 'E' | 'S' | 'Z';
export type Frame = { type: FrameType; payload: Buffer };

export type ArchivedMigration = { name: string; checksum: string };
export type ArchivedTable = { name: string; columns: string[] };
export type ArchivedSequence = { name: string; lastValue: string | null };

export type Manifest = {
  format: number;
  createdAt: string;
  postgres: string;
  /** The schema version: every applied migration with its checksum, in order. */
  migrations: ArchivedMigration[];
  /** In dependency (load) order: a table comes after every table it references. */
  tables: ArchivedTable[];
  sequences: ArchivedSequence[];
  secrets: boolean;
};

export type TableEnd = { rows: number; bytes: number; sha256: string };

/** Archived secrets: the variables to set, and (embedded mode) the secrets file as it was. */
export type ArchivedSecrets = { source: 'embedded' | 'external'; env: Record<string, string>; file?: object };

/** A frame's 5-byte head: its payload may then follow in any number of pieces (no copy). */
export function frameHead(type: FrameType, length: number): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'ascii');
  head.writeUInt32BE(length, 1);
  return head;
}

export function frame(type: FrameType, payload: Buffer | object): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload), 'utf8');
  return Buffer.concat([frameHead(type, body.length), body]);
}

export class ArchiveFormatError extends Error {}

/**
 * Parses frames from decrypted chunks of any size. Holds at most one frame
 * plus one incoming chunk.
 */
export async function* readFrames(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Frame> {
  let parts: Buffer[] = [];
  let have = 0;
  let magicSeen = false;
  const take = (n: number): Buffer => {
    const all = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    parts = rest.length ? [rest] : [];
    have = rest.length;
    return out;
  };
  let need: { type: FrameType; length: number } | null = null;
  for await (const chunk of chunks) {
    parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    have += chunk.byteLength;
    for (;;) {
      if (!magicSeen) {
        if (have < MAGIC.length) break;
        if (!take(MAGIC.length).equals(MAGIC)) throw new ArchiveFormatError('not a backup made by this software');
        magicSeen = true;
      }
      if (!need) {
        if (have < 5) break;
        const head = take(5);
        const type = head.toString('ascii', 0, 1) as FrameType;
        const length = head.readUInt32BE(1);
        if (!'HTDESZ'.includes(type) || length > MAX_FRAME) throw new ArchiveFormatError('malformed frame');
        need = { type, length };
      }
      if (have < need.length) break;
      // Copy: the frame must not keep the (possibly large) shared buffer alive.
      const payload = Buffer.from(take(need.length));
      const f: Frame = { type: need.type, payload };
      need = null;
      yield f;
    }
  }
  if (need || have || !magicSeen) throw new ArchiveFormatError('the archive ends in the middle of a frame');
}

export function json<T>(f: Frame): T {
  try {
    return JSON.parse(f.payload.toString('utf8')) as T;
  } catch {
    throw new ArchiveFormatError(`frame ${f.type} is not valid JSON`);
  }
}
