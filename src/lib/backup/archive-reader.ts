// Reading an archive: decrypt (age authenticates each 64 KiB chunk before
// releasing it, and the last chunk's flag makes truncation detectable), parse
// the frames, check each table's checksum and row count against its end frame.
import { createHash } from 'node:crypto';
import {
  ArchiveFormatError,
  FORMAT_VERSION,
  json,
  readFrames,
  type ArchivedSecrets,
  type ArchivedTable,
  type Frame,
  type Manifest,
  type TableEnd,
} from './archive-format.ts';
import { decryptStream, type BackupKey } from './age-stream.ts';

/** A restore that stopped before writing anything (or, past the schema, before committing data); the message says why. */
export class RestoreError extends Error {}

async function* authenticated(plain: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    for await (const c of plain as unknown as AsyncIterable<Uint8Array>) yield c;
  } catch (e) {
    throw new RestoreError(`the archive failed authentication (${(e as Error).message}): it was altered or truncated`);
  }
}

/** What to do with each table's data as it streams (restore loads it; verification only counts). */
export type TableSink = {
  begin(t: ArchivedTable): Promise<void>;
  data(chunk: Buffer): Promise<void>;
  /** Returns the number of rows it took in. */
  end(t: ArchivedTable, archived: TableEnd): Promise<number>;
};

export async function openArchive(input: ReadableStream<Uint8Array>, key: BackupKey) {
  const frames = readFrames(authenticated(await decryptStream(input, key)));
  const next = async (): Promise<Frame | null> => {
    try {
      const r = await frames.next();
      return r.done ? null : r.value;
    } catch (e) {
      throw e instanceof ArchiveFormatError ? new RestoreError(e.message) : e;
    }
  };
  const first = await next();
  if (!first || first.type !== 'H') throw new RestoreError('the archive has no manifest');
  const manifest = json<Manifest>(first);
  if (manifest.format !== FORMAT_VERSION) {
    throw new RestoreError(`archive format ${manifest.format} is not supported by this code (${FORMAT_VERSION})`);
  }
  return { manifest, next };
}

/** Streams every table through `sink`, checking each against the archive; ends only at an authenticated end. */
export async function readTables(
  archive: Awaited<ReturnType<typeof openArchive>>,
  sink: TableSink,
): Promise<{ tables: number; rows: number; secrets: ArchivedSecrets | null }> {
  const { manifest, next } = archive;
  let secrets: ArchivedSecrets | null = null;
  let tableIdx = 0;
  let rows = 0;
  let ended = false;
  for (let f = await next(); f; f = await next()) {
    if (ended) throw new RestoreError('data follows the end of the archive');
    if (f.type === 'T') {
      const t = manifest.tables[tableIdx];
      const name = json<{ name: string }>(f).name;
      if (!t || t.name !== name) throw new RestoreError(`table ${name} is not where the manifest puts it`);
      const hash = createHash('sha256');
      let bytes = 0;
      await sink.begin(t);
      for (f = await next(); f && f.type === 'D'; f = await next()) {
        hash.update(f.payload);
        bytes += f.payload.length;
        await sink.data(f.payload);
      }
      if (!f || f.type !== 'E') throw new RestoreError(`table ${t.name} is cut short`);
      const end = json<TableEnd>(f);
      if (end.bytes !== bytes || end.sha256 !== hash.digest('hex')) {
        throw new RestoreError(`table ${t.name}: its data does not match its checksum`);
      }
      const got = await sink.end(t, end);
      if (got !== end.rows) throw new RestoreError(`table ${t.name}: ${got} rows read, ${end.rows} archived`);
      rows += end.rows;
      tableIdx++;
    } else if (f.type === 'S') secrets = json<ArchivedSecrets>(f);
    else if (f.type === 'Z') ended = true;
    else throw new RestoreError(`unexpected ${f.type} frame`);
  }
  // The loop ends only when the age stream ended with a valid final chunk.
  if (!ended) throw new RestoreError('the archive is truncated (no end marker)');
  if (tableIdx !== manifest.tables.length) throw new RestoreError('the archive holds fewer tables than its manifest');
  if (manifest.secrets && !secrets) throw new RestoreError('the manifest announces secrets the archive lacks');
  return { tables: tableIdx, rows, secrets };
}

/** Reads the whole archive without writing anything: authenticity, completeness, every checksum. */
export async function verifyArchive(input: ReadableStream<Uint8Array>, key: BackupKey) {
  const archive = await openArchive(input, key);
  let rows = 0;
  const result = await readTables(archive, {
    begin: async () => {
      rows = 0;
    },
    data: async (chunk) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++;
    },
    end: async () => rows,
  });
  return { manifest: archive.manifest, ...result };
}
