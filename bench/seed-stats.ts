// Seed-data generator for the statistics benchmark: a dedicated database on
// 127.0.0.1, migrated, then filled through COPY (psql's COPY FROM STDIN, fed
// from a generator with backpressure) with 100,000 cases and 1,000,000 events
// by default, skewed the way the caseload is: a few host countries carry most
// cases, a few event types most events, and a minority of cases most events
// (long detentions with many extensions and hearings).
//
//   npx tsx bench/seed-stats.ts [--cases 100000] [--events 1000000] [--db exile_bench_stats]
//
// Everything personal is synthetic: legal names are random ciphertext-looking
// strings (never decryptable), pseudonyms and cities are made up.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import pg from 'pg';
import { migrate } from '../src/lib/migrator.ts';
import { MIGRATIONS_DIR } from '../src/lib/paths.ts';

export type SeedOptions = { cases: number; events: number; db: string; adminUrl: string };

export function parseArgs(argv: string[]): SeedOptions {
  const get = (name: string, def: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] ? argv[i + 1] : def;
  };
  const opts = {
    cases: Number(get('cases', '100000')),
    events: Number(get('events', '1000000')),
    db: get('db', 'exile_bench_stats'),
    adminUrl: process.env.BENCH_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  };
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(opts.db)) throw new Error('--db must be a plain lower-case identifier');
  if (!Number.isInteger(opts.cases) || opts.cases < 10 || !Number.isInteger(opts.events) || opts.events < opts.cases) {
    throw new Error('--cases >= 10 and --events >= --cases');
  }
  assertLocal(opts.adminUrl);
  return opts;
}

/** The benchmark drops and recreates its database: only ever on this machine. */
export function assertLocal(url: string) {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1') throw new Error(`the benchmark only runs against PostgreSQL on 127.0.0.1 (got ${host})`);
}

