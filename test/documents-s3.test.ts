// The S3-compatible document store against a real S3-protocol server (s3rver,
// in this process, on 127.0.0.1, a random port and a temporary folder): the
// core cases of documents.test.ts and documents-integrity.test.ts again —
// round trip, ranges, deletion, tampering, no plaintext in the bucket — plus
// what only a bucket has: rollback removes the object, the orphan sweep, and
// documents of both stores read side by side.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { FastifyInstance } from 'fastify';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { S3DocumentStore } from '../src/modules/documents/s3-document-store.ts';
import { sweepOrphans } from '../src/modules/documents/s3-orphan-sweep.ts';
import {
  clientFor,
  countRows,
  createCase,
  createTeam,
  expectProblem,
  setupTestEnv,
  testEnvVars,
  type Client,
  type TestEnv,
} from './helpers.ts';
import { docxBytes, download, jpegWithGps, pdfBytes, textBytes, upload } from './documents-fixtures.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MARKER = 'ZQX-S3-MARKER-ПРИКАЗ';
const BUCKET = 'case-documents';
const SEALED = 65536 + 16;

let dir: string;
let server: S3rver;
let s3: S3Client;
let env: TestEnv;
let cw: Client;
let caseId: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 's3rver-'));
  server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: dir,
    silent: true,
    configureBuckets: [{ name: BUCKET }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  s3 = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  env = await setupTestEnv({
    env: {
      DOCUMENTS_S3_ENDPOINT: endpoint,
      DOCUMENTS_S3_BUCKET: BUCKET,
      DOCUMENTS_S3_ACCESS_KEY_ID: 'S3RVER',
      DOCUMENTS_S3_SECRET_ACCESS_KEY: 'S3RVER',
      DOCUMENTS_S3_FORCE_PATH_STYLE: 'true',
    },
  });
  const team = await createTeam(env, ['AM']);
  cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
  caseId = (await createCase(cw, team)).caseId;
});
afterAll(async () => {
  await env?.close();
  s3?.destroy();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const keys = async () =>
  ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((o) => o.Key!).sort();
async function object(id: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: id }));
  return Buffer.from(await res.Body!.transformToByteArray());
}
const putObject = (id: string, body: Buffer) =>
  s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: id, Body: body, ContentLength: body.length }));

function markedText(bytes: number): Buffer {
  const line = `${MARKER} extradition request line padding\n`;
  return Buffer.from(line.repeat(Math.ceil(bytes / Buffer.byteLength(line)))).subarray(0, bytes);
}

async function uploaded(file: Buffer, fields: [string, string][] = [['kind', 'OTHER']]) {
  const res = await upload(env, cw, caseId, file, fields);
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; sha256: string; size: number; metadataStripped: boolean };
}

describe('configuration', () => {
  it('s3 without a bucket, or a key id without its secret, is refused at start; a bucket alone selects s3', () => {
    const config = (vars: Record<string, string>) => loadConfig(testEnvVars(env.url, vars));
    expect(() => config({ DOCUMENTS_STORE: 's3' })).toThrow(/DOCUMENTS_S3_BUCKET/);
    expect(() => config({ DOCUMENTS_S3_BUCKET: 'bkt', DOCUMENTS_S3_ACCESS_KEY_ID: 'x' })).toThrow(/go together/);
    expect(config({}).documents).toMatchObject({ store: 'postgres', s3: null });
    expect(config({ DOCUMENTS_S3_BUCKET: 'bkt' }).documents).toMatchObject({ store: 's3', s3: { bucket: 'bkt' } });
    expect(config({ DOCUMENTS_S3_BUCKET: 'bkt', DOCUMENTS_STORE: 'postgres' }).documents.store).toBe('postgres');
  });
});

