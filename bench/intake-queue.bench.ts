// What the likely duplicates in the vetting queue cost, on a dedicated
// database on 127.0.0.1 (created, migrated and seeded here; dropped at the end).
//
//   npx tsx bench/intake-queue.bench.ts [--people 200] [--reports 50] [--runs 30]
//
// Seeds --people people named "Ivanov Petr <word>" (half visible to the
// caseworker, half registered by someone else: hidden) and 2 × --reports
// reports "Иванов Пётр <word>" about KZ, so every report matches every person
// (a two-of-three-token match: the worst case). Half stay NEW (their queue
// items carry duplicates), half are marked ACCEPTED with their content kept
// (the same decryption and audit, no duplicates). Prints the latency of one
// page of each (IntakeService.list, limit = --reports) and the ratio.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { normaliseName } from '../src/lib/field-crypto.ts';
import { MIGRATIONS_DIR } from '../src/lib/paths.ts';
import { migrate } from '../src/lib/migrator.ts';
import { randomSecretsEnv } from '../src/lib/random-secrets.ts';
import { altchaHmacKey, createAltchaChallenge, solveAltcha } from '../src/modules/intake/altcha.ts';
import { IntakeService } from '../src/modules/intake/intake.service.ts';
import { nameTokenIndexes } from '../src/modules/people/duplicates.service.ts';
import type { Actor } from '../src/plugins/auth.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? Number(process.argv[i + 1]) : def;
};
const PEOPLE = arg('people', 200);
const REPORTS = arg('reports', 50);
const RUNS = arg('runs', 30);
const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const LAT = 'bdklmnprstvz';
const CYR = 'бдклмнпрствз';
const VOW = 'aoiu';
const CVOW = 'аоиу';
/** A random word in Latin and the same word in Cyrillic (transliterated back to the same skeleton). */
function word(): [string, string] {
  let l = '';
  let c = '';
  for (let i = 0; i < 3; i++) {
    const a = Math.floor(Math.random() * LAT.length);
    const b = Math.floor(Math.random() * VOW.length);
    l += LAT[a] + VOW[b];
    c += CYR[a] + CVOW[b];
  }
  return [l[0].toUpperCase() + l.slice(1), c[0].toUpperCase() + c.slice(1)];
}
const pct = (xs: number[], p: number) =>
  [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

async function main() {
  const db = `bench_intake_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${db}`);
  try {
    await migrate(url, MIGRATIONS_DIR);
    const config = loadConfig({
      DATABASE_URL: url,
      ...randomSecretsEnv('i1'),
      LOG_LEVEL: 'warn',
      MFA_REQUIRED_ROLES: '',
      INTAKE_IP_MAX: '1000000',
      INTAKE_GLOBAL_MAX: '1000000',
    });
    const app = await buildApp(config);
    await app.ready();
    const teamId = randomUUID();
    await app.db.team.create({ data: { id: teamId, name: 'Bench KZ', countries: ['KZ'] } });
    const [cw, other] = [randomUUID(), randomUUID()];
    for (const [id, email] of [
      [cw, 'cw@example.org'],
      [other, 'other@example.org'],
    ]) {
      await app.db.user.create({ data: { id, email, displayName: email, role: 'CASEWORKER', passwordHash: 'x' } });
    }
    await app.db.teamMember.create({ data: { teamId, userId: cw } });
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    for (let i = 0; i < PEOPLE; i++) {
      const id = randomUUID();
      const name = `Ivanov Petr ${word()[0]}`;
      // A caseworker sees the people they registered that have no case yet; the others are hidden from them.
      await pool.query(
        `INSERT INTO people (id, pseudonym, legal_name_enc, legal_name_bidx, legal_name_tokens, citizenship,
           travel_document_status, tags, created_by_id, updated_at)
         VALUES ($1, 'P', $2, $3, $4::text[], '{RU}', 'UNKNOWN', '{}', $5, now())`,
        [
          id,
          app.crypto.encrypt(name, { table: 'people', column: 'legal_name_enc', rowId: id }),
          app.crypto.blindIndex('person.legal_name', normaliseName(name)),
          nameTokenIndexes(app.crypto, name),
          i % 2 ? other : cw,
        ],
      );
    }
    const intake = new IntakeService(app);
    const key = altchaHmacKey(config.crypto.blindIndexKey);
    const receipts: string[] = [];
    for (let i = 0; i < 2 * REPORTS; i++) {
      const c = createAltchaChallenge(key, new Date());
      const altcha = Buffer.from(JSON.stringify({ ...c, number: solveAltcha(c) })).toString('base64');
      const r = await intake.submit(
        {
          altcha,
          language: 'ru',
          subject: { name: `Иванов Пётр ${word()[1]}` },
          event: { type: 'DETENTION', country: 'KZ', description: 'bench' },
          reporter: { contact: 'bench' },
          consent: true,
        },
        `192.0.2.${i % 250}`,
        'bench',
      );
      receipts.push(r.receipt);
    }
    await pool.query(`UPDATE intake_submissions SET status = 'ACCEPTED' WHERE receipt = ANY($1::text[])`, [
      receipts.slice(REPORTS),
    ]);
    await pool.query('ANALYZE');
    const actor: Actor = { userId: cw, role: 'CASEWORKER', teamIds: [teamId], sessionId: randomUUID(), authTime: 0 };
    const time = async (status: 'NEW' | 'ACCEPTED') => {
      const t: number[] = [];
      let sample = 0;
      for (let i = 0; i < RUNS; i++) {
        const s = performance.now();
        const page = await intake.list(actor, { status, limit: REPORTS }, 'bench');
        t.push(performance.now() - s);
        sample = page.items[0]?.duplicates?.items.length ?? 0;
      }
      return { t, sample };
    };
    await time('NEW'); // warm-up
    const withDup = await time('NEW');
    const without = await time('ACCEPTED');
    const f = (x: number) => x.toFixed(1);
    console.log(
      `queue page of ${REPORTS} reports, each matching ${PEOPLE} people (${PEOPLE / 2} visible): ` +
        `with duplicates p50 ${f(pct(withDup.t, 50))} ms, p99 ${f(pct(withDup.t, 99))} ms (first item shows ${withDup.sample}); ` +
        `without p50 ${f(pct(without.t, 50))} ms, p99 ${f(pct(without.t, 99))} ms; ` +
        `${f((pct(withDup.t, 50) - pct(without.t, 50)) / REPORTS)} ms per item`,
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
