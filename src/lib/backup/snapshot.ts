// `npm run backup`: one consistent snapshot of the database, streamed table by
// table through COPY into the encrypted archive, written atomically.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import {
  DATA_FRAME_BYTES,
  FORMAT_VERSION,
  MAGIC,
  frame,
  frameHead,
  type ArchivedSecrets,
  type Manifest,
} from './archive-format.ts';
import { encryptStream, webStreamFrom, type BackupKey } from './age-stream.ts';
import { LEDGER, SCHEMA, ident, listSequences, tablesInLoadOrder } from './catalog.ts';

export type BackupResult = { tables: number; rows: number; plainBytes: number; archiveBytes: number; ms: number };

async function readManifest(client: pg.Client, withSecrets: boolean): Promise<Manifest> {
  const ledger = await client.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [
    `${SCHEMA}.${LEDGER}`,
  ]);
  if (!ledger.rows[0].ok) throw new Error('the database has no schema yet (no migration applied): nothing to back up');
  const { rows: migrations } = await client.query<{ name: string; checksum: string; finished: boolean }>(
    `SELECT migration_name AS name, checksum, finished_at IS NOT NULL AS finished
     FROM ${ident(LEDGER)} WHERE rolled_back_at IS NULL ORDER BY migration_name`,
  );
  const unfinished = migrations.find((m) => !m.finished);
  if (unfinished) {
    throw new Error(`migration ${unfinished.name} failed half-way: fix the database before backing it up`);
  }
  const { rows } = await client.query<{ v: string }>('SHOW server_version');
  return {
    format: FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    postgres: rows[0].v,
    migrations: migrations.map((m) => ({ name: m.name, checksum: m.checksum })),
    tables: await tablesInLoadOrder(client),
    sequences: await listSequences(client),
    secrets: withSecrets,
  };
}

/**
 * The plaintext archive, produced only as fast as it is consumed: each COPY
 * stream is read when the encrypter pulls, so memory stays at one frame
 * whatever the table sizes.
 */
async function* plaintext(
  client: pg.Client,
  manifest: Manifest,
  secrets: ArchivedSecrets | null,
  totals: { rows: number; bytes: number },
): AsyncGenerator<Uint8Array> {
  yield MAGIC;
  yield frame('H', manifest);
  for (const t of manifest.tables) {
    yield frame('T', { name: t.name });
    const hash = createHash('sha256');
    let rows = 0;
    let bytes = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const cols = t.columns.map(ident).join(', ');
    const copy = client.query(copyTo(`COPY ${ident(SCHEMA)}.${ident(t.name)} (${cols}) TO STDOUT`));
    for await (const c of copy as AsyncIterable<Buffer>) {
      hash.update(c);
      bytes += c.length;
      // Text format escapes newlines inside values: one newline = one row.
      for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) rows++;
      pending.push(c);
      pendingBytes += c.length;
      if (pendingBytes >= DATA_FRAME_BYTES) {
        yield frameHead('D', pendingBytes);
        yield* pending;
        pending = [];
        pendingBytes = 0;
      }
    }
    if (pendingBytes) {
      yield frameHead('D', pendingBytes);
      yield* pending;
    }
    yield frame('E', { rows, bytes, sha256: hash.digest('hex') });
    totals.rows += rows;
    totals.bytes += bytes;
  }
  if (secrets) yield frame('S', secrets);
  yield frame('Z', { tables: manifest.tables.length });
}

/** Writes the encrypted archive to `out` (temp file, fsync, rename: never a half-written file under that name). */
export async function writeBackup(opts: {
  url: string;
  out: string;
  key: BackupKey;
  secrets: ArchivedSecrets | null;
}): Promise<BackupResult> {
  const started = Date.now();
  const client = new pg.Client({ connectionString: opts.url, application_name: 'exiles-backup' });
  await client.connect();
  const dir = path.dirname(path.resolve(opts.out));
  const tmp = path.join(dir, `.${path.basename(opts.out)}.${randomBytes(6).toString('hex')}.partial`);
  try {
    // One snapshot for every table, and a promise to write nothing: a backup
    // taken while the server runs is consistent and cannot disturb it.
    await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const manifest = await readManifest(client, opts.secrets !== null);
    const totals = { rows: 0, bytes: 0 };
    const plain = webStreamFrom(plaintext(client, manifest, opts.secrets, totals));
    const cipher = await encryptStream(plain, opts.key);
    let archiveBytes = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        archiveBytes += chunk.length;
        cb(null, chunk);
      },
    });
    await pipeline(
      Readable.fromWeb(cipher as import('node:stream/web').ReadableStream<Uint8Array>),
      count,
      createWriteStream(tmp, { flags: 'wx', mode: 0o600 }),
    );
    await client.query('COMMIT');
    const fh = await open(tmp, 'r+');
    await fh.sync();
    await fh.close();
    await rename(tmp, opts.out);
    const d = await open(dir, 'r');
    await d.sync().catch(() => {}); // some filesystems refuse fsync on a directory
    await d.close();
    return {
      tables: manifest.tables.length,
      rows: totals.rows,
      plainBytes: totals.bytes,
      archiveBytes,
      ms: Date.now() - started,
    };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    await client.end().catch(() => {});
  }
}