export function dbUrl(adminUrl: string, db: string) {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

// Deterministic PRNG (mulberry32): the same seed gives the same data set, so
// runs on different days compare.
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = prng(20260402);

function weighted<T extends string>(table: [T, number][]): () => T {
  const total = table.reduce((s, [, w]) => s + w, 0);
  const cum: [T, number][] = [];
  let acc = 0;
  for (const [v, w] of table) cum.push([v, (acc += w / total)]);
  return () => {
    const r = rnd();
    for (const [v, c] of cum) if (r < c) return v;
    return cum[cum.length - 1][0];
  };
}

// Hex UUIDv4 from the PRNG: deterministic and fast (crypto ids are not needed for synthetic rows).
function uuid(): string {
  const h = (n: number) =>
    Math.floor(rnd() * 2 ** 32)
      .toString(16)
      .padStart(8, '0')
      .slice(0, n);
  const a = h(8);
  const b = h(4);
  const c = '4' + h(3);
  const d = (8 + Math.floor(rnd() * 4)).toString(16) + h(3);
  const e = h(8) + h(4);
  return `${a}-${b}-${c}-${d}-${e}`;
}

const COUNTRY = weighted<string>([
  ['KZ', 22],
  ['GE', 18],
  ['AM', 15],
  ['TR', 12],
  ['RS', 10],
  ['KG', 8],
  ['UZ', 5],
  ['AZ', 4],
  ['ME', 4],
  ['TJ', 2],
]);
const TEAMS: { name: string; countries: string[] }[] = [
  { name: 'Bench Central Asia', countries: ['KZ', 'KG', 'UZ', 'TJ'] },
  { name: 'Bench South Caucasus', countries: ['AM', 'GE', 'AZ'] },
  { name: 'Bench Balkans and Turkey', countries: ['RS', 'ME', 'TR'] },
];
const CITIZENSHIP = weighted<string>([
  ['{RU}', 80],
  ['{BY}', 14],
  ['{RU,BY}', 2],
  ['{RU,IL}', 1],
  ['{UA}', 3],
]);
const STATUS = weighted<string>([
  ['OPEN', 60],
  ['MONITORING', 20],
  ['RELOCATED', 12],
  ['CLOSED', 8],
]);
const CATEGORY = weighted<string>([
  ['DISCREDITING_ARMY', 20],
  ['FAKES', 16],
  ['ANTI_WAR_SPEECH', 12],
  ['EXTREMISM', 14],
  ['TERRORISM', 6],
  ['MOBILISATION_EVASION', 10],
  ['DESERTION', 5],
  ['VANDALISM', 5],
  ['ECONOMIC', 6],
  ['TREASON', 2],
  ['OTHER', 4],
]);
const MECHANISM = weighted<string>([
  ['CIS_INTERSTATE_SEARCH', 40],
  ['DOMESTIC', 30],
  ['INTERPOL_RED_NOTICE', 8],
  ['INTERPOL_DIFFUSION', 6],
  ['BILATERAL_REQUEST', 10],
  ['NONE', 6],
]);
const EVENT_TYPE = weighted<string>([
  ['COURT_HEARING', 14],
  ['DETENTION', 11],
  ['DETENTION_EXTENSION', 10],
  ['RELEASE', 7],
  ['EXTRADITION_REQUEST', 6],
  ['EXTRADITION_HEARING', 6],
  ['EXTRADITION_DECISION', 4],
  ['TRAVEL_BAN', 4],
  ['TRAVEL_BAN_LIFTED', 2],
  ['DEPORTATION_ORDER', 3],
  ['DEPORTATION_EXECUTED', 1],
  ['RESIDENCE_PERMIT_CANCELLED', 2],
  ['RESIDENCE_PERMIT_REFUSED', 2],
  ['ENTRY_REFUSAL', 4],
  ['ABDUCTION', 0.3],
  ['FORCED_RETURN', 0.4],
  ['ATTACK', 0.6],
  ['THREAT', 3],
  ['SURVEILLANCE', 3],
  ['ASYLUM_APPLICATION', 3],
  ['ASYLUM_DECISION', 2],
  ['HUMANITARIAN_VISA', 2],
  ['INTERPOL_CCF_REQUEST', 1],
  ['ECHR_RULE39_REQUEST', 1],
  ['APPEAL_FILED', 3],
  ['APPEAL_DECISION', 2],
  ['LEFT_TO_SAFE_COUNTRY', 2],
  ['OTHER', 1.7],
]);
const OUTCOME = weighted<string>([
  ['', 70],
  ['refused', 8],
  ['granted', 6],
  ['pending', 6],
  ['appeal dismissed', 4],
  ['released on bail', 6],
]);
const CITIES: Record<string, string[]> = {
  KZ: ['Almaty', 'Astana'],
  GE: ['Tbilisi', 'Batumi'],
  AM: ['Yerevan', 'Gyumri'],
  TR: ['Istanbul', 'Antalya'],
  RS: ['Belgrade', 'Novi Sad'],
  KG: ['Bishkek', 'Osh'],
  UZ: ['Tashkent'],
  AZ: ['Baku'],
  ME: ['Podgorica', 'Budva'],
  TJ: ['Dushanbe'],
};

// Event times: 2019-01-01 .. 2026-06-30, with activity rising sharply after February 2022.
const T0 = Date.UTC(2019, 0, 1);
const T1 = Date.UTC(2026, 5, 30);
const T22 = Date.UTC(2022, 1, 24);
function eventTime(): Date {
  const t = rnd() < 0.15 ? T0 + rnd() * (T22 - T0) : T22 + Math.sqrt(rnd()) * (T1 - T22);
  return new Date(Math.floor(t / 1000) * 1000);
}

// CSV field for COPY (FORMAT csv): quote everything that is not trivially safe.
const f = (v: string | number | null) =>
  v === null
    ? ''
    : typeof v === 'number'
      ? String(v)
      : /[",\n\r]/.test(v) || v === ''
        ? `"${v.replace(/"/g, '""')}"`
        : v;
const line = (vals: (string | number | null)[]) => vals.map(f).join(',') + '\n';

async function copyInto(url: string, table: string, columns: string[], rows: () => Generator<string>): Promise<number> {
  const child = spawn(
    'psql',
    [
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-d',
      url,
      '-c',
      `COPY ${table} (${columns.join(', ')}) FROM STDIN WITH (FORMAT csv)`,
    ],
    { stdio: ['pipe', 'inherit', 'inherit'] },
  );
  const exited = once(child, 'exit');
  let n = 0;
  const out = child.stdin as Writable;
  let buf = '';
  for (const row of rows()) {
    buf += row;
    n++;
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  if (buf) out.write(buf);
  out.end();
  const [code] = (await exited) as [number | null];
  if (code !== 0) throw new Error(`COPY ${table} failed (psql exit ${code})`);
  return n;
}

export async function seed(opts: SeedOptions, log: (m: string) => void = console.error): Promise<void> {
  const admin = new pg.Client({ connectionString: opts.adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${opts.db} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${opts.db}`);
  await admin.end();
  const url = dbUrl(opts.adminUrl, opts.db);
  await migrate(url, MIGRATIONS_DIR);
  const started = Date.now();

  const userId = uuid();
  const teamIds = TEAMS.map(() => uuid());
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(
    `INSERT INTO users (id, email, display_name, role, password_hash, updated_at) VALUES ($1, 'seed@bench.invalid', 'Bench seed', 'ADMIN', 'x', now())`,
    [userId],
  );
  for (const [i, t] of TEAMS.entries()) {
    await client.query('INSERT INTO teams (id, name, countries) VALUES ($1, $2, $3)', [
      teamIds[i],
      t.name,
      t.countries,
    ]);
  }
  const teamOf = (country: string) => teamIds[TEAMS.findIndex((t) => t.countries.includes(country))];

  // Cases (and their people), remembered compactly for the event pass.
  const caseIds: string[] = new Array(opts.cases);
  const caseCountry: string[] = new Array(opts.cases);
  const now = new Date().toISOString();
  const personIds: string[] = new Array(opts.cases);
  for (let i = 0; i < opts.cases; i++) {
    caseIds[i] = uuid();
    personIds[i] = uuid();
    caseCountry[i] = COUNTRY();
  }
  const fakeCipher = () => `v1.bench.${randomBytes(12).toString('base64url')}.${randomBytes(24).toString('base64url')}`;
  await copyInto(
    url,
    'people',
    [
      'id',
      'pseudonym',
      'legal_name_enc',
      'legal_name_bidx',
      'citizenship',
      'travel_document_status',
      'tags',
      'created_by_id',
      'created_at',
      'updated_at',
    ],
    function* () {
      for (let i = 0; i < opts.cases; i++) {
        yield line([
          personIds[i],
          `Bench-${i}`,
          fakeCipher(),
          randomBytes(16).toString('hex'),
          CITIZENSHIP(),
          'INTERNATIONAL_VALID',
          '{}',
          userId,
          now,
          now,
        ]);
      }
    },
  );
  await copyInto(
    url,
    'cases',
    [
      'id',
      'reference',
      'person_id',
      'team_id',
      'host_country',
      'status',
      'risk_level',
      'created_by_id',
      'created_at',
      'updated_at',
    ],
    function* () {
      for (let i = 0; i < opts.cases; i++) {
        yield line([
          caseIds[i],
          `BEN-${String(i + 1).padStart(7, '0')}`,
          personIds[i],
          teamOf(caseCountry[i]),
          caseCountry[i],
          STATUS(),
          'MEDIUM',
          userId,
          now,
          now,
        ]);
      }
    },
  );
  let charges = 0;
  charges = await copyInto(
    url,
    'charges',
    ['id', 'case_id', 'issuing_country', 'code', 'article', 'category', 'mechanism', 'status', 'updated_at'],
    function* () {
      for (let i = 0; i < opts.cases; i++) {
        // 0..3 charges, mean ~1.3: some people are listed on several articles at once.
        const r = rnd();
        const n = r < 0.12 ? 0 : r < 0.72 ? 1 : r < 0.92 ? 2 : 3;
        for (let j = 0; j < n; j++) {
          yield line([
            uuid(),
            caseIds[i],
            rnd() < 0.85 ? 'RU' : 'BY',
            'RU-CC',
            '207.3',
            CATEGORY(),
            MECHANISM(),
            'WANTED',
            now,
          ]);
        }
      }
    },
  );

  // Events per case: a heavy tail (lognormal weights), scaled to the target total.
  const weights = new Float64Array(opts.cases);
  let wsum = 0;
  for (let i = 0; i < opts.cases; i++) {
    const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    weights[i] = Math.exp(1.1 * z);
    wsum += weights[i];
  }
  const perCase = new Int32Array(opts.cases);
  let assigned = 0;
  for (let i = 0; i < opts.cases; i++) {
    perCase[i] = Math.max(1, Math.floor((weights[i] / wsum) * opts.events));
    assigned += perCase[i];
  }
  for (let i = 0; assigned < opts.events; i = (i + 1) % opts.cases) {
    perCase[i]++;
    assigned++;
  }
  for (let i = opts.cases - 1; assigned > opts.events; i = (i - 1 + opts.cases) % opts.cases) {
    if (perCase[i] > 1) {
      perCase[i]--;
      assigned--;
    }
  }
  const events = await copyInto(
    url,
    'events',
    [
      'id',
      'case_id',
      'type',
      'country',
      'city',
      'occurred_at',
      'occurred_at_precision',
      'outcome',
      'source_urls',
      'verification',
      'created_at',
      'updated_at',
    ],
    function* () {
      for (let i = 0; i < opts.cases; i++) {
        const country = caseCountry[i];
        for (let j = 0; j < perCase[i]; j++) {
          const outcome = OUTCOME();
          const cities = CITIES[country];
          yield line([
            uuid(),
            caseIds[i],
            EVENT_TYPE(),
            rnd() < 0.95 ? country : COUNTRY(),
            rnd() < 0.5 ? cities[Math.floor(rnd() * cities.length)] : null,
            eventTime().toISOString(),
            'DAY',
            outcome || null,
            '{}',
            'CORROBORATED',
            now,
            now,
          ]);
        }
      }
    },
  );
  await client.query('ANALYZE');
  await client.end();
  log(
    `seeded ${opts.db}: ${opts.cases} cases, ${charges} charges, ${events} events in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  seed(parseArgs(process.argv.slice(2))).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
