// Documents at rest: no plaintext in storage (a 10 MB file with a known
// marker), tampering with stored chunks or keys fails cleanly and is audited,
// the size limit answers 413 while streaming with nothing written, and key
// rotation re-wraps data keys without touching file bodies.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { FieldCrypto } from '../src/lib/field-crypto.ts';
import { rotateKeys } from '../src/lib/key-rotation.ts';
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
import { download, upload } from './documents-fixtures.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MARKER = 'ZQX-MARKER-7f3a9c-ПРИКАЗ';

let env: TestEnv;
let cw: Client;
let caseId: string;
beforeAll(async () => {
  env = await setupTestEnv();
  const team = await createTeam(env, ['AM']);
  cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
  caseId = (await createCase(cw, team)).caseId;
});
afterAll(async () => env?.close());

/** Text of about `bytes` bytes with the marker on every line. */
function markedText(bytes: number): Buffer {
  const line = `${MARKER} detention order line padding padding padding\n`;
  return Buffer.from(line.repeat(Math.ceil(bytes / Buffer.byteLength(line)))).subarray(0, bytes);
}

describe('no plaintext at rest', () => {
  it('a 10 MB file: the marker is nowhere in storage; the download is byte-exact, whole and ranged', async () => {
    const file = markedText(10 * 1024 * 1024);
    const res = await upload(env, cw, caseId, file, [['kind', 'EXTRADITION_REQUEST']]);
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    expect(res.json().sha256).toBe(sha256(file));
    const marker = Buffer.from(MARKER);
    for (const needle of [marker, marker.subarray(0, 12), marker.subarray(8)]) {
      const [hit] = await env.sql<{ n: number }>(
        'SELECT count(*)::int AS n FROM document_chunks WHERE position($1::bytea IN body) > 0',
        [needle],
      );
      expect(hit.n).toBe(0);
    }
    const [row] = await env.sql<{ t: string }>('SELECT d::text AS t FROM documents d WHERE id = $1', [id]);
    expect(row.t).not.toContain('ZQX');
    expect(await countRows(env, 'audit_entries', "changes::text LIKE '%ZQX%'")).toBe(0);
    expect(await countRows(env, 'document_chunks', 'document_id = $1', [id])).toBe(160);

    const whole = await download(env, cw, id);
    expect(whole.rawPayload.equals(file)).toBe(true);
    const mid = await download(env, cw, id, 'bytes=5000000-5300000');
    expect(mid.statusCode).toBe(206);
    expect(mid.rawPayload.equals(file.subarray(5_000_000, 5_300_001))).toBe(true);
  });
});

