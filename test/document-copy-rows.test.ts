// The COPY query objects of the PostgreSQL document store
// (src/modules/documents/copy-out.ts, copy-in.ts), against the real server:
// what PostgreSQL sends parses byte for byte whatever the row sizes (empty,
// larger than a slot, many more rows than are queued before the socket is
// paused, read by a slow consumer); anything but a binary COPY of (idx, body)
// fails; a failure on the server ends the rows with its error; and a COPY
// refused or abandoned half-way leaves the connection usable.
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopyIn } from '../src/modules/documents/copy-in.ts';
import { CopyOutRows } from '../src/modules/documents/copy-out.ts';
import { PgDocumentStore } from '../src/modules/documents/document-store.ts';
import { setupTestEnv, type TestEnv } from './helpers.ts';

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

/** Runs fn on a pooled client and checks the connection still answers afterwards. */
async function onClient(fn: (c: pg.PoolClient) => Promise<void>) {
  const c = await pool.connect();
  try {
    await fn(c);
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    c.release();
  } catch (e) {
    c.release(e as Error);
    throw e;
  }
}

const submit = (c: pg.PoolClient, q: CopyOutRows | CopyIn) => void c.query(q as unknown as pg.QueryConfig);
// Row g: g bytes of (g mod 251), except a few larger than a slot (64 KiB + 16) and an empty one.
const SIZES = `CASE WHEN g = 3 THEN 0 WHEN g % 17 = 5 THEN 150000 ELSE 65552 - g END`;
const ROWS = `SELECT g AS idx, decode(repeat(lpad(to_hex(g % 251), 2, '0'), ${SIZES}), 'hex') AS body
                FROM generate_series(0, 59) g`;
const expected = (g: number) => Buffer.alloc(g === 3 ? 0 : g % 17 === 5 ? 150000 : 65552 - g, g % 251);

describe('COPY TO, read from the protocol parser', () => {
  it.each([true, false])('every row byte-exact with a slow consumer (recycled slots: %s)', async (recycle) => {
    await onClient(async (c) => {
      const copy = new CopyOutRows(`COPY (${ROWS}) TO STDOUT (FORMAT binary)`, recycle);
      submit(c, copy);
      const kept: Buffer[] = [];
      let n = 0;
      for await (const row of copy.rows()) {
        expect(row.idx).toBe(n);
        // Slower than the database: rows queue up and the socket is paused and resumed meanwhile.
        if (n % 8 === 0) await new Promise((r) => setTimeout(r, 20));
        // A recycled body stays valid until the next row is asked for.
        expect(row.body.equals(expected(n)), `row ${n}`).toBe(true);
        if (!recycle) kept.push(row.body);
        n++;
      }
      expect(n).toBe(60);
      kept.forEach((b, i) => expect(b.equals(expected(i)), `kept row ${i}`).toBe(true));
    });
  });

  it('text COPY output, other columns, or no trailer: an error, never rows', async () => {
    for (const sql of [
      `COPY (${ROWS}) TO STDOUT`,
      `COPY (SELECT g AS idx, 'x'::bytea AS body, 1 AS extra FROM generate_series(0, 2) g) TO STDOUT (FORMAT binary)`,
      `COPY (SELECT g::int8 AS idx, 'x'::bytea AS body FROM generate_series(0, 2) g) TO STDOUT (FORMAT binary)`,
    ]) {
      await onClient(async (c) => {
        const copy = new CopyOutRows(sql, true);
        submit(c, copy);
        const seen: number[] = [];
        await expect(
          (async () => {
            for await (const row of copy.rows()) seen.push(row.idx);
          })(),
        ).rejects.toThrow(/unexpected COPY output/);
        // The rest of the COPY is dropped as it arrives; the connection is then ready again.
        expect(seen).toEqual([]);
      });
    }
  });

  it('a failure on the server half-way ends the rows with its error', async () => {
    await onClient(async (c) => {
      const copy = new CopyOutRows(
        `COPY (SELECT g AS idx, decode(repeat('ab', 65552), 'hex') AS body, 1 / (40 - g) AS boom
                 FROM generate_series(0, 50) g) TO STDOUT (FORMAT binary)`,
        true,
      );
      submit(c, copy);
      await expect(
        (async () => {
          for await (const row of copy.rows()) void row;
        })(),
      ).rejects.toThrow(/division by zero|unexpected COPY output/);
    });
  });
});

describe('COPY FROM, written to the socket', () => {
  const head = (id: string, idx: number, length: number) => {
    const h = Buffer.alloc(34);
    h.writeInt16BE(3, 0);
    h.writeInt32BE(16, 2);
    Buffer.from(id.replace(/-/g, ''), 'hex').copy(h, 6);
    h.writeInt32BE(4, 22);
    h.writeInt32BE(idx, 26);
    h.writeInt32BE(length, 30);
    return h;
  };

  it('a row PostgreSQL refuses (a duplicate index) fails the COPY; ROLLBACK and the next query work', async () => {
    await onClient(async (c) => {
      await c.query('BEGIN');
      const copy = new CopyIn('COPY document_chunks (document_id, idx, body) FROM STDIN (FORMAT binary)');
      submit(c, copy);
      const id = randomUUID();
      const body = randomBytes(65552);
      const sent = (async () => {
        for (const idx of [0, 1, 1, 2, 3]) await copy.row(head(id, idx, body.length), [body], 34 + body.length);
        await copy.end();
      })();
      await expect(sent).rejects.toThrow(/duplicate key/);
      await c.query('ROLLBACK');
    });
  });

  it('abandoned while the socket is backed up: CopyFail, then ROLLBACK and nothing kept', async () => {
    const store = new PgDocumentStore(pool);
    const id = randomUUID();
    await onClient(async (c) => {
      await c.query('BEGIN');
      const w = store.writer(c, id);
      await w.put(0, [randomBytes(65536), randomBytes(16)]);
      // Not awaited: several MiB are queued in the socket when the abort comes.
      const puts = Array.from({ length: 64 }, (_, i) => w.put(i + 1, [randomBytes(65536), randomBytes(16)]));
      const settled = Promise.allSettled(puts);
      await new Promise((r) => setImmediate(r));
      await w.abort();
      const results = await settled;
      expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThan(0);
      await c.query('ROLLBACK');
    });
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM document_chunks WHERE document_id = $1', [id]);
    expect(rows[0].n).toBe(0);
  });
});
