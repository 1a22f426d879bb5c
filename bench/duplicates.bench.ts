// Cross-script duplicate detection, on a dedicated database on 127.0.0.1
// (created, migrated and seeded here; dropped at the end).
//
//   npx tsx bench/duplicates.bench.ts [--people 100000] [--lookups 1000] [--random-pairs 10000]
//
// Prints:
//  1. Recall on the name pairs of test/duplicates-pairs.ts: the first spelling
//     is registered among the N people, the second is looked up through
//     DuplicatesService (the route's code, audit insert included); target ≥ 0.95.
//     And how many other people each of those lookups returned.
//  2. False positives among random pairs of distinct invented names (same
//     matching rule as the SQL, in memory); target 0.
//  3. Lookup latency p50/p99 over random registered names (target p99 < 20 ms),
//     against the exact-name check that preceded it (blind-index lookup and its
//     audit insert), measured in the same run on the same table, as a ratio.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { normaliseName } from '../src/lib/field-crypto.ts';
import { MIGRATIONS_DIR } from '../src/lib/paths.ts';
import { migrate } from '../src/lib/migrator.ts';
import { randomSecretsEnv } from '../src/lib/random-secrets.ts';
import { nameSkeletonTokens } from '../src/lib/transliterate.ts';
import { appendAuditSql } from '../src/modules/audit/audit.log.ts';
import { DuplicatesService, nameTokenIndexes } from '../src/modules/people/duplicates.service.ts';
import type { Actor } from '../src/plugins/auth.ts';
import { SAME } from '../test/duplicates-pairs.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? Number(process.argv[i + 1]) : def;
};
const PEOPLE = arg('people', 100_000);
const LOOKUPS = arg('lookups', 1000);
const RANDOM_PAIRS = arg('random-pairs', 10_000);
const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

// Invented names from syllables: first names, patronymic-like and surname stems.
const SYL = [
  'ka',
  'ri',
  'mo',
  'le',
  'ta',
  'vo',
  'sa',
  'ni',
  'ro',
  'du',
  'pe',
  'zu',
  'ga',
  'bi',
  'lo',
  'me',
  'tu',
  'ha',
  'si',
  'na',
];
const END = ['ov', 'ova', 'enko', 'yan', 'idze', 'ev', 'eva', 'in', 'ina', 'ich', 'uly', 'kyzy', 'oglu', 'ski'];
// mulberry32: a small seeded PRNG, so runs are comparable.
let seed = 42;
const rnd = (n: number) => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) % n;
};
const word = (k: number) => Array.from({ length: k }, () => SYL[rnd(SYL.length)]).join('');
const cap = (s: string) => s[0].toUpperCase() + s.slice(1);
const inventName = () => `${cap(word(2 + rnd(2)))} ${cap(word(2 + rnd(2)) + END[rnd(END.length)])} ${cap(word(3))}`;

