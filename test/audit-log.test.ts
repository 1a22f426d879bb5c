// The audit log as a signed transparency log: audited reads never conflict,
// the sequencer puts every entry in the tree once, proofs verify, and every
// way a database writer could rewrite history is caught by audit:verify.
import { spawnSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCheckpoint, signNote, verifyCheckpoint } from '../src/lib/checkpoint.ts';
import { verifyConsistency, verifyInclusion } from '../src/lib/merkle-proof.ts';
import { appendAudit } from '../src/modules/audit/audit.log.ts';
import { auditPublicKey } from '../src/modules/audit/audit.keys.ts';
import { AuditSequencer } from '../src/modules/audit/audit.sequencer.ts';
import { verifyAuditLog } from '../src/modules/audit/audit.verify.ts';
import { PROJECT_ROOT } from '../src/lib/paths.ts';
import {
  clientFor,
  createCase,
  createTeam,
  expectProblem,
  setupTestEnv,
  type Client,
  type TestEnv,
} from './helpers.ts';

const b64 = (s: string) => Buffer.from(s, 'base64');

function sequencer(env: TestEnv) {
  return new AuditSequencer({ db: env.db, config: env.config, log: env.app.log });
}

function verify(env: TestEnv, oldCheckpoint?: string) {
  const key = auditPublicKey(env.config);
  return verifyAuditLog(async (sql, params) => env.sql(sql, params), {
    publicKey: b64(key.publicKey),
    origin: key.origin,
    oldCheckpoint,
  });
}

/** A connection that acts as a database writer with the triggers switched off (what a superuser could do). */
async function asTamperer<T>(env: TestEnv, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: env.url });
  await c.connect();
  try {
    await c.query("SET session_replication_role = 'replica'");
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Writes n entries on one case and seals them into the tree with a checkpoint. */
async function sealedLog(n: number) {
  const env = await setupTestEnv();
  const admin = await clientFor(env, 'ADMIN');
  const teamId = await createTeam(env);
  const cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
  const { caseId } = await createCase(cw, teamId);
  for (let i = 0; i < n; i++) {
    await appendAudit(env.db, {
      actorId: admin.userId,
      action: 'test.write',
      entityType: 'case',
      entityId: caseId,
      caseId,
      changes: { i },
    });
  }
  const seq = sequencer(env);
  await seq.drain();
  const cp = await seq.checkpoint();
  expect(cp).not.toBeNull();
  return { env, admin, cw, caseId, checkpoint: cp!.note, seq };
}

describe('audited reads under concurrency', () => {
  let env: TestEnv;
  let cw: Client;
  let caseId: string;
  let personId: string;
  beforeAll(async () => {
    env = await setupTestEnv();
    const teamId = await createTeam(env);
    cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
    ({ caseId, personId } = await createCase(cw, teamId));
  });
  afterAll(() => env.close());

  it('30 parallel reads of one case and its person by its caseworker all answer 200 and are all audited', async () => {
    const before = await env.db.auditEntry.count({ where: { chain: caseId } });
    const res = await Promise.all(
      Array.from({ length: 30 }, (_, i) => cw.get(i % 2 ? `/v1/cases/${caseId}` : `/v1/people/${personId}`)),
    );
    expect(res.map((r) => r.statusCode)).toEqual(Array(30).fill(200));
    // Every read revealed legal data, so every one left an entry.
    expect(await env.db.auditEntry.count({ where: { chain: caseId } })).toBeGreaterThanOrEqual(before + 15);
  });

  it('200 parallel reads and writes on one case: no error, every entry sequenced exactly once, the tree verifies', async () => {
    const seq = sequencer(env);
    const sequencing = seq.start(20);
    const res = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        i % 4 === 0
          ? cw.post(`/v1/cases/${caseId}/events`, {
              type: 'THREAT',
              country: 'AM',
              occurredAt: '2026-01-05',
              details: `call ${i}`,
            })
          : cw.get(
              i % 4 === 1
                ? `/v1/cases/${caseId}`
                : i % 4 === 2
                  ? `/v1/people/${personId}`
                  : `/v1/cases/${caseId}/events`,
            ),
      ),
    );
    await sequencing.close();
    const failed = res.filter((r) => r.statusCode >= 300).map((r) => `${r.statusCode} ${r.body.slice(0, 120)}`);
    expect(failed).toEqual([]);
    await seq.drain();
    await seq.checkpoint();
    const [counts] = await env.sql<{ total: number; sequenced: number; distinct: number; max: number }>(
      'SELECT count(*)::int AS total, count(leaf_index)::int AS sequenced, count(DISTINCT leaf_index)::int AS distinct, max(leaf_index)::int AS max FROM audit_entries',
    );
    expect(counts.sequenced).toBe(counts.total);
    expect(counts.distinct).toBe(counts.total);
    expect(counts.max).toBe(counts.total - 1);
    const report = await verify(env);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });
});

