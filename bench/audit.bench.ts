// Audit log benchmark on a dedicated database on 127.0.0.1 (created, then dropped).
//
//   npx tsx bench/audit.bench.ts [--secs 5] [--writers 16] [--rate 1000] [--leaves 1000000] [--proofs 2000]
//
// Prints, each next to a baseline measured in the same run:
//  1. appends/s with N concurrent writers (appendAudit, one transaction each)
//     on ONE case and on DISTINCT cases; their ratio shows whether writers on
//     one case still wait for each other (it was a per-case lock before).
//  2. sequencing lag (commit → leaf index) at a fixed rate of appends/s, with
//     the sequencer running as in the worker role: p50 / p99 (target p99 < 2 s
//     at 1,000 appends/s).
//  3. inclusion-proof latency in a tree of --leaves leaves (target p99 < 5 ms),
//     next to a primary-key lookup of one entry (the floor of any read).
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db.ts';
import { migrate } from '../src/lib/migrator.ts';
import { MIGRATIONS_DIR } from '../src/lib/paths.ts';
import { randomSecretsEnv } from '../src/lib/random-secrets.ts';
import { verifyInclusion } from '../src/lib/merkle-proof.ts';
import { appendAudit } from '../src/modules/audit/audit.log.ts';
import { AuditSequencer } from '../src/modules/audit/audit.sequencer.ts';
import { inclusionProof, rootAt, treeSize } from '../src/modules/audit/audit.tree.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
};
const SECS = Number(arg('secs', '5'));
const WRITERS = Number(arg('writers', '16'));
const RATE = Number(arg('rate', '1000'));
const LEAVES = Number(arg('leaves', '1000000'));
const PROOFS = Number(arg('proofs', '2000'));
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];
const fmt = (n: number, d = 1) => n.toFixed(d);

const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const name = `bench_audit_${randomBytes(4).toString('hex')}`;
const url = (() => {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
})();