/** The SQL's rule (duplicates.service.ts) over skeleton tokens. */
function matches(a: string, b: string): boolean {
  const ta = new Set(nameSkeletonTokens(a));
  const tb = nameSkeletonTokens(b);
  const shared = tb.filter((t) => ta.has(t)).length;
  return shared >= Math.min(2, tb.length) && shared / Math.max(ta.size, tb.length) >= 0.6;
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

async function main() {
  const db = `bench_dup_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${db}`);
  try {
    await migrate(url, MIGRATIONS_DIR);
    const config = loadConfig({
      DATABASE_URL: url,
      ...randomSecretsEnv('d1'),
      LOG_LEVEL: 'warn',
      MFA_REQUIRED_ROLES: '',
    });
    const app = await buildApp(config);
    await app.ready();
    const userId = randomUUID();
    await app.db.user.create({
      data: { id: userId, email: 'bench@example.org', displayName: 'bench', role: 'ADMIN', passwordHash: 'x' },
    });
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const insert = async (rows: { id: string; name: string }[]) => {
      const values: unknown[] = [];
      const tuples = rows.map((r, i) => {
        const enc = app.crypto.encrypt(r.name, { table: 'people', column: 'legal_name_enc', rowId: r.id });
        values.push(
          r.id,
          enc,
          app.crypto.blindIndex('person.legal_name', normaliseName(r.name)),
          nameTokenIndexes(app.crypto, r.name),
          userId,
        );
        const b = i * 5;
        return `($${b + 1}::uuid, 'P', $${b + 2}, $${b + 3}, $${b + 4}::text[], '{RU}', 'UNKNOWN', '{}', $${b + 5}::uuid, now())`;
      });
      await pool.query(
        `INSERT INTO people (id, pseudonym, legal_name_enc, legal_name_bidx, legal_name_tokens, citizenship,
           travel_document_status, tags, created_by_id, updated_at) VALUES ${tuples.join(',')}`,
        values,
      );
    };
    const t0 = Date.now();
    const names: string[] = [];
    for (let i = 0; i < PEOPLE; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, PEOPLE - i) }, () => ({
        id: randomUUID(),
        name: inventName(),
      }));
      names.push(...batch.map((b) => b.name));
      await insert(batch);
    }
    const pairIds = SAME.map(() => randomUUID());
    await insert(SAME.map(([a], i) => ({ id: pairIds[i], name: a })));
    await pool.query('ANALYZE people');
    console.log(`seeded ${PEOPLE + SAME.length} people in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const actor: Actor = { userId, role: 'ADMIN', teamIds: [], sessionId: randomUUID(), authTime: 0 };
    const dup = new DuplicatesService(app);
    // 1. Recall on the pairs.
    let found = 0;
    let others = 0;
    for (const [i, [, b]] of SAME.entries()) {
      const res = await dup.find(actor, b, undefined, 'bench');
      if (res.items.some((x) => x.id === pairIds[i])) found++;
      others += res.items.filter((x) => x.id !== pairIds[i]).length;
    }
    console.log(
      `recall on ${SAME.length} cross-script pairs: ${(found / SAME.length).toFixed(3)} (target >= 0.95); ` +
        `other people returned: ${others} in ${SAME.length} lookups`,
    );
    // 2. False positives among random pairs of distinct names.
    let fp = 0;
    let compared = 0;
    while (compared < RANDOM_PAIRS) {
      const a = inventName();
      const b = inventName();
      if (normaliseName(a) === normaliseName(b)) continue;
      compared++;
      if (matches(a, b)) fp++;
    }
    console.log(`false positives among ${RANDOM_PAIRS} random pairs of distinct names: ${fp} (target 0)`);
    // 3. Latency against the exact-name lookup that preceded it.
    const sample = Array.from({ length: LOOKUPS }, () => names[rnd(names.length)]);
    const exact: number[] = [];
    const cross: number[] = [];
    for (const n of sample) {
      let s = performance.now();
      await pool.query('SELECT id, pseudonym FROM people WHERE legal_name_bidx = $1 LIMIT 50', [
        app.crypto.blindIndex('person.legal_name', normaliseName(n)),
      ]);
      // The check it replaced also appended an audit entry (a committed write: most of either's time).
      await appendAuditSql(app.sqlPool, { actorId: userId, action: 'person.duplicate_check', entityType: 'person' });
      exact.push(performance.now() - s);
      s = performance.now();
      await dup.find(actor, n, undefined, 'bench');
      cross.push(performance.now() - s);
    }
    const f = (x: number) => x.toFixed(2);
    console.log(
      `lookup over ${PEOPLE} people, ${LOOKUPS} names: cross-script p50 ${f(pct(cross, 50))} ms, p99 ${f(pct(cross, 99))} ms ` +
        `(target p99 < 20 ms); the exact-name check it replaced (index + audit insert) p50 ${f(pct(exact, 50))} ms, p99 ${f(pct(exact, 99))} ms; ` +
        `ratio p50 ${f(pct(cross, 50) / pct(exact, 50))}x`,
    );
    await pool.end();
    await app.close();
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
