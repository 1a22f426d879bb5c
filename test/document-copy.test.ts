// The PostgreSQL document store moves chunks in the binary COPY format
// (src/modules/documents/document-store.ts): what it writes reads back byte
// for byte (malformed COPY output is refused: test/document-copy-rows.test.ts), and a
// COPY abandoned half-way leaves the connection usable (the 413 and rollback
// cases of test/documents-integrity.test.ts go through the whole upload).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDocumentStore } from '../src/modules/documents/document-store.ts';
import { clientFor, createCase, createTeam, setupTestEnv, type TestEnv } from './helpers.ts';
import { upload } from './documents-fixtures.ts';

let env: TestEnv;
let pool: pg.Pool;
beforeAll(async () => {
  env = await setupTestEnv();
  pool = new pg.Pool({ connectionString: env.config.db.url, max: 2 });
});
afterAll(async () => {
  await pool?.end();
  await env?.close();
});

describe('binary COPY of document chunks', () => {
  it('writes in the transaction and reads back exactly, with odd sizes; a rollback leaves nothing', async () => {
    const store = new PgDocumentStore(pool);
    const id = randomUUID();
    const bodies = [65552, 65552, 17, 0, 65552, 1].map((n) => randomBytes(n));
    const tx = await pool.connect();
    try {
      await tx.query('BEGIN');
      // The FK to documents is checked at commit (the row follows the chunks in an upload): read before it.
      const w = store.writer(tx, id);
      for (const [i, b] of bodies.entries()) await w.put(i, b);
      await w.flush();
      const { rows } = await tx.query<{ idx: number; body: Buffer }>(
        'SELECT idx, body FROM document_chunks WHERE document_id = $1 ORDER BY idx',
        [id],
      );
      expect(rows.map((r) => r.idx)).toEqual([0, 1, 2, 3, 4, 5]);
      for (const r of rows) expect(r.body.equals(bodies[r.idx])).toBe(true);
      await tx.query('ROLLBACK');
    } finally {
      tx.release();
    }
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM document_chunks WHERE document_id = $1', [id]);
    expect(rows[0].n).toBe(0);
  });

  it('an abandoned COPY leaves the connection ready for ROLLBACK and the next query', async () => {
    const store = new PgDocumentStore(pool);
    const tx = await pool.connect();
    try {
      await tx.query('BEGIN');
      const w = store.writer(tx, randomUUID());
      await w.put(0, randomBytes(65552));
      await w.put(1, randomBytes(65552));
      await w.abort();
      await tx.query('ROLLBACK');
      expect((await tx.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      tx.release();
    }
  });

  it('a document id that is not a UUID never reaches a COPY statement', async () => {
    const store = new PgDocumentStore(pool);
    const tx = await pool.connect();
    try {
      expect(() => store.writer(tx, "x'; DROP TABLE documents; --")).toThrow(/UUID/);
      await expect(store.read({ id: "x' OR '1'='1", chunkCount: 1, size: 1 }, 0, 0)).rejects.toThrow(/UUID/);
    } finally {
      tx.release();
    }
  });

  it('downloads stream in one COPY; twelve abandoned half-way leave no connection behind (the pool has four)', async () => {
    const team = await createTeam(env, ['AM']);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const { caseId } = await createCase(cw, team);
    // 6 MiB of text: 1 MiB before the answer starts, the rest streamed.
    const file = Buffer.from('detention order line, padded to a useful length\n'.repeat(140_000)).subarray(0, 6 << 20);
    const res = await upload(env, cw, caseId, file);
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    await env.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = env.app.server.address() as AddressInfo;
    const get = (abandon: boolean) =>
      new Promise<{ status: number; sha256?: string }>((resolve, reject) => {
        const req = http.get(
          {
            host: '127.0.0.1',
            port,
            path: `/v1/documents/${id}/content`,
            headers: { authorization: `Bearer ${cw.token}` },
          },
          (r) => {
            const h = createHash('sha256');
            let seen = 0;
            r.on('data', (c: Buffer) => {
              h.update(c);
              seen += c.length;
              // Past the first batch: the server is in the middle of its COPY.
              if (abandon && seen > 3 << 20) {
                req.destroy();
                resolve({ status: r.statusCode ?? 0 });
              }
            });
            r.on('end', () => resolve({ status: r.statusCode ?? 0, sha256: h.digest('hex') }));
            r.on('error', () => {});
          },
        );
        req.on('error', (e) => (abandon ? undefined : reject(e)));
      });
    for (let i = 0; i < 12; i++) expect((await get(true)).status).toBe(200);
    // Whole downloads still work, byte-exact, in parallel.
    const whole = await Promise.all([get(false), get(false), get(false)]);
    const expected = createHash('sha256').update(file).digest('hex');
    for (const w of whole) expect(w).toEqual({ status: 200, sha256: expected });
  }, 60_000);
});