describe('tampering', () => {
  async function fresh(bytes = 300_000) {
    const file = markedText(bytes);
    const res = await upload(env, cw, caseId, file);
    expect(res.statusCode, res.body).toBe(201);
    return { id: res.json().id as string, file };
  }
  const body = async (id: string, idx: number) =>
    (
      await env.sql<{ body: Buffer }>('SELECT body FROM document_chunks WHERE document_id = $1 AND idx = $2', [id, idx])
    )[0].body;
  const setBody = (id: string, idx: number, b: Buffer) =>
    env.sql('UPDATE document_chunks SET body = $3 WHERE document_id = $1 AND idx = $2', [id, idx, b]);

  async function expectIntegrityFailure(id: string, range?: string) {
    const before = await countRows(env, 'audit_entries', "entity_id = $1 AND action = 'document.integrity_failure'", [
      id,
    ]);
    const res = await download(env, cw, id, range);
    const p = expectProblem(res, 500);
    expect(p.detail).not.toMatch(/chunk|manifest|key/i);
    expect(res.body).not.toContain('ZQX');
    expect(
      await countRows(env, 'audit_entries', "entity_id = $1 AND action = 'document.integrity_failure'", [id]),
    ).toBe(before + 1);
    const [entry] = await env.sql<{ changes: { sha256: string; reason: string } }>(
      "SELECT changes FROM audit_entries WHERE entity_id = $1 AND action = 'document.integrity_failure' ORDER BY id DESC LIMIT 1",
      [id],
    );
    expect(entry.changes.sha256).toMatch(/^[0-9a-f]{64}$/);
    return entry.changes.reason;
  }

  it('two chunks swapped', async () => {
    const { id } = await fresh();
    const [a, b] = [await body(id, 1), await body(id, 2)];
    await setBody(id, 1, b);
    await setBody(id, 2, a);
    await expectIntegrityFailure(id);
    await expectIntegrityFailure(id, 'bytes=70000-70010');
  });

  it('chunks reordered by index', async () => {
    const { id } = await fresh();
    // Through indexes out of the way: the primary key is checked row by row.
    await env.sql('UPDATE document_chunks SET idx = (idx + 1) % 4 + 100 WHERE document_id = $1 AND idx < 4', [id]);
    await env.sql('UPDATE document_chunks SET idx = idx - 100 WHERE document_id = $1 AND idx >= 100', [id]);
    await expectIntegrityFailure(id);
  });

  it('truncated: last chunk removed, with and without the chunk count adjusted', async () => {
    const { id } = await fresh();
    await env.sql('DELETE FROM document_chunks WHERE document_id = $1 AND idx = 4', [id]);
    await expectIntegrityFailure(id);
    await env.sql('UPDATE documents SET chunk_count = 4, size = 4 * 65536 WHERE id = $1', [id]);
    await expectIntegrityFailure(id);
  });

  it('a chunk size other than the one this version cuts: refused, never served at shifted offsets', async () => {
    const { id } = await fresh();
    await env.sql('UPDATE documents SET chunk_size = 32768 WHERE id = $1', [id]);
    expect(await expectIntegrityFailure(id, 'bytes=40000-40010')).toBe('chunk size 32768, expected 65536');
    await env.sql('UPDATE documents SET chunk_size = 65536 WHERE id = $1', [id]);
    expect((await download(env, cw, id, 'bytes=40000-40010')).statusCode).toBe(206);
  });

  it('a chunk moved from another document', async () => {
    const a = await fresh();
    const b = await fresh();
    await setBody(a.id, 1, await body(b.id, 1));
    await expectIntegrityFailure(a.id);
    expect((await download(env, cw, b.id)).rawPayload.equals(b.file)).toBe(true);
  });

  it("another document's wrapped data key", async () => {
    const a = await fresh();
    const b = await fresh();
    const [original] = await env.sql<{ wrapped_key: string }>('SELECT wrapped_key FROM documents WHERE id = $1', [
      a.id,
    ]);
    await env.sql(
      'UPDATE documents SET wrapped_key = (SELECT wrapped_key FROM documents WHERE id = $2) WHERE id = $1',
      [a.id, b.id],
    );
    expect(await expectIntegrityFailure(a.id)).toBe('data key does not unwrap');
    // Put it back: key rotation (below) refuses a wrapped key that does not open, as it does for any field.
    await env.sql('UPDATE documents SET wrapped_key = $2 WHERE id = $1', [a.id, original.wrapped_key]);
    expect((await download(env, cw, a.id)).rawPayload.equals(a.file)).toBe(true);
  });

  it('a bit flipped in the first megabyte: clean 500', async () => {
    const { id } = await fresh();
    const b = await body(id, 2);
    b[100] ^= 1;
    await setBody(id, 2, b);
    expect(await expectIntegrityFailure(id)).toBe('chunk 2 fails authentication');
  });

  it('a bit flipped past the first megabyte: the response is cut off, never completed; audited', async () => {
    const { id, file } = await fresh(2 * 1024 * 1024);
    const b = await body(id, 20);
    b[5] ^= 1;
    await setBody(id, 20, b);
    const res = await download(env, cw, id).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    if (!(res instanceof Error)) {
      // Headers went out before chunk 20 was reached: the body stops short of Content-Length.
      expect(res.rawPayload.length).toBeLessThan(file.length);
      expect(res.rawPayload.equals(file.subarray(0, res.rawPayload.length))).toBe(true);
    }
    await expect
      .poll(() => countRows(env, 'audit_entries', "entity_id = $1 AND action = 'document.integrity_failure'", [id]))
      .toBe(1);
  });
});