describe('round trip through the bucket', () => {
  it.each([
    ['TXT', () => textBytes(300_000)],
    ['DOCX', docxBytes],
    ['PDF', () => pdfBytes()],
    ['JPEG', () => jpegWithGps()],
  ])('%s: one object named by the document id, no chunk rows; the download matches sha256', async (_n, make) => {
    const file = await make();
    const doc = await uploaded(file);
    expect(await keys()).toContain(doc.id);
    // Keys are document ids, never a client's file name.
    for (const key of await keys()) {
      expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(await countRows(env, 'document_chunks', 'document_id = $1', [doc.id])).toBe(0);
    const [row] = await env.sql<{ storage: string }>('SELECT storage FROM documents WHERE id = $1', [doc.id]);
    expect(row.storage).toBe('s3');
    const got = await download(env, cw, doc.id);
    expect(got.statusCode).toBe(200);
    expect(sha256(got.rawPayload)).toBe(doc.sha256);
    if (!doc.metadataStripped) expect(got.rawPayload.equals(file)).toBe(true);
  });

  it('a 10 MB file (multipart upload): the bucket holds no plaintext; whole and ranged downloads are exact', async () => {
    const file = markedText(10 * 1024 * 1024);
    const doc = await uploaded(file, [['kind', 'EXTRADITION_REQUEST']]);
    const stored = await object(doc.id);
    // 160 sealed chunks, then their 160 tags.
    expect(stored.length).toBe(file.length + 160 * 16 * 2);
    const marker = Buffer.from(MARKER);
    for (const needle of [marker, marker.subarray(0, 10), marker.subarray(8)]) {
      expect(stored.includes(needle)).toBe(false);
    }
    expect(stored.includes(file.subarray(0, 64))).toBe(false);
    expect((await download(env, cw, doc.id)).rawPayload.equals(file)).toBe(true);
    for (const [s, e] of [
      [5_000_000, 5_300_000],
      [0, 0],
      [65535, 65536],
      [file.length - 10, file.length - 1],
    ]) {
      const res = await download(env, cw, doc.id, `bytes=${s}-${e}`);
      expect(res.statusCode).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes ${s}-${e}/${file.length}`);
      expect(res.rawPayload.equals(file.subarray(s, e + 1))).toBe(true);
    }
  });

  it('parallel uploads all land, each in its own object', async () => {
    const files = Array.from({ length: 6 }, (_, i) => textBytes(100_000 + i));
    const docs = await Promise.all(files.map((f) => upload(env, cw, caseId, f)));
    expect(docs.map((r) => r.statusCode)).toEqual(Array(6).fill(201));
    const all = await keys();
    for (const [i, r] of docs.entries()) {
      expect(all).toContain(r.json().id);
      expect((await download(env, cw, r.json().id)).rawPayload.equals(files[i])).toBe(true);
    }
  });
});

describe('rollback and deletion', () => {
  it('a refused upload leaves no object: small (one PUT) and large (multipart)', async () => {
    const before = await keys();
    for (const file of [textBytes(1000), markedText(7 * 1024 * 1024)]) {
      // The kind is checked after the body was stored: the transaction rolls back, the object goes.
      expectProblem(await upload(env, cw, caseId, file, [['kind', 'SELFIE']]), 400, 'body.kind');
    }
    expect(await keys()).toEqual(before);
    expect(await countRows(env, 'documents', 'case_id = $1 AND size = 1000', [caseId])).toBe(0);
  });

  it('delete destroys the data key, then the object; the audit keeps the hash', async () => {
    const doc = await uploaded(textBytes(5000));
    expect(await keys()).toContain(doc.id);
    expect((await cw.del(`/v1/documents/${doc.id}`)).statusCode).toBe(204);
    const [row] = await env.sql<{ wrapped_key: string | null }>('SELECT wrapped_key FROM documents WHERE id = $1', [
      doc.id,
    ]);
    expect(row.wrapped_key).toBeNull();
    expect(await keys()).not.toContain(doc.id);
    expectProblem(await download(env, cw, doc.id), 404);
    const audit = await env.sql<{ action: string; changes: { sha256: string } }>(
      'SELECT action, changes FROM audit_entries WHERE entity_id = $1 ORDER BY id',
      [doc.id],
    );
    expect(audit.map((a) => a.action)).toEqual(['document.upload', 'document.delete']);
    expect(audit[1].changes.sha256).toBe(doc.sha256);
  });
});

describe('tampering with the object', () => {
  async function expectIntegrityFailure(id: string) {
    const count = () =>
      countRows(env, 'audit_entries', "entity_id = $1 AND action = 'document.integrity_failure'", [id]);
    const before = await count();
    const res = await download(env, cw, id);
    const p = expectProblem(res, 500);
    expect(p.detail).not.toMatch(/chunk|manifest|key|object/i);
    expect(res.body).not.toContain('ZQX');
    expect(await count()).toBe(before + 1);
  }
  const edit = async (id: string, change: (b: Buffer) => Buffer) => putObject(id, change(await object(id)));
  const flip = (at: (b: Buffer) => number) => (b: Buffer) => {
    b[at(b)] ^= 1;
    return b;
  };

  it('a byte flipped in a chunk, in the trailer of tags; chunks swapped; truncated; extended; gone', async () => {
    const tampers: ((b: Buffer) => Buffer)[] = [
      flip(() => 2 * SEALED + 100),
      flip((b) => b.length - 3),
      (b) => Buffer.concat([b.subarray(SEALED, 2 * SEALED), b.subarray(0, SEALED), b.subarray(2 * SEALED)]),
      (b) => b.subarray(0, b.length - 16),
      (b) => Buffer.concat([b, Buffer.alloc(16)]),
    ];
    for (const tamper of tampers) {
      const doc = await uploaded(markedText(300_000));
      await edit(doc.id, tamper);
      await expectIntegrityFailure(doc.id);
    }
    const gone = await uploaded(markedText(1000));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: gone.id }));
    await expectIntegrityFailure(gone.id);
  });

  it("another document's object under this id fails; the other still opens", async () => {
    const a = await uploaded(markedText(200_000));
    const b = await uploaded(markedText(200_000));
    await putObject(a.id, await object(b.id));
    await expectIntegrityFailure(a.id);
    expect(sha256((await download(env, cw, b.id)).rawPayload)).toBe(b.sha256);
  });

  it('a byte flipped past the first megabyte: the response is cut off, never completed; audited', async () => {
    const file = markedText(2 * 1024 * 1024);
    const doc = await uploaded(file);
    await edit(
      doc.id,
      flip(() => 20 * SEALED + 5),
    );
    const res = await download(env, cw, doc.id).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    if (!(res instanceof Error)) expect(res.rawPayload.length).toBeLessThan(file.length);
    await expect
      .poll(() => countRows(env, 'audit_entries', "entity_id = $1 AND action = 'document.integrity_failure'", [doc.id]))
      .toBe(1);
  });
});

describe('orphan sweep', () => {
  it('deletes objects without a live row (at once when the row is deleted, after the age limit otherwise)', async () => {
    const store = new S3DocumentStore(s3, BUCKET, env.app.log);
    const live = await uploaded(textBytes(100));
    const deleted = await uploaded(textBytes(100));
    const kept = await object(deleted.id);
    expect((await cw.del(`/v1/documents/${deleted.id}`)).statusCode).toBe(204);
    await putObject(deleted.id, kept); // as if the delete after the commit had failed
    const orphan = randomUUID();
    await putObject(orphan, randomBytes(500)); // as if the process died between the object and the commit
    await putObject('not-a-document', Buffer.from('x'));
    const opts = { olderThanMinutes: 60, now: new Date() };

    const first = await sweepOrphans(store, env.app.sqlPool, opts);
    expect(first.deleted).toEqual([deleted.id]);
    expect(await keys()).toEqual(expect.arrayContaining([live.id, orphan, 'not-a-document']));
    const later = await sweepOrphans(store, env.app.sqlPool, { ...opts, now: new Date(Date.now() + 61 * 60_000) });
    expect(later.deleted).toEqual([orphan]);
    expect(await keys()).toEqual(expect.arrayContaining([live.id, 'not-a-document']));
    expect(await keys()).not.toContain(orphan);
    expect(sha256((await download(env, cw, live.id)).rawPayload)).toBe(live.sha256);
  });

  describe('a second app, storing in PostgreSQL', () => {
    let second: FastifyInstance | null = null;
    afterAll(async () => second?.close());

    it('sweeps at startup; each store serves its own documents to both apps', async () => {
      const orphan = randomUUID();
      await putObject(orphan, randomBytes(500));
      // Two days old: s3rver dates an object by its file's modification time.
      const old = new Date(Date.now() - 2 * 24 * 3600_000);
      await utimes(path.join(dir, BUCKET, `${orphan}._S3rver_object`), old, old);
      const inBucket = await uploaded(textBytes(2000));
      second = await buildApp(
        { ...env.config, documents: { ...env.config.documents, store: 'postgres' } },
        { logStream: new Writable({ write: (_c, _e, cb) => cb() }) },
      );
      await second.ready();
      await expect.poll(async () => (await keys()).includes(orphan)).toBe(false);
      expect(await keys()).toContain(inBucket.id);

      const file = textBytes(3000);
      const res = await second.inject({
        method: 'POST',
        url: `/v1/cases/${caseId}/documents`,
        ...(() => {
          const boundary = 'b0undary';
          const payload = Buffer.concat([
            Buffer.from(
              `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nOTHER\r\n` +
                `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n`,
            ),
            file,
            Buffer.from(`\r\n--${boundary}--\r\n`),
          ]);
          return {
            payload,
            headers: {
              authorization: `Bearer ${cw.token}`,
              'content-type': `multipart/form-data; boundary=${boundary}`,
            },
          };
        })(),
      });
      expect(res.statusCode, res.body).toBe(201);
      const inPg = res.json().id as string;
      expect(await countRows(env, 'document_chunks', 'document_id = $1', [inPg])).toBeGreaterThan(0);
      expect(await keys()).not.toContain(inPg);
      expect((await download(env, cw, inPg)).rawPayload.equals(file)).toBe(true);
      const viaSecond = await second.inject({
        method: 'GET',
        url: `/v1/documents/${inBucket.id}/content`,
        headers: { authorization: `Bearer ${cw.token}` },
      });
      expect(sha256(viaSecond.rawPayload)).toBe(inBucket.sha256);
    });
  });
});