describe('proofs over HTTP', () => {
  let ctx: Awaited<ReturnType<typeof sealedLog>>;
  beforeAll(async () => {
    ctx = await sealedLog(37);
  });
  afterAll(() => ctx.env.close());

  it('publishes the signed checkpoint as text and the key that verifies it', async () => {
    const res = await ctx.cw.get('/v1/audit/checkpoint');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const key = (await ctx.cw.get('/v1/audit/public-key')).json();
    expect(key.algorithm).toBe('Ed25519');
    const cp = verifyCheckpoint(res.body, { name: key.origin, publicKey: b64(key.publicKey) });
    expect(res.body.split('\n')[0]).toBe(key.origin);
    expect(cp.size).toBeGreaterThanOrEqual(37);
  });

  it('an inclusion proof of every entry verifies against the checkpoint root; a flipped bit does not', async () => {
    const cp = verifyCheckpoint(ctx.checkpoint, {
      name: ctx.env.config.audit.origin,
      publicKey: b64(auditPublicKey(ctx.env.config).publicKey),
    });
    const ids = await ctx.env.sql<{ id: string }>(
      'SELECT id::text FROM audit_entries WHERE leaf_index IS NOT NULL ORDER BY leaf_index',
    );
    for (const { id } of ids) {
      const res = await ctx.admin.get(`/v1/audit/proof/inclusion?entryId=${id}&treeSize=${cp.size}`);
      expect(res.statusCode, res.body).toBe(200);
      const p = res.json();
      expect(verifyInclusion(p.leafIndex, p.treeSize, b64(p.leafHash), p.hashes.map(b64), cp.rootHash)).toBe(true);
      const bad = b64(p.leafHash);
      bad[0] ^= 1;
      expect(verifyInclusion(p.leafIndex, p.treeSize, bad, p.hashes.map(b64), cp.rootHash)).toBe(false);
    }
  });

  it('a consistency proof between an old and a new checkpoint verifies', async () => {
    const env = ctx.env;
    const key = { name: env.config.audit.origin, publicKey: b64(auditPublicKey(env.config).publicKey) };
    const old = verifyCheckpoint(ctx.checkpoint, key);
    for (let i = 0; i < 11; i++) {
      await appendAudit(env.db, { actorId: null, action: 'test.more', entityType: 'system' });
    }
    await ctx.seq.drain();
    const next = verifyCheckpoint((await ctx.seq.checkpoint())!.note, key);
    const res = await ctx.admin.get(`/v1/audit/proof/consistency?from=${old.size}&to=${next.size}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(verifyConsistency(old.size, next.size, old.rootHash, next.rootHash, res.json().hashes.map(b64))).toBe(true);
    expect(verifyConsistency(old.size, next.size, next.rootHash, next.rootHash, res.json().hashes.map(b64))).toBe(
      false,
    );
  });

  it('proofs are for admins only; bad sizes name the field', async () => {
    expectProblem(await ctx.cw.get('/v1/audit/proof/consistency?from=1&to=2'), 403);
    expectProblem(await ctx.cw.get('/v1/audit/proof/inclusion?entryId=1'), 403);
    expectProblem(await ctx.admin.get('/v1/audit/proof/consistency?from=1&to=999999'), 400, 'querystring.to');
    expectProblem(await ctx.admin.get('/v1/audit/proof/inclusion?entryId=abc'), 400, 'querystring.entryId');
    expectProblem(await ctx.admin.get('/v1/audit/proof/inclusion?entryId=999999999'), 404);
  });

  it('lists entries with their leaf index, a page at a time', async () => {
    const first = await ctx.admin.get(`/v1/audit?caseId=${ctx.caseId}&limit=10`);
    expect(first.statusCode).toBe(200);
    const page1 = first.json();
    expect(page1.items).toHaveLength(10);
    expect(page1.items.every((e: { leafIndex: number | null }) => typeof e.leafIndex === 'number')).toBe(true);
    const second = (await ctx.admin.get(`/v1/audit?caseId=${ctx.caseId}&limit=10&cursor=${page1.nextCursor}`)).json();
    expect(Number(second.items[0].id)).toBeGreaterThan(Number(page1.items[9].id));
    expectProblem(await ctx.cw.get(`/v1/audit?caseId=${ctx.caseId}`), 403);
  });
});

describe('chain of custody of one case', () => {
  let ctx: Awaited<ReturnType<typeof sealedLog>>;
  beforeAll(async () => {
    ctx = await sealedLog(5);
  });
  afterAll(() => ctx.env.close());

  it("the case's caseworker gets a file that verifies offline; one changed byte makes it fail", async () => {
    const res = await ctx.cw.get(`/v1/cases/${ctx.caseId}/custody`);
    expect(res.statusCode, res.body).toBe(200);
    const custody = res.json();
    expect(custody.entries.length).toBeGreaterThanOrEqual(5);
    expect(custody.entries.every((e: { entry: { caseId: string } }) => e.entry.caseId === ctx.caseId)).toBe(true);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'custody-'));
    const file = path.join(dir, 'custody.json');
    const script = path.join(PROJECT_ROOT, 'scripts', 'verify-custody.mjs');
    writeFileSync(file, res.body);
    const ok = spawnSync(process.execPath, [script, file], { encoding: 'utf8' });
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    // One byte: the action of one entry.
    writeFileSync(file, res.body.replace('"action":"test.write"', '"action":"test.writf"'));
    const bad = spawnSync(process.execPath, [script, file], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(/entry|leaf|proof/i);
  });

  it('admins may export it; a lawyer on the case may not (403), another team (404), a coordinator (403)', async () => {
    const env = ctx.env;
    expect((await ctx.admin.get(`/v1/cases/${ctx.caseId}/custody`)).statusCode).toBe(200);
    const lawyer = await clientFor(env, 'LAWYER');
    expect(
      (await ctx.cw.post(`/v1/cases/${ctx.caseId}/assignments`, { lawyerId: lawyer.userId, role: 'LEAD' })).statusCode,
    ).toBe(201);
    expectProblem(await lawyer.get(`/v1/cases/${ctx.caseId}/custody`), 403);
    const other = await clientFor(env, 'CASEWORKER', { teamIds: [await createTeam(env)] });
    expectProblem(await other.get(`/v1/cases/${ctx.caseId}/custody`), 404);
    expectProblem(await (await clientFor(env, 'COORDINATOR')).get(`/v1/cases/${ctx.caseId}/custody`), 403);
  });
});

describe('tampering is detected by audit:verify', () => {
  it('an intact log verifies', async () => {
    const { env, checkpoint } = await sealedLog(20);
    const report = await verify(env, checkpoint);
    expect(report.problems).toEqual([]);
    await env.close();
  });

  it('an entry altered', async () => {
    const { env } = await sealedLog(20);
    await asTamperer(env, (c) => c.query(`UPDATE audit_entries SET action = 'test.forged' WHERE leaf_index = 7`));
    const report = await verify(env);
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatch(/leaf 7.*altered/);
    await env.close();
  });

  it('an entry deleted', async () => {
    const { env } = await sealedLog(20);
    await asTamperer(env, (c) => c.query('DELETE FROM audit_entries WHERE leaf_index = 4'));
    const report = await verify(env);
    expect(report.problems[0]).toMatch(/leaf 4 is missing.*deleted/);
    await env.close();
  });

  it('the last entries cut, with their tree and checkpoints, against an old checkpoint someone kept', async () => {
    const { env, checkpoint, seq } = await sealedLog(20);
    const size = verifyCheckpoint(checkpoint, {
      name: env.config.audit.origin,
      publicKey: b64(auditPublicKey(env.config).publicKey),
    }).size;
    await asTamperer(env, async (c) => {
      await c.query('DELETE FROM audit_entries WHERE leaf_index >= $1', [size - 3]);
      await c.query('DELETE FROM audit_tree_nodes WHERE (idx + 1) * (1::bigint << level) > $1', [size - 3]);
      await c.query('DELETE FROM audit_checkpoints');
    });
    // The database alone looks consistent again once re-sealed...
    await seq.checkpoint();
    expect((await verify(env)).ok).toBe(true);
    // ...but not against the checkpoint a witness kept.
    const report = await verify(env, checkpoint);
    expect(report.problems[0]).toMatch(
      /holds \d+ entries but the checkpoint you kept .* covers \d+: the end of the history was cut/,
    );
    await env.close();
  });

  it('the whole tree recomputed by a database writer: the signed checkpoint no longer matches', async () => {
    const { env } = await sealedLog(20);
    await asTamperer(env, async (c) => {
      await c.query(`UPDATE audit_entries SET changes = '{"i": 999}' WHERE leaf_index = 12`);
      await c.query('DELETE FROM audit_tree_nodes');
      await c.query('UPDATE audit_entries SET leaf_index = NULL');
    });
    // Re-sequence as the writer would (it has no signing key, so it keeps the old checkpoints).
    await sequencer(env).drain();
    const report = await verify(env);
    expect(report.problems[0]).toMatch(/no longer hash to the root of the signed checkpoint .*rewritten/);
    await env.close();
  });

  it('a checkpoint signed with another key', async () => {
    const { env } = await sealedLog(20);
    const { privateKey } = generateKeyPairSync('ed25519');
    const forged = signNote(
      formatCheckpoint({ origin: env.config.audit.origin, size: 999, rootHash: Buffer.alloc(32, 7) }),
      { name: env.config.audit.origin, privateKey },
    );
    await env.sql(
      'INSERT INTO audit_checkpoints (tree_size, root_hash, note, created_at) VALUES (999, $1, $2, now())',
      [Buffer.alloc(32, 7), forged],
    );
    const report = await verify(env);
    expect(report.problems[0]).toMatch(/size 999 does not verify with the audit key/);
    await env.close();
  });
});

describe('request ids', () => {
  it('a client-chosen x-request-id is not stored in the audit log', async () => {
    const env = await setupTestEnv();
    const teamId = await createTeam(env);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
    const { caseId } = await createCase(cw, teamId);
    const forged = 'forged-correlation-id-0001';
    const res = await cw.get(`/v1/cases/${caseId}`, { 'x-request-id': forged });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-request-id']).not.toBe(forged);
    const rows = await env.sql<{ n: number }>('SELECT count(*)::int AS n FROM audit_entries WHERE request_id = $1', [
      forged,
    ]);
    expect(rows[0].n).toBe(0);
    await env.close();
  });
});

describe('witnesses and the verifier command', () => {
  it('every checkpoint reaches the file and the signed webhook; audit:verify --checkpoint accepts the file and refuses a cut log', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'witness-'));
    const file = path.join(dir, 'nested', 'checkpoints.txt');
    const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
    const sink = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const secret = randomBytes(32).toString('base64');
    const env = await setupTestEnv({
      env: {
        AUDIT_CHECKPOINT_FILE: file,
        AUDIT_WITNESS_URL: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/cp`,
        AUDIT_WITNESS_SECRET: secret,
      },
    });
    try {
      const seq = sequencer(env);
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 3; i++) {
          await appendAudit(env.db, { actorId: null, action: `test.w${round}`, entityType: 'system' });
        }
        await seq.drain();
        expect(await seq.checkpoint()).not.toBeNull();
      }
      const text = readFileSync(file, 'utf8');
      expect(text.match(/^— /gm)).toHaveLength(2);
      expect(received).toHaveLength(2);
      const last = received[1];
      const expected = createHmac('sha256', secret)
        .update(`${String(last.headers['x-signature-timestamp'])}.${last.body}`)
        .digest('hex');
      expect(last.headers['x-signature-256']).toBe(`sha256=${expected}`);
      expect(JSON.parse(last.body).checkpoint).toBe(
        text
          .split(/\n\n(?=[^\n—])/)
          .pop()!
          .trim() + '\n',
      );

      const cli = (args: string[]) =>
        spawnSync(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', 'cli.ts'), ...args], {
          encoding: 'utf8',
          env: { ...process.env, ...testEnvFor(env) },
        });
      const ok = cli(['audit-verify', '--checkpoint', file]);
      expect(ok.status, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/no problem found/);
      await asTamperer(env, async (c) => {
        await c.query('DELETE FROM audit_entries WHERE leaf_index >= (SELECT max(leaf_index) - 1 FROM audit_entries)');
      });
      const bad = cli(['audit-verify', '--checkpoint', file]);
      expect(bad.status).toBe(1);
      expect(bad.stdout).toMatch(/PROBLEM: .*(missing|cut)/);
    } finally {
      await env.close();
      sink.close();
    }
  });
});

/** The environment a script needs to reach the same database with the same keys. */
function testEnvFor(env: TestEnv): Record<string, string> {
  const c = env.config;
  return {
    DATABASE_URL: env.url,
    JWT_SECRET: c.auth.jwtSecret,
    ENCRYPTION_KEYS: [...c.crypto.keys].map(([id, k]) => `${id}:${k.toString('base64')}`).join(','),
    BLIND_INDEX_KEY: c.crypto.blindIndexKey.toString('base64'),
    AUDIT_SIGNING_KEY: c.audit.signingSeed.toString('base64'),
    STATS_NOISE_KEY: c.stats.noiseKey.toString('base64'),
    AUDIT_ORIGIN: c.audit.origin,
    LOG_LEVEL: 'warn',
  };
}