describe('size limit', () => {
  let small: TestEnv;
  let c: Client;
  let smallCase: string;
  beforeAll(async () => {
    small = await setupTestEnv({ env: { DOCUMENT_MAX_BYTES: '200000' } });
    const team = await createTeam(small, ['AM']);
    c = await clientFor(small, 'CASEWORKER', { teamIds: [team] });
    smallCase = (await createCase(c, team)).caseId;
  });
  afterAll(async () => small?.close());

  it('exactly the limit is stored; one byte more answers 413 naming the file, and nothing is written', async () => {
    expect((await upload(small, c, smallCase, Buffer.from('a'))).statusCode).toBe(201);
    const atLimit = Buffer.alloc(200_000, 0x61);
    expect((await upload(small, c, smallCase, atLimit)).statusCode).toBe(201);
    const counts = async () => [
      await countRows(small, 'documents'),
      await countRows(small, 'document_chunks'),
      await countRows(small, 'audit_entries'),
    ];
    const before = await counts();
    expectProblem(await upload(small, c, smallCase, Buffer.alloc(200_001, 0x61)), 413, 'file');
    expectProblem(await upload(small, c, smallCase, Buffer.alloc(5_000_000, 0x61)), 413, 'file');
    expect(await counts()).toEqual(before);
  });

  it('413 arrives while the client is still sending (the limit is counted as bytes stream in, not after)', async () => {
    await small.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = small.app.server.address() as AddressInfo;
    const boundary = '----limit-test';
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `/v1/cases/${smallCase}/documents`,
          headers: {
            authorization: `Bearer ${c.token}`,
            'content-type': `multipart/form-data; boundary=${boundary}`,
            // Announces 50 MB; only 300 kB is ever sent and the request is never ended.
            'content-length': String(50_000_000),
          },
        },
        (res) => {
          resolve(res.statusCode ?? 0);
          res.resume();
          req.destroy();
        },
      );
      req.on('error', () => {});
      setTimeout(() => reject(new Error('no response while the upload was still open')), 10_000).unref();
      req.write(
        `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nOTHER\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n`,
      );
      req.write(Buffer.alloc(300_000, 0x61));
    });
    expect(status).toBe(413);
    // The refused upload's connection is closed, not left paused with unread bytes.
    await expect.poll(() => new Promise<number>((r) => small.app.server.getConnections((_e, n) => r(n)))).toBe(0);
  });
});

describe('key rotation', () => {
  let rotated: FastifyInstance | null = null;
  afterAll(async () => rotated?.close());

  it('re-wraps data keys without touching chunks; an app holding only the new key opens the files', async () => {
    const file = markedText(200_000);
    const id = (await upload(env, cw, caseId, file)).json().id as string;
    const digest = async () =>
      (
        await env.sql<{ h: string }>(
          "SELECT md5(string_agg(md5(body), '' ORDER BY idx)) AS h FROM document_chunks WHERE document_id = $1",
          [id],
        )
      )[0].h;
    const chunksBefore = await digest();
    const newKey = randomBytes(32);
    const crypto = new FieldCrypto(
      new Map([...env.config.crypto.keys, ['t2', newKey]]),
      't2',
      env.config.crypto.blindIndexKey,
    );
    const counts = await rotateKeys(env.db, crypto);
    expect(counts.documents).toBeGreaterThanOrEqual(1);
    const [row] = await env.sql<{ wrapped_key: string }>('SELECT wrapped_key FROM documents WHERE id = $1', [id]);
    expect(row.wrapped_key.startsWith('v1.t2.')).toBe(true);
    expect(await digest()).toBe(chunksBefore);
    expect((await rotateKeys(env.db, crypto)).documents).toBe(0);

    const config = loadConfig(
      testEnvVars(env.url, {
        ENCRYPTION_KEYS: `t2:${newKey.toString('base64')}`,
        BLIND_INDEX_KEY: env.config.crypto.blindIndexKey.toString('base64'),
        JWT_SECRET: env.config.auth.jwtSecret,
      }),
    );
    rotated = await buildApp(config);
    const res = await rotated.inject({
      method: 'GET',
      url: `/v1/documents/${id}/content`,
      headers: { authorization: `Bearer ${cw.token}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.equals(file)).toBe(true);
  });
});