const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const deadline = setTimeout(() => {
  console.error('benchmark took too long; stopping');
  process.exit(1);
}, 20 * 60_000);
try {
  await migrate(url, MIGRATIONS_DIR);
  const config = loadConfig({ DATABASE_URL: url, ...randomSecretsEnv('b1'), LOG_LEVEL: 'warn' });
  const db = createDb(url, WRITERS + 4);
  const log = pino({ level: 'warn' });
  const pool = new pg.Pool({ connectionString: url, max: WRITERS + 2 });
  console.log(`audit benchmark: ${WRITERS} writers, ${SECS} s per run, database ${name}`);

  // 1. Appends per second, one case vs distinct cases.
  const caseIds = Array.from({ length: WRITERS }, () => randomUUID());
  async function appendsPerSecond(oneCase: boolean): Promise<number> {
    let n = 0;
    const until = Date.now() + SECS * 1000;
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        while (Date.now() < until) {
          const caseId = oneCase ? caseIds[0] : caseIds[w];
          await db.$transaction((tx) =>
            appendAudit(tx, {
              actorId: null,
              action: 'bench.write',
              entityType: 'case',
              entityId: caseId,
              caseId,
              changes: { w },
            }),
          );
          n++;
        }
      }),
    );
    return n / SECS;
  }
  await appendsPerSecond(false); // warm-up
  // Alternated, so neither mode gets the warmer cache or the smaller table.
  const ones: number[] = [];
  const distincts: number[] = [];
  for (let round = 0; round < 3; round++) {
    distincts.push(await appendsPerSecond(false));
    ones.push(await appendsPerSecond(true));
  }
  const one = pct(ones, 50);
  const distinct = pct(distincts, 50);
  console.log(
    `appends/s, ${WRITERS} writers (median of 3 alternated runs): one case ${fmt(one, 0)}, distinct cases ${fmt(distinct, 0)}; ` +
      `ratio one/distinct ${fmt(one / distinct, 2)} (1.0 = writers on one case never wait for each other)`,
  );

  // 2. Sequencing lag at a fixed rate, with the sequencer running as in the worker.
  const sequencer = new AuditSequencer({ db, config, log });
  await sequencer.drain();
  const committedAt = new Map<bigint, number>();
  const lags: number[] = [];
  const instrumented = new AuditSequencer({ db, config, log });
  const originalPass = instrumented.sequenceOnce.bind(instrumented);
  instrumented.sequenceOnce = async (limit?: number) => {
    const ids = await originalPass(limit);
    const now = Date.now();
    for (const id of ids) {
      const t = committedAt.get(id);
      if (t !== undefined) lags.push(now - t);
    }
    return ids;
  };
  const running = instrumented.start(100);
  const total = RATE * SECS * 2;
  const started = Date.now();
  let sent = 0;
  const inflight: Promise<void>[] = [];
  while (sent < total) {
    const due = started + (sent / RATE) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const i = sent++;
    inflight.push(
      pool
        .query<{ id: string }>(
          `INSERT INTO audit_entries (chain, at, action, entity_type, changes) VALUES ('global', now(), 'bench.paced', 'system', $1) RETURNING id`,
          [JSON.stringify({ i })],
        )
        .then((r) => void committedAt.set(BigInt(r.rows[0].id), Date.now())),
    );
    if (inflight.length > 500) await Promise.all(inflight.splice(0, inflight.length));
  }
  await Promise.all(inflight);
  const achieved = total / ((Date.now() - started) / 1000);
  while (lags.length < committedAt.size) await new Promise((r) => setTimeout(r, 50));
  await running.close();
  console.log(
    `sequencing lag at ${fmt(achieved, 0)} appends/s (${total} entries): p50 ${pct(lags, 50)} ms, p99 ${pct(lags, 99)} ms, max ${Math.max(...lags)} ms (target p99 < 2000 ms)`,
  );

  // 3. Proof latency in a large tree.
  const have = await treeSize(db);
  if (have < LEAVES) {
    const t0 = Date.now();
    await pool.query(
      `INSERT INTO audit_entries (chain, at, action, entity_type, changes)
       SELECT 'global', now(), 'bench.bulk', 'system', jsonb_build_object('i', g) FROM generate_series(1, $1) g`,
      [LEAVES - have],
    );
    const n = await sequencer.drain();
    console.log(
      `sequenced ${n} bulk entries in ${fmt((Date.now() - t0) / 1000)} s (${fmt(n / ((Date.now() - t0) / 1000), 0)} leaves/s)`,
    );
  }
  const size = await treeSize(db);
  const root = await rootAt(db, size);
  const proofMs: number[] = [];
  const lookupMs: number[] = [];
  const [{ min, max }] = (
    await pool.query<{ min: string; max: string }>(
      'SELECT min(id)::text AS min, max(id)::text AS max FROM audit_entries',
    )
  ).rows;
  for (let i = 0; i < PROOFS; i++) {
    const index = Math.floor(Math.random() * size);
    const a = performance.now();
    const proof = await inclusionProof(db, index, size);
    proofMs.push(performance.now() - a);
    if (i < 20) {
      const leaf = (
        await pool.query<{ hash: Buffer }>('SELECT hash FROM audit_tree_nodes WHERE level = 0 AND idx = $1', [index])
      ).rows[0].hash;
      if (!verifyInclusion(index, size, leaf, proof, root)) throw new Error(`proof of leaf ${index} does not verify`);
    }
    const id = BigInt(min) + BigInt(Math.floor(Math.random() * Number(BigInt(max) - BigInt(min))));
    const b = performance.now();
    await db.auditEntry.findUnique({ where: { id }, select: { id: true } });
    lookupMs.push(performance.now() - b);
  }
  console.log(
    `inclusion proof in a tree of ${size} leaves: p50 ${fmt(pct(proofMs, 50), 2)} ms, p99 ${fmt(pct(proofMs, 99), 2)} ms (target p99 < 5 ms); ` +
      `one-row lookup p50 ${fmt(pct(lookupMs, 50), 2)} ms, p99 ${fmt(pct(lookupMs, 99), 2)} ms; ratio p99 ${fmt(pct(proofMs, 99) / pct(lookupMs, 99), 2)}`,
  );
  await pool.end();
  await db.$disconnect();
} finally {
  clearTimeout(deadline);
  // Without FORCE first: a forced drop would terminate pooled connections that are still closing.
  await new Promise((r) => setTimeout(r, 500));
  await admin
    .query(`DROP DATABASE IF EXISTS ${name}`)
    .catch(() => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {}));
  await admin.end();
}
