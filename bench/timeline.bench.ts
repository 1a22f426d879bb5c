// Timeline page cost on a case that has grown: --events events (default 3000)
// and --deadlines manual deadlines, on a dedicated database on 127.0.0.1
// (created, then dropped), through the service in this process (inject).
//
//   npx tsx bench/timeline.bench.ts [--events 3000] [--deadlines 300] [--pages 30]
//
// Prints the mean time of a timeline page of 25 (the first one, and one deep
// in the case) next to a page of 25 of the same case's event list (one keyset
// query on one table: the baseline), and their ratio.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { migrate } from '../src/lib/migrator.ts';
import { hashPassword } from '../src/lib/passwords.ts';
import { MIGRATIONS_DIR } from '../src/lib/paths.ts';
import { randomSecretsEnv } from '../src/lib/random-secrets.ts';

const arg = (n: string, d: string) => {
  const i = process.argv.indexOf(`--${n}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : d;
};
const EVENTS = Number(arg('events', '3000'));
const DEADLINES = Number(arg('deadlines', '300'));
const PAGES = Number(arg('pages', '30'));
const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const name = `bench_timeline_${randomBytes(4).toString('hex')}`;
const url = Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString();

const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
try {
  await migrate(url, MIGRATIONS_DIR);
  const config = loadConfig({ DATABASE_URL: url, ...randomSecretsEnv('b1'), LOG_LEVEL: 'warn' });
  const app = await buildApp(config);
  const teamId = crypto.randomUUID();
  const userId = crypto.randomUUID();
  await app.db.team.create({ data: { id: teamId, name: 'Bench team', countries: ['AM'] } });
  const password = 'bench password long enough';
  await app.db.user.create({
    data: {
      id: userId,
      email: 'bench@example.org',
      displayName: 'Bench',
      role: 'CASEWORKER',
      passwordHash: await hashPassword(password, config.auth.argon2),
    },
  });
  await app.db.teamMember.create({ data: { teamId, userId } });
  const token = (
    await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'bench@example.org', password } })
  ).json().accessToken as string;
  const headers = { authorization: `Bearer ${token}` };
  const post = async (u: string, payload: object) => {
    const r = await app.inject({ method: 'POST', url: u, headers, payload });
    if (r.statusCode !== 201) throw new Error(`${u}: ${r.statusCode} ${r.body}`);
    return r.json() as { id: string };
  };
  const person = await post('/v1/people', {
    pseudonym: 'T',
    legalName: 'Timeline Person',
    citizenship: 'RU',
    travelDocumentStatus: 'NONE',
  });
  const { id: caseId } = await post('/v1/cases', { personId: person.id, teamId, hostCountry: 'AM' });
  const first = await post(`/v1/cases/${caseId}/events`, {
    type: 'TRAVEL_BAN',
    country: 'AM',
    occurredAt: '2024-01-01',
    details: 'bench details',
  });
  // The rest copied in SQL from the first, an hour apart, without details (they are encrypted bound to their row).
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  await pool.query(
    `INSERT INTO events (id, case_id, type, country, city, occurred_at, occurred_at_precision, verification,
       source_urls, created_at, updated_at, version)
     SELECT gen_random_uuid(), case_id, type, country, city, occurred_at + (g || ' hours')::interval,
       occurred_at_precision, verification, source_urls, created_at, updated_at, 1
     FROM events, generate_series(1, $2::int) g WHERE id = $1`,
    [first.id, EVENTS - 1],
  );
  for (let i = 0; i < DEADLINES; i++) {
    await post(`/v1/cases/${caseId}/deadlines`, {
      kind: 'HEARING',
      title: `hearing ${i}`,
      dueAt: new Date(Date.UTC(2031, 0, 1) + i * 86_400_000).toISOString(),
    });
  }
  await pool.end();

  const get = async (u: string) => {
    const r = await app.inject({ method: 'GET', url: u, headers });
    if (r.statusCode !== 200) throw new Error(`${u}: ${r.statusCode} ${r.body}`);
    return r.json() as { nextCursor: string | null };
  };
  /** The cursor after `n` items of a list (pages of 200). */
  const cursorAfter = async (list: string, n: number) => {
    let cursor: string | null = null;
    for (let seen = 0; seen < n; seen += 200) {
      cursor = (await get(`${list}?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).nextCursor;
    }
    return cursor;
  };
  const mean = async (u: string) => {
    for (let i = 0; i < 5; i++) await get(u);
    const t = performance.now();
    for (let i = 0; i < PAGES; i++) await get(u);
    return (performance.now() - t) / PAGES;
  };
  console.log(`timeline benchmark: one case, ${EVENTS} events, ${DEADLINES} deadlines, database ${name}`);
  for (const [label, depth] of [
    ['first page', 0],
    ['deep page', Math.floor(EVENTS / 2 / 200) * 200],
  ] as const) {
    const page = async (list: string) => {
      const c = depth ? await cursorAfter(list, depth) : null;
      return mean(`${list}?limit=25${c ? `&cursor=${encodeURIComponent(c)}` : ''}`);
    };
    const timeline = await page(`/v1/cases/${caseId}/timeline`);
    const events = await page(`/v1/cases/${caseId}/events`);
    console.log(
      `${label} (after ${depth}): timeline ${timeline.toFixed(1)} ms, event list ${events.toFixed(1)} ms ` +
        `(ratio ${(timeline / events).toFixed(2)})`,
    );
  }
  await app.close();
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
