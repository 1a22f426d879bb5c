// API request-path benchmark (issue: "The request path at the speed of the database"): each hot route of
// the real API process (compiled: `node dist/main.js`, ROLE=api; `--tsx` for the tsx way) against a "raw-pg floor", a minimal
// Fastify + pg server (this file run with --floor) doing the same SQL for each route without auth,
// audit or response-schema checks: what the route would cost if the framework and our layers were free.
//
//   npx tsx bench/api.bench.ts [--cases 2000] [--secs 10] [--connections 32] [--rounds 2] [--warmup 2]
//                              [--routes case,list,...] [--cpu-prof DIR] [--timeout S] [--db exile_bench_api]
//                              [--event-type THREAT] [--redis URL] [--keep]
//
// Everything runs on this machine: PostgreSQL on 127.0.0.1 (BENCH_ADMIN_URL, default
// postgresql://postgres@127.0.0.1:5432/postgres; the benchmark drops and recreates its own database and
// drops it at the end), the API and the floor as child processes on 127.0.0.1, autocannon in this process.
// Queues: BullMQ's PostgreSQL backend in the bench database unless --redis (or BENCH_REDIS_URL) is given;
// no benchmarked route touches a queue.
//
// Data: --cases cases (one person each, 5 events each, one charge, one lawyer assignment, 1-3 deadlines)
// in two teams, inserted set-based (INSERT … SELECT FROM unnest) with real AES-GCM ciphertext made by the
// app's FieldCrypto under the API's key, plus three cases made through the API itself (people, cases,
// charges, a DETENTION event whose rules make deadlines and reminders, an assignment, a manual deadline).
// Users: ADMIN, COORDINATOR and CASEWORKER (team A), the benchmark LAWYER (assigned to every 50th case)
// and 49 more lawyers and 6 caseworkers. Access tokens live for the whole run (ACCESS_TOKEN_TTL_SECONDS):
// the session is still checked on every request.
//
// Per route: warm-up (--warmup s each, not counted), then --rounds × (API, floor) at --connections
// connections for --secs each, requests spread over many case ids (one extra "case-one" run hits a single
// case), then one fixed-rate run per server at half of its own measured req/s (autocannon overallRate,
// latencies corrected for coordinated omission). Prints req/s, p50, p99, non-2xx and the API/floor ratios
// next to the targets, and the API process's RSS (/proc/<pid>/status VmRSS every 250 ms): idle before
// load and peak during the run. --cpu-prof DIR starts the API with --cpu-prof and prints the top self-time
// functions and packages of its profile. The whole run is bounded by --timeout (default from the plan).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { FieldCrypto, normaliseName } from '../src/lib/field-crypto.ts';
import { randomSecretsEnv } from '../src/lib/random-secrets.ts';

const THIS_FILE = fileURLToPath(import.meta.url);
const PROJECT_ROOT = path.resolve(path.dirname(THIS_FILE), '..');

// ---------------------------------------------------------------------------------------------------------
// autocannon ships no type declarations (and @types/autocannon is not installed): what this file uses.
// ---------------------------------------------------------------------------------------------------------
type Histogram = { average: number; p50: number; p99: number; max: number; total: number };
type AcRequest = { method?: string; path?: string; headers?: Record<string, string>; body?: string };
type AcOptions = {
  url: string;
  connections: number;
  duration: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  requests?: { setupRequest: (req: AcRequest) => AcRequest }[];
  overallRate?: number;
};
type AcResult = {
  requests: Histogram;
  latency: Histogram;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
  statusCodeStats: Record<string, { count: number }>;
};
// createRequire: the package is CommonJS without types; the cast states the shape documented in its README.
const autocannon = createRequire(import.meta.url)('autocannon') as (o: AcOptions) => Promise<AcResult>;

// ---------------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------------
const ROUTE_NAMES = ['live', 'me', 'case', 'case-one', 'list', 'timeline', 'person', 'deadlines', 'stats', 'event'];

type Opts = {
  cases: number;
  secs: number;
  connections: number;
  rounds: number;
  warmupS: number;
  routes: string[];
  profileDir: string;
  timeoutS: number;
  db: string;
  eventType: string;
  redisUrl: string;
  keep: boolean;
  adminUrl: string;
};

function parseOpts(argv: string[]): Opts {
  const get = (name: string, def: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] ? argv[i + 1] : def;
  };
  const routes = get('routes', ROUTE_NAMES.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const o: Opts = {
    cases: Number(get('cases', '2000')),
    secs: Number(get('secs', '10')),
    connections: Number(get('connections', '32')),
    rounds: Number(get('rounds', '2')),
    warmupS: Number(get('warmup', '2')),
    routes: ROUTE_NAMES.filter((r) => routes.includes(r)),
    profileDir: get('cpu-prof', '') ? path.resolve(get('cpu-prof', '')) : '',
    timeoutS: 0,
    db: get('db', 'exile_bench_api'),
    eventType: get('event-type', 'THREAT'),
    redisUrl: get('redis', process.env.BENCH_REDIS_URL ?? ''),
    keep: argv.includes('--keep'),
    adminUrl: process.env.BENCH_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  };
  const unknown = routes.filter((r) => !ROUTE_NAMES.includes(r));
  if (unknown.length) throw new Error(`--routes: unknown ${unknown.join(', ')} (known: ${ROUTE_NAMES.join(', ')})`);
  if (!o.routes.length) throw new Error('--routes selects nothing');
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(o.db)) throw new Error('--db must be a plain lower-case identifier');
  if (!Number.isInteger(o.cases) || o.cases < 20) throw new Error('--cases must be an integer >= 20');
  for (const [k, v] of [
    ['secs', o.secs],
    ['connections', o.connections],
    ['rounds', o.rounds],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
  }
  if (!(o.warmupS >= 0)) throw new Error('--warmup must be >= 0');
  for (const u of [o.adminUrl, o.redisUrl].filter(Boolean)) {
    const host = new URL(u).hostname;
    if (host !== '127.0.0.1' && host !== 'localhost') {
      throw new Error(`the benchmark only runs against servers on 127.0.0.1 (got ${host})`);
    }
  }
  // The plan: per route, warm-up and rounds on both servers plus two fixed-rate runs; set-up and seeding.
  const planned = o.routes.length * (o.rounds * 2 * o.secs + 2 * o.secs + 2 * o.warmupS + 4) + 120;
  o.timeoutS = Number(get('timeout', String(Math.ceil(planned * 1.5 + 120))));
  return o;
}

const log = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The raw-pg floor (child process): same SQL per route, no auth, audit or response schemas; pool of 10
// like the API's; replies are JSON.stringify'd. The caller's facts (team ids, lawyer) come from the parent.
// ---------------------------------------------------------------------------------------------------------
type FloorFacts = { caseworkerId: string; teamIds: string[]; lawyerId: string };
type Row = Record<string, unknown>;
type PersonRow = {
  id: string;
  pseudonym: string;
  legal_name_enc: string;
  date_of_birth_enc: string | null;
  contacts_enc: string | null;
  notes_enc: string | null;
  citizenship: string[];
  travel_document_status: string;
  tags: string[];
  created_at: Date;
  updated_at: Date;
};

const CASE_COLS = `c.id, c.reference, c.person_id, c.team_id, c.host_country, c.status, c.risk_level, c.summary,
  c.version, c.created_at, c.updated_at`;
const PERSON_COLS = `p.id, p.pseudonym, p.legal_name_enc, p.date_of_birth_enc, p.contacts_enc, p.notes_enc,
  p.citizenship, p.travel_document_status, p.tags, p.created_at, p.updated_at`;

const caseDto = (c: Row) => ({
  id: c.id,
  reference: c.reference,
  personId: c.person_id,
  teamId: c.team_id,
  hostCountry: c.host_country,
  status: c.status,
  riskLevel: c.risk_level,
  summary: c.summary,
  version: c.version,
  createdAt: c.created_at,
  updatedAt: c.updated_at,
});

async function floorMain() {
  const { default: Fastify } = await import('fastify');
  const config = loadConfig(process.env);
  const facts = JSON.parse(process.env.BENCH_FLOOR_FACTS ?? '{}') as FloorFacts;
  const crypto = new FieldCrypto(config.crypto.keys, config.crypto.currentKeyId, config.crypto.blindIndexKey);
  const pool = new pg.Pool({ connectionString: config.db.url, max: 10 });
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  const send = (reply: FastifyReply, body: unknown, code = 200) =>
    reply.code(code).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
  const personDto = (p: PersonRow) => {
    const ref = (column: string) => ({ table: 'people', column, rowId: p.id });
    const contacts = crypto.decryptNullable(p.contacts_enc, ref('contacts_enc'));
    return {
      id: p.id,
      pseudonym: p.pseudonym,
      citizenship: p.citizenship,
      travelDocumentStatus: p.travel_document_status,
      tags: p.tags,
      legalDataVisible: true,
      legalName: crypto.decrypt(p.legal_name_enc, ref('legal_name_enc')),
      dateOfBirth: crypto.decryptNullable(p.date_of_birth_enc, ref('date_of_birth_enc')),
      contacts: contacts ? (JSON.parse(contacts) as unknown) : null,
      notes: crypto.decryptNullable(p.notes_enc, ref('notes_enc')),
      createdAt: p.created_at,
      updatedAt: p.updated_at,
    };
  };
  const eventDto = (e: Row) => {
    const { details_enc: enc, ...rest } = e;
    const details = crypto.decryptNullable(enc as string | null, {
      table: 'events',
      column: 'details_enc',
      rowId: String(e.id),
    });
    return { ...rest, detailsVisible: true, details };
  };
  type IdParams = { Params: { id: string } };

  app.get('/health/live', async (_req, reply) => send(reply, { status: 'ok' }));

  app.get('/v1/me', async (_req, reply) => {
    const { rows } = await pool.query(
      `SELECT u.id, u.email, u.display_name, u.role, u.active, u.locked_until, u.created_at,
              ARRAY(SELECT tm.team_id FROM team_members tm WHERE tm.user_id = u.id) AS team_ids
       FROM users u WHERE u.id = $1`,
      [facts.caseworkerId],
    );
    return send(reply, rows[0]);
  });

  app.get<IdParams>('/v1/cases/:id', async (req, reply) => {
    const { rows } = await pool.query(
      `SELECT ${CASE_COLS}, p.pseudonym, p.legal_name_enc, p.date_of_birth_enc, p.contacts_enc, p.notes_enc,
              p.citizenship, p.travel_document_status, p.tags, p.created_at AS p_created_at,
              p.updated_at AS p_updated_at
       FROM cases c JOIN people p ON p.id = c.person_id WHERE c.id = $1`,
      [req.params.id],
    );
    if (!rows.length) return send(reply, { status: 404 }, 404);
    const r = rows[0] as Row & PersonRow & { person_id: string; p_created_at: Date; p_updated_at: Date };
    const person = personDto({ ...r, id: r.person_id, created_at: r.p_created_at, updated_at: r.p_updated_at });
    return send(reply, { ...caseDto(r), person });
  });

  app.get<{ Querystring: { hostCountry?: string; status?: string; limit?: string } }>(
    '/v1/cases',
    async (req, reply) => {
      const limit = Number(req.query.limit ?? 25);
      // The API's WHERE for a caseworker (team visibility), its filters, ORDER BY and LIMIT (one more row,
      // to know whether there is a next page).
      const { rows } = await pool.query(
        `SELECT ${CASE_COLS}, p.pseudonym FROM cases c JOIN people p ON p.id = c.person_id
         WHERE c.team_id = ANY($1::uuid[]) AND c.host_country = $2 AND c.status = $3::"CaseStatus"
         ORDER BY c.created_at DESC, c.id DESC LIMIT $4`,
        [facts.teamIds, req.query.hostCountry, req.query.status, limit + 1],
      );
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const nextCursor =
        rows.length > limit
          ? Buffer.from(`${(last.created_at as Date).toISOString()}|${last.id}`).toString('base64url')
          : null;
      return send(reply, { items: page.map((r) => ({ ...caseDto(r), pseudonym: r.pseudonym })), nextCursor });
    },
  );

  app.get<IdParams>('/v1/cases/:id/timeline', async (req, reply) => {
    const id = req.params.id;
    const [charges, events, assignments, deadlines] = await Promise.all([
      pool.query('SELECT * FROM charges WHERE case_id = $1', [id]),
      pool.query('SELECT * FROM events WHERE case_id = $1', [id]),
      pool.query(
        `SELECT a.id, a.case_id, a.lawyer_id, a.role, a.started_at, a.ended_at, u.display_name
         FROM assignments a JOIN users u ON u.id = a.lawyer_id WHERE a.case_id = $1`,
        [id],
      ),
      pool.query('SELECT * FROM deadlines WHERE case_id = $1', [id]),
    ]);
    const items = [
      ...charges.rows.map((c) => ({
        kind: 'charge',
        at: (c.filed_on ?? c.created_at) as Date,
        id: c.id as string,
        summary: `${c.code} ${c.article} (${c.category}, ${c.mechanism})`,
        data: c,
      })),
      ...events.rows.map((e) => ({
        kind: 'event',
        at: e.occurred_at as Date,
        id: e.id as string,
        summary: `${e.type} in ${e.city ? `${e.city}, ` : ''}${e.country}`,
        data: eventDto(e),
      })),
      ...assignments.rows.map((a) => ({
        kind: 'assignment_started',
        at: a.started_at as Date,
        id: a.id as string,
        summary: `${a.display_name} assigned (${a.role})`,
        data: a,
      })),
      ...deadlines.rows.map((d) => ({
        kind: 'deadline',
        at: d.due_at as Date,
        id: d.id as string,
        summary: `${d.status} ${d.kind}: ${d.title}`,
        data: d,
      })),
    ].sort((x, y) => x.at.getTime() - y.at.getTime() || x.id.localeCompare(y.id));
    return send(reply, { items });
  });

  app.get<IdParams>('/v1/people/:id', async (req, reply) => {
    const { rows } = await pool.query<PersonRow>(`SELECT ${PERSON_COLS} FROM people p WHERE p.id = $1`, [
      req.params.id,
    ]);
    if (!rows.length) return send(reply, { status: 404 }, 404);
    return send(reply, personDto(rows[0]));
  });

  app.post<IdParams & { Body: { type: string; country: string; occurredAt: string } }>(
    '/v1/cases/:id/events',
    async (req, reply) => {
      const b = req.body;
      const at = b.occurredAt.length === 10 ? `${b.occurredAt}T00:00:00.000Z` : b.occurredAt;
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query(
          `INSERT INTO events (id, case_id, type, country, occurred_at, source_urls, created_at, updated_at)
           VALUES ($1, $2, $3::"EventType", $4, $5, '{}', now(), now()) RETURNING *`,
          [randomUUID(), req.params.id, b.type, b.country, at],
        );
        await client.query('COMMIT');
        return send(reply, eventDto(rows[0]), 201);
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        client.release();
      }
    },
  );

  app.get('/v1/me/deadlines', async (_req, reply) => {
    // myDeadlinesWhere for a lawyer (named assignee or assigned now, and the case visible to them),
    // default statuses OPEN and MISSED, ORDER BY due_at, id, the default limit (200); overdue first.
    const { rows } = await pool.query(
      `SELECT d.*, c.reference, c.host_country, p.pseudonym
       FROM deadlines d JOIN cases c ON c.id = d.case_id JOIN people p ON p.id = c.person_id
       WHERE (d.assignee_id = $1 OR EXISTS (SELECT 1 FROM assignments a
               WHERE a.case_id = d.case_id AND a.lawyer_id = $1 AND a.ended_at IS NULL))
         AND EXISTS (SELECT 1 FROM assignments a
               WHERE a.case_id = d.case_id AND a.lawyer_id = $1 AND a.ended_at IS NULL)
         AND d.status IN ('OPEN', 'MISSED')
       ORDER BY d.due_at, d.id LIMIT 200`,
      [facts.lawyerId],
    );
    const now = Date.now();
    const overdue = (d: Row) => d.status === 'MISSED' || (d.due_at as Date).getTime() < now;
    return send(reply, { items: [...rows.filter(overdue), ...rows.filter((d) => !overdue(d))] });
  });

  app.get('/v1/stats/overview', async (_req, reply) => {
    // The four aggregate statements of StatsService.overview, as plain queries (no read-only transaction,
    // no session settings, no disclosure control).
    const now = new Date();
    const year = now.getUTCFullYear();
    const open = await pool.query(
      `SELECT GROUPING(c.host_country)::int AS g, c.host_country::text AS hc, count(*)::int AS n FROM cases c
       WHERE c.status = 'OPEN' GROUP BY CUBE (c.host_country)`,
    );
    const det = await pool.query(
      `SELECT count(*)::int AS events, count(DISTINCT e.case_id)::int AS cases FROM events e
       WHERE e.type = 'DETENTION' AND e.occurred_at >= $1 AND e.occurred_at < $2`,
      [new Date(Date.UTC(year, 0, 1)), new Date(Date.UTC(year + 1, 0, 1))],
    );
    const bans = await pool.query(
      `SELECT count(DISTINCT c.person_id)::int AS people FROM (
         SELECT DISTINCT ON (e.case_id) e.case_id, e.type FROM events e
         WHERE e.type IN ('TRAVEL_BAN', 'TRAVEL_BAN_LIFTED') AND e.occurred_at <= $1
         ORDER BY e.case_id, e.occurred_at DESC, (e.type = 'TRAVEL_BAN_LIFTED') DESC
       ) latest JOIN cases c ON c.id = latest.case_id WHERE latest.type = 'TRAVEL_BAN'`,
      [now],
    );
    const dl = await pool.query(
      `SELECT count(*)::int AS deadlines, count(DISTINCT d.case_id)::int AS cases FROM deadlines d
       WHERE d.status = 'OPEN' AND d.due_at >= $1 AND d.due_at < $2`,
      [now, new Date(now.getTime() + 30 * 86_400_000)],
    );
    return send(reply, {
      openCasesByHostCountry: open.rows,
      detentionsThisYear: { year, ...det.rows[0] },
      peopleUnderTravelBan: bans.rows[0],
      upcomingDeadlines: { days: 30, ...dl.rows[0] },
      generatedAt: now,
    });
  });

  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  console.log(`floor listening on ${address}`);
  process.on('SIGTERM', () => {
    void app
      .close()
      .then(() => pool.end())
      .finally(() => process.exit(0));
  });
}

// ---------------------------------------------------------------------------------------------------------
// Child processes and their memory
// ---------------------------------------------------------------------------------------------------------
type Proc = {
  name: string;
  child: ChildProcess;
  pid: number;
  lines: string[];
  exited: Promise<void>;
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  stop(): Promise<void>;
};

function spawnProc(name: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const watchers: ((l: string) => void)[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    let buf = '';
    stream.on('data', (c: Buffer) => {
      buf += c.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        if (lines.length > 400) lines.shift();
        for (const w of watchers) w(line);
      }
    });
  }
  let done = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      done = true;
      resolve();
    }),
  );
  return {
    name,
    child,
    pid: child.pid!,
    lines,
    exited,
    waitFor(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const tail = () => lines.slice(-30).join('\n');
        const timer = setTimeout(
          () => reject(new Error(`${name}: not ready in ${timeoutMs} ms:\n${tail()}`)),
          timeoutMs,
        );
        watchers.push((l) => {
          const m = re.exec(l);
          if (m) {
            clearTimeout(timer);
            resolve(m);
          }
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (${child.exitCode ?? child.signalCode}):\n${tail()}`));
        });
      });
    },
    async stop() {
      if (done) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 25_000);
      await exited;
      clearTimeout(t);
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** VmRSS of a process every 250 ms: the overall peak and the peak since the last mark. */
class RssSampler {
  peak = 0;
  phasePeak = 0;
  private timer: NodeJS.Timeout;
  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 250);
  }

  status(field: 'VmRSS' | 'VmHWM'): number {
    try {
      const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  }

  sample(): number {
    const v = this.status('VmRSS');
    this.peak = Math.max(this.peak, v);
    this.phasePeak = Math.max(this.phasePeak, v);
    return v;
  }

  mark() {
    this.phasePeak = this.sample();
  }

  stop() {
    clearInterval(this.timer);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Seeding
// ---------------------------------------------------------------------------------------------------------
const TEAM_A_COUNTRIES = ['KZ', 'KG', 'AM', 'GE', 'TR', 'RS'];
const TEAM_B_COUNTRIES = ['KZ', 'KG', 'UZ', 'AZ', 'AM', 'GE'];
const ZONES: Record<string, string> = {
  KZ: 'Asia/Almaty',
  KG: 'Asia/Bishkek',
  AM: 'Asia/Yerevan',
  GE: 'Asia/Tbilisi',
  TR: 'Europe/Istanbul',
  RS: 'Europe/Belgrade',
  UZ: 'Asia/Tashkent',
  AZ: 'Asia/Baku',
};
const EVENT_TYPES = ['DETENTION', 'THREAT', 'TRAVEL_BAN', 'COURT_HEARING', 'SURVEILLANCE', 'TRAVEL_BAN_LIFTED'];
const STATUSES = ['OPEN', 'OPEN', 'OPEN', 'OPEN', 'OPEN', 'OPEN', 'OPEN', 'MONITORING', 'RELOCATED', 'CLOSED'];
const LAWYERS = 50;
const PASSWORD = 'bench password for the api benchmark only';

type Users = { admin: string; coordinator: string; caseworker: string; lawyer: string; emails: Record<string, string> };
type Seeded = {
  users: Users;
  teamA: string;
  teamB: string;
  /** Cases (and their people) the benchmark caseworker may see: team A. */
  visible: { caseId: string; personId: string; legalName: string }[];
  counts: Record<string, number>;
};

async function seedBulk(db: pg.Client, crypto: FieldCrypto, n: number, passwordHash: string): Promise<Seeded> {
  const tag = randomBytes(3).toString('hex');
  const teamA = randomUUID();
  const teamB = randomUUID();
  const users: Users = {
    admin: randomUUID(),
    coordinator: randomUUID(),
    caseworker: randomUUID(),
    lawyer: randomUUID(),
    emails: {},
  };
  const userRows: { id: string; email: string; name: string; role: string; hash: string; team: string | null }[] = [];
  for (const role of ['admin', 'coordinator', 'caseworker', 'lawyer'] as const) {
    const email = `bench-${role}-${tag}@bench.invalid`;
    users.emails[role] = email;
    const team = role === 'coordinator' || role === 'caseworker' ? teamA : null;
    userRows.push({
      id: users[role],
      email,
      name: `Bench ${role}`,
      role: role.toUpperCase(),
      hash: passwordHash,
      team,
    });
  }
  const lawyerIds = [users.lawyer];
  for (let i = 1; i < LAWYERS; i++) {
    const id = randomUUID();
    lawyerIds.push(id);
    userRows.push({
      id,
      email: `lawyer${i}-${tag}@bench.invalid`,
      name: `Lawyer ${i}`,
      role: 'LAWYER',
      hash: 'x',
      team: null,
    });
  }
  for (let i = 0; i < 6; i++) {
    const team = i < 3 ? teamA : teamB;
    const id = randomUUID();
    userRows.push({
      id,
      email: `cw${i}-${tag}@bench.invalid`,
      name: `Caseworker ${i}`,
      role: 'CASEWORKER',
      hash: 'x',
      team,
    });
  }

  const people: string[][] = [[], [], [], [], [], [], [], []];
  const cases: (string | number)[][] = [[], [], [], [], [], [], []];
  const events: (string | number)[][] = [[], [], [], [], [], []];
  const visible: Seeded['visible'] = [];
  const now = Date.now();
  const start2025 = Date.UTC(2025, 0, 1);
  let s = 12345;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let i = 0; i < n; i++) {
    const personId = randomUUID();
    const caseId = randomUUID();
    const inB = i % 4 === 3;
    const countries = inB ? TEAM_B_COUNTRIES : TEAM_A_COUNTRIES;
    const host = countries[Math.floor(rnd() * countries.length)];
    const legalName = `Bench Person ${i} ${tag}`;
    const dob = `19${70 + (i % 30)}-0${1 + (i % 9)}-1${i % 10}`;
    const ref = (column: string) => ({ table: 'people', column, rowId: personId });
    const contacts = JSON.stringify([
      { kind: 'TELEGRAM', value: `@bench_${i}` },
      { kind: 'PHONE', value: `+7 700 ${String(i).padStart(7, '0')}` },
    ]);
    const notes = `Relocated after a search of the family flat; contact through the lawyer only. ${tag} ${i}`;
    people[0].push(personId);
    people[1].push(`P-${tag}-${i}`);
    people[2].push(crypto.encrypt(legalName, ref('legal_name_enc')));
    people[3].push(crypto.blindIndex('person.legal_name', normaliseName(legalName)));
    people[4].push(crypto.encrypt(dob, ref('date_of_birth_enc')));
    people[5].push(crypto.blindIndex('person.date_of_birth', dob));
    people[6].push(crypto.encrypt(contacts, ref('contacts_enc')));
    people[7].push(crypto.encrypt(notes, ref('notes_enc')));
    const createdAt = new Date(now - (n - i) * 3_600_000).toISOString();
    cases[0].push(caseId);
    cases[1].push(`ARK-2025-${String(i + 1).padStart(6, '0')}`);
    cases[2].push(personId);
    cases[3].push(inB ? teamB : teamA);
    cases[4].push(host);
    cases[5].push(STATUSES[i % STATUSES.length]);
    cases[6].push(createdAt);
    for (let k = 0; k < 5; k++) {
      const id = randomUUID();
      const type = EVENT_TYPES[Math.floor(rnd() * EVENT_TYPES.length)];
      const at = new Date(start2025 + Math.floor(rnd() * (now - start2025)));
      at.setUTCHours(0, 0, 0, 0);
      const details = `Reported by the person's relative; officers cited a request from the home country. ${i}/${k}`;
      events[0].push(id);
      events[1].push(caseId);
      events[2].push(type);
      events[3].push(host);
      events[4].push(at.toISOString());
      events[5].push(crypto.encrypt(details, { table: 'events', column: 'details_enc', rowId: id }));
    }
    if (!inB) visible.push({ caseId, personId, legalName });
  }

  await db.query('BEGIN');
  await db.query(`INSERT INTO teams (id, name, countries) VALUES ($1, $2, $3), ($4, $5, $6)`, [
    teamA,
    `Bench team A ${tag}`,
    TEAM_A_COUNTRIES,
    teamB,
    `Bench team B ${tag}`,
    TEAM_B_COUNTRIES,
  ]);
  await db.query(
    `INSERT INTO users (id, email, display_name, role, password_hash, updated_at)
     SELECT u.id, u.email, u.name, u.role, u.hash, now()
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::"Role"[], $5::text[]) AS u(id, email, name, role, hash)`,
    [
      userRows.map((u) => u.id),
      userRows.map((u) => u.email),
      userRows.map((u) => u.name),
      userRows.map((u) => u.role),
      userRows.map((u) => u.hash),
    ],
  );
  const members = userRows.filter((u) => u.team);
  await db.query(`INSERT INTO team_members (team_id, user_id) SELECT * FROM unnest($1::uuid[], $2::uuid[])`, [
    members.map((u) => u.team),
    members.map((u) => u.id),
  ]);
  await db.query(
    `INSERT INTO people (id, pseudonym, legal_name_enc, legal_name_bidx, date_of_birth_enc, dob_bidx, contacts_enc,
                         notes_enc, citizenship, travel_document_status, tags, created_by_id, created_at, updated_at)
     SELECT u.id, u.pseudonym, u.ln, u.lb, u.dob, u.db, u.ct, u.nt,
            CASE WHEN u.ord % 3 = 0 THEN ARRAY['BY'] ELSE ARRAY['RU'] END, 'INTERNATIONAL_VALID',
            ARRAY['ACTIVIST'], $9, now() - (($10::int - u.ord) * interval '1 hour'), now()
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
          WITH ORDINALITY AS u(id, pseudonym, ln, lb, dob, db, ct, nt, ord)`,
    [...people, users.caseworker, n],
  );
  await db.query(
    `INSERT INTO cases (id, reference, person_id, team_id, host_country, status, risk_level, summary, created_by_id,
                        created_at, updated_at)
     SELECT u.id, u.ref, u.person, u.team, u.host, u.status::"CaseStatus",
            (ARRAY['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'])[1 + (u.ord * 7) % 4]::"RiskLevel",
            'Wanted on a CIS interstate search after anti-war posts', $8, u.created, u.created
     FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::timestamptz[])
          WITH ORDINALITY AS u(id, ref, person, team, host, status, created, ord)`,
    [...cases, users.caseworker],
  );
  await db.query(
    `INSERT INTO events (id, case_id, type, country, city, occurred_at, source_urls, details_enc, created_at,
                         updated_at)
     SELECT u.id, u.case_id, u.type::"EventType", u.country, 'Cityname', u.at, '{}', u.details, now(), now()
     FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
          AS u(id, case_id, type, country, at, details)`,
    events,
  );
  await db.query(
    `INSERT INTO charges (id, case_id, issuing_country, code, article, category, mechanism, status, filed_on,
                          updated_at)
     SELECT gen_random_uuid(), c.id, 'RU', 'RU-CC', '207.3', 'FAKES', 'CIS_INTERSTATE_SEARCH', 'WANTED',
            (c.created_at - interval '200 days')::date, now()
     FROM cases c`,
  );
  // Every case has a lawyer; the benchmark lawyer (index 0) has every 50th.
  await db.query(
    `INSERT INTO assignments (id, case_id, lawyer_id, role, started_at, created_by_id)
     SELECT gen_random_uuid(), c.id, ($1::uuid[])[1 + (row_number() OVER (ORDER BY c.created_at, c.id))::int % $2::int],
            'LEAD', c.created_at, $3
     FROM cases c`,
    [lawyerIds, LAWYERS, users.caseworker],
  );
  // One open deadline per case within 90 days, a missed one on every 5th case, a done one on every 7th.
  const zones = `(CASE c.host_country ${Object.entries(ZONES)
    .map(([k, v]) => `WHEN '${k}' THEN '${v}'`)
    .join(' ')} END)`;
  await db.query(
    `WITH c AS (SELECT c.*, row_number() OVER (ORDER BY c.created_at, c.id)::int AS k FROM cases c)
     INSERT INTO deadlines (id, case_id, kind, title, due_at, time_zone, status, source, created_by_id, completed_at,
                            updated_at)
     SELECT gen_random_uuid(), d.case_id, d.kind::"DeadlineKind", d.title, d.due_at, d.zone,
            d.status::"DeadlineStatus", 'MANUAL', $1, CASE WHEN d.status = 'DONE' THEN now() END, now()
     FROM (
       SELECT c.id AS case_id, 'COURT_FILING' AS kind, 'File the appeal' AS title, 'OPEN' AS status,
              now() + ((c.k % 90) + 1) * interval '1 day' AS due_at, ${zones} AS zone FROM c
       UNION ALL
       SELECT c.id, 'HEARING', 'Extradition hearing', 'MISSED', now() - ((c.k % 30) + 1) * interval '1 day', ${zones}
       FROM c WHERE c.k % 5 = 0
       UNION ALL
       SELECT c.id, 'CUSTOM', 'Collect documents', 'DONE', now() - ((c.k % 60) + 1) * interval '1 day', ${zones}
       FROM c WHERE c.k % 7 = 0
     ) d`,
    [users.caseworker],
  );
  await db.query(`SELECT setval('case_reference_seq', $1)`, [n + 1]);
  await db.query('COMMIT');
  const counts: Record<string, number> = {};
  for (const t of ['users', 'people', 'cases', 'events', 'charges', 'assignments', 'deadlines']) {
    counts[t] = Number((await db.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n);
  }
  return { users, teamA, teamB, visible, counts };
}

// ---------------------------------------------------------------------------------------------------------
// Load runs
// ---------------------------------------------------------------------------------------------------------
type RouteSpec = {
  name: string;
  label: string;
  who: string;
  kind: 'read' | 'write' | 'probe';
  method: 'GET' | 'POST';
  paths: string[];
  token: string | null;
  body?: string;
};
type Run = { rps: number; p50: number; p99: number; non2xx: number; errors: number; codes: string };

async function load(base: string, spec: RouteSpec, connections: number, secs: number, rate?: number): Promise<Run> {
  const paths = spec.paths;
  let i = Math.floor(Math.random() * paths.length);
  const headers: Record<string, string> = {};
  if (spec.token) headers.authorization = `Bearer ${spec.token}`;
  if (spec.body) headers['content-type'] = 'application/json';
  const r = await autocannon({
    url: base,
    connections,
    duration: secs,
    method: spec.method,
    headers,
    body: spec.body,
    requests: [
      {
        setupRequest: (req) => {
          req.path = paths[i++ % paths.length];
          return req;
        },
      },
    ],
    ...(rate ? { overallRate: rate } : {}),
  });
  const codes = Object.entries(r.statusCodeStats)
    .map(([c, v]) => `${c}:${v.count}`)
    .join(' ');
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, codes };
}

async function http(base: string, method: string, url: string, token: string | null, body?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

async function expect2xx(base: string, method: string, url: string, token: string | null, body?: unknown) {
  const r = await http(base, method, url, token, body);
  if (r.status < 200 || r.status > 299) throw new Error(`${method} ${url} -> ${r.status}: ${r.text.slice(0, 300)}`);
  return r.json();
}

// ---------------------------------------------------------------------------------------------------------
// CPU profile summary
// ---------------------------------------------------------------------------------------------------------
type CpuProfile = {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
};

function where(url: string): string {
  if (!url) return '';
  const p = url.replace(/^file:\/\//, '');
  const nm = p.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = p.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (p.startsWith(PROJECT_ROOT)) return path.relative(PROJECT_ROOT, p);
  return p;
}

function summariseProfile(file: string, top = 25): string[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  prof.samples.forEach((id, k) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[k] ?? 0)));
  const fns = new Map<string, number>();
  const pkgs = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const loc = where(f.url);
    const key = `${f.functionName || '(anonymous)'}  ${loc ? `${loc}:${f.lineNumber + 1}` : ''}`.trimEnd();
    fns.set(key, (fns.get(key) ?? 0) + us);
    // Source folders of ours, packages by name, Node's own modules by name; V8's pseudo-frames as they are,
    // other frames without a script (C++ builtins called from JS) together.
    const pkg = loc
      ? loc.startsWith('src/')
        ? loc.split('/').slice(0, 3).join('/')
        : loc
      : f.functionName.startsWith('(')
        ? f.functionName
        : '(native code)';
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const out = [
    `CPU profile ${path.basename(file)}: ${(total / 1e6).toFixed(1)} s on CPU, ${(idle / 1e6).toFixed(1)} s idle`,
    `top self time by function:`,
  ];
  for (const [k, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`  ${pct(us)}  ${k}`);
  out.push('self time by package / source folder:');
  for (const [k, us] of [...pkgs].sort((a, b) => b[1] - a[1]).slice(0, 20)) out.push(`  ${pct(us)}  ${k}`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Parent
// ---------------------------------------------------------------------------------------------------------
async function main() {
  const o = parseOpts(process.argv.slice(2));
  const started = Date.now();
  const { migrate } = await import('../src/lib/migrator.ts');
  const { MIGRATIONS_DIR } = await import('../src/lib/paths.ts');
  const { hashPassword } = await import('../src/lib/passwords.ts');
  const dbUrl = (() => {
    const u = new URL(o.adminUrl);
    u.pathname = `/${o.db}`;
    return u.toString();
  })();

  const procs: Proc[] = [];
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await Promise.all(procs.map((p) => p.stop().catch(() => {})));
    if (!o.keep) {
      const a = new pg.Client({ connectionString: o.adminUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${o.db} WITH (FORCE)`).catch(() => {});
      await a.end();
    }
  };
  const killer = setTimeout(() => {
    console.error(`ABORTED: the run exceeded --timeout ${o.timeoutS} s`);
    void cleanup().finally(() => process.exit(2));
  }, o.timeoutS * 1000);
  process.on('SIGINT', () => void cleanup().finally(() => process.exit(130)));

  try {
    // ---- database ----
    const admin = new pg.Client({ connectionString: o.adminUrl });
    await admin.connect();
    const pgVersion = String((await admin.query('SHOW server_version')).rows[0].server_version);
    await admin.query(`DROP DATABASE IF EXISTS ${o.db} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${o.db}`);
    await admin.end();
    await migrate(dbUrl, MIGRATIONS_DIR);

    // ---- config shared by the API, the floor and the seeding ----
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TMPDIR: process.env.TMPDIR,
      ROLE: 'api',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DATABASE_URL: dbUrl,
      ...randomSecretsEnv('b1'),
      // OWASP's floor for the four logins; the request path never hashes.
      ARGON2_MEMORY_KIB: '19456',
      ARGON2_TIME_COST: '2',
      // Tokens outlive the run (default 15 minutes); the session is checked on every request all the same.
      ACCESS_TOKEN_TTL_SECONDS: String(o.timeoutS + 600),
      ...(o.redisUrl ? { REDIS_URL: o.redisUrl } : {}),
    };
    const config = loadConfig(env);
    const crypto = new FieldCrypto(config.crypto.keys, config.crypto.currentKeyId, config.crypto.blindIndexKey);

    // ---- bulk data ----
    let t = Date.now();
    const db = new pg.Client({ connectionString: dbUrl });
    // An error ends the run through the catch below, whose cleanup drops the database under this client.
    db.on('error', () => {});
    await db.connect();
    const seeded = await seedBulk(db, crypto, o.cases, await hashPassword(PASSWORD, config.auth.argon2));
    const bulkS = (Date.now() - t) / 1000;
    log(`bulk seed in ${bulkS.toFixed(1)} s: ${JSON.stringify(seeded.counts)}`);

    // ---- the API ----
    t = Date.now();
    const nodeArgs = o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : [];
    if (o.profileDir) mkdirSync(o.profileDir, { recursive: true });
    // Production runs compiled JavaScript: build dist/ when stale, then run it (--tsx: the development way).
    if (!process.argv.includes('--tsx')) {
      const built = spawnSync(process.execPath, ['scripts/start.mjs', '--build'], { stdio: 'inherit' });
      if (built.status !== 0) throw new Error('npm run build failed');
    }
    const apiArgs = process.argv.includes('--tsx') ? ['--import', 'tsx', 'src/main.ts'] : ['dist/main.js'];
    const api = spawnProc('API', [...nodeArgs, ...apiArgs], env);
    procs.push(api);
    const apiBase = (await api.waitFor(/API listening on (http:\/\/\S+)/, 120_000))[1];
    const apiStartS = (Date.now() - t) / 1000;
    const rss = new RssSampler(api.pid);
    const startRss = rss.sample();
    log(`API (pid ${api.pid}) listening on ${apiBase} after ${apiStartS.toFixed(1)} s, RSS ${mb(startRss)} MB`);

    // ---- logins, and a few records through the service layer ----
    const tokens: Record<string, string> = {};
    for (const role of ['caseworker', 'coordinator', 'lawyer', 'admin']) {
      const r = await expect2xx(apiBase, 'POST', '/v1/auth/login', null, {
        email: seeded.users.emails[role],
        password: PASSWORD,
      });
      tokens[role] = String(r.accessToken);
    }
    const cw = tokens.caseworker;
    const today = new Date().toISOString().slice(0, 10);
    const inTenDays = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    for (let k = 0; k < 3; k++) {
      const legalName = `Service Layer Person ${k} ${randomBytes(2).toString('hex')}`;
      const p = await expect2xx(apiBase, 'POST', '/v1/people', cw, {
        pseudonym: `P-SVC-${k}`,
        legalName,
        dateOfBirth: '1988-04-0' + (k + 1),
        citizenship: 'RU',
        travelDocumentStatus: 'INTERNATIONAL_VALID',
        contacts: [{ kind: 'SIGNAL', value: `+7 701 000 00 0${k}` }],
        notes: 'Made through the API by the benchmark',
      });
      const c = await expect2xx(apiBase, 'POST', '/v1/cases', cw, {
        personId: p.id,
        teamId: seeded.teamA,
        hostCountry: 'KZ',
        summary: 'Detained on a CIS interstate search',
      });
      const cid = String(c.id);
      await expect2xx(apiBase, 'POST', `/v1/cases/${cid}/charges`, cw, {
        issuingCountry: 'RU',
        code: 'RU-CC',
        article: '207.3',
        category: 'FAKES',
        mechanism: 'CIS_INTERSTATE_SEARCH',
        status: 'WANTED',
      });
      await expect2xx(apiBase, 'POST', `/v1/cases/${cid}/assignments`, cw, {
        lawyerId: seeded.users.lawyer,
        role: 'LEAD',
      });
      await expect2xx(apiBase, 'POST', `/v1/cases/${cid}/events`, cw, {
        type: 'DETENTION',
        country: 'KZ',
        occurredAt: today,
        details: 'Detained at the airport on arrival',
      });
      await expect2xx(apiBase, 'POST', `/v1/cases/${cid}/deadlines`, cw, {
        kind: 'HEARING',
        title: 'Extradition hearing',
        dueDate: inTenDays,
      });
      seeded.visible.push({ caseId: cid, personId: String(p.id), legalName });
    }
    const svc = (
      await db.query(
        `SELECT (SELECT count(*) FROM deadlines WHERE source = 'RULE')::int AS rule_deadlines,
                (SELECT count(*) FROM reminders)::int AS reminders, (SELECT count(*) FROM audit_entries)::int AS audit`,
      )
    ).rows[0] as Record<string, number>;
    log(
      `through the API: 3 people, cases, charges, assignments, DETENTION events, manual deadlines; ` +
        JSON.stringify(svc),
    );
    await db.query('ANALYZE');
    await db.end();

    // ---- the floor ----
    const facts: FloorFacts = {
      caseworkerId: seeded.users.caseworker,
      teamIds: [seeded.teamA],
      lawyerId: seeded.users.lawyer,
    };
    const floor = spawnProc('floor', ['--import', 'tsx', THIS_FILE, '--floor'], {
      ...env,
      BENCH_FLOOR_FACTS: JSON.stringify(facts),
    });
    procs.push(floor);
    const floorBase = (await floor.waitFor(/floor listening on (http:\/\/\S+)/, 60_000))[1];
    log(`floor (pid ${floor.pid}) listening on ${floorBase}`);

    // ---- the routes ----
    const vis = shuffled(seeded.visible, 7);
    const caseIds = vis.map((v) => v.caseId);
    const eventBody = JSON.stringify({ type: o.eventType, country: 'KZ', occurredAt: '2026-01-05' });
    const allSpecs: RouteSpec[] = [
      {
        name: 'live',
        label: 'GET /health/live',
        who: 'no token',
        kind: 'probe',
        method: 'GET',
        paths: ['/health/live'],
        token: null,
      },
      {
        name: 'me',
        label: 'GET /v1/me',
        who: 'caseworker',
        kind: 'probe',
        method: 'GET',
        paths: ['/v1/me'],
        token: cw,
      },
      {
        name: 'case',
        label: 'GET /v1/cases/:id',
        who: `caseworker, ${caseIds.length} cases`,
        kind: 'read',
        method: 'GET',
        paths: caseIds.map((id) => `/v1/cases/${id}`),
        token: cw,
      },
      {
        name: 'case-one',
        label: 'GET /v1/cases/:id (one case)',
        who: 'caseworker, 1 case',
        kind: 'read',
        method: 'GET',
        paths: [`/v1/cases/${caseIds[0]}`],
        token: cw,
      },
      {
        name: 'list',
        label: 'GET /v1/cases?hostCountry=KZ&status=OPEN&limit=50',
        who: 'caseworker',
        kind: 'read',
        method: 'GET',
        paths: ['/v1/cases?hostCountry=KZ&status=OPEN&limit=50'],
        token: cw,
      },
      {
        name: 'timeline',
        label: 'GET /v1/cases/:id/timeline',
        who: `caseworker, ${caseIds.length} cases`,
        kind: 'read',
        method: 'GET',
        paths: caseIds.map((id) => `/v1/cases/${id}/timeline`),
        token: cw,
      },
      {
        name: 'person',
        label: 'GET /v1/people/:id',
        who: `caseworker, ${vis.length} people`,
        kind: 'read',
        method: 'GET',
        paths: vis.map((v) => `/v1/people/${v.personId}`),
        token: cw,
      },
      {
        name: 'deadlines',
        label: 'GET /v1/me/deadlines',
        who: 'lawyer',
        kind: 'read',
        method: 'GET',
        paths: ['/v1/me/deadlines'],
        token: tokens.lawyer,
      },
      {
        name: 'stats',
        label: 'GET /v1/stats/overview',
        who: 'coordinator',
        kind: 'read',
        method: 'GET',
        paths: ['/v1/stats/overview'],
        token: tokens.coordinator,
      },
      {
        name: 'event',
        label: `POST /v1/cases/:id/events (${o.eventType})`,
        who: `caseworker, ${caseIds.length} cases`,
        kind: 'write',
        method: 'POST',
        paths: caseIds.map((id) => `/v1/cases/${id}/events`),
        token: cw,
        body: eventBody,
      },
    ];
    const specs = allSpecs.filter((s) => o.routes.includes(s.name));

    // ---- one request each on both servers: 2xx, and decrypting reads of bulk rows work ----
    for (const s of specs) {
      for (const base of [apiBase, floorBase]) {
        await expect2xx(base, s.method, s.paths[0], s.token, s.body && JSON.parse(s.body));
      }
    }
    const probe = vis.find((v) => v.legalName.startsWith('Bench Person'))!;
    const person = await expect2xx(apiBase, 'GET', `/v1/people/${probe.personId}`, cw);
    if (person.legalName !== probe.legalName) throw new Error(`bulk person decrypted to ${String(person.legalName)}`);
    const meDl = await expect2xx(apiBase, 'GET', '/v1/me/deadlines', tokens.lawyer);
    const lawyerDeadlines = (meDl.items as unknown[]).length;
    const listed = await expect2xx(apiBase, 'GET', '/v1/cases?hostCountry=KZ&status=OPEN&limit=50', cw);
    const listItems = (listed.items as unknown[]).length;
    log(`checks passed: every route answers 2xx on both servers; a bulk person decrypts through the API`);

    await sleep(2000);
    const idleRss = rss.sample();
    log(`API idle RSS ${mb(idleRss)} MB`);

    // ---- load ----
    type Result = { spec: RouteSpec; api: Run[]; floor: Run[]; apiFixed?: Run; floorFixed?: Run; rssPeak: number };
    const results: Result[] = [];
    const line = (who: string, r: Run) =>
      `${who.padEnd(22)} ${fmt(r.rps, 0).padStart(7)} req/s  p50 ${fmt(r.p50).padStart(6)} ms  ` +
      `p99 ${fmt(r.p99).padStart(6)} ms  non-2xx ${r.non2xx}  errors ${r.errors}  [${r.codes}]`;
    for (const s of specs) {
      log(`${s.label} (${s.who})`);
      if (o.warmupS > 0) {
        await load(apiBase, s, o.connections, o.warmupS);
        await load(floorBase, s, o.connections, o.warmupS);
      }
      rss.mark();
      const res: Result = { spec: s, api: [], floor: [], rssPeak: 0 };
      for (let r = 0; r < o.rounds; r++) {
        for (const [name, base, into] of [
          ['API', apiBase, res.api],
          ['floor', floorBase, res.floor],
        ] as const) {
          await sleep(300);
          const run = await load(base, s, o.connections, o.secs);
          into.push(run);
          log(`  ${line(`${name} round ${r + 1}`, run)}`);
        }
      }
      const apiMax = mean(res.api.map((r) => r.rps));
      const floorMax = mean(res.floor.map((r) => r.rps));
      await sleep(300);
      res.apiFixed = await load(apiBase, s, o.connections, o.secs, Math.max(1, Math.round(apiMax / 2)));
      log(`  ${line(`API at ${Math.round(apiMax / 2)}/s`, res.apiFixed)}`);
      await sleep(300);
      res.floorFixed = await load(floorBase, s, o.connections, o.secs, Math.max(1, Math.round(floorMax / 2)));
      log(`  ${line(`floor at ${Math.round(floorMax / 2)}/s`, res.floorFixed)}`);
      res.rssPeak = rss.phasePeak;
      results.push(res);
    }
    rss.sample();
    const peakRss = rss.peak;
    const hwm = rss.status('VmHWM');
    const afterRss = rss.status('VmRSS');
    rss.stop();

    // ---- stop, profile ----
    const stopAt = Date.now();
    await api.stop();
    await floor.stop();
    let profileLines: string[] = [];
    if (o.profileDir && existsSync(o.profileDir)) {
      // One file per thread: CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main thread
      // (requests); the others are tsx's module loader thread.
      const files = readdirSync(o.profileDir)
        .filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${api.pid}.`))
        .map((f) => path.join(o.profileDir, f))
        .filter((f) => statSync(f).mtimeMs >= stopAt - 1000);
      const main = files.find((f) => path.basename(f).includes(`.${api.pid}.0.`));
      profileLines = main
        ? summariseProfile(main)
        : [`no main-thread .cpuprofile of pid ${api.pid} in ${o.profileDir}`];
      for (const f of files.filter((x) => x !== main)) profileLines.push(`other thread: ${summariseProfile(f)[0]}`);
    }

    // ---- figures ----
    const yes = (ok: boolean) => (ok ? 'yes' : 'NO');
    const c = seeded.counts;
    const out: string[] = [];
    out.push('', '=== API request-path benchmark ===');
    out.push(`command:   npx tsx bench/api.bench.ts ${process.argv.slice(2).join(' ')}`.trimEnd());
    out.push(
      `machine:   ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}, PostgreSQL ` +
        `${pgVersion}; API, floor, PostgreSQL and autocannon share them`,
    );
    out.push(
      `data:      ${c.cases + 3} cases, ${c.events + 3} events, ${c.people + 3} people, ` +
        `${c.deadlines} bulk deadlines, ${c.users} users; bulk seed ${bulkS.toFixed(1)} s; ` +
        `caseworker sees ${vis.length} cases; lawyer has ${lawyerDeadlines} open/missed deadlines; ` +
        `list returns ${listItems}`,
    );
    out.push(
      `load:      ${o.connections} connections, ${o.secs} s per run, ${o.rounds} round(s) of API then floor after ` +
        `${o.warmupS} s warm-up each; fixed-rate runs at half of each server's own mean req/s; queues on ` +
        `${o.redisUrl ? 'Redis' : 'PostgreSQL'}; API start ${apiStartS.toFixed(1)} s`,
    );
    out.push('targets:   reads >= 0.5x floor req/s, POST event >= 0.3x; p99 <= 2x floor p99; 0 non-2xx;');
    out.push('           API p99 < 25 ms at half its max rate; API RSS idle < 120 MB, peak < 200 MB');
    out.push('');
    for (const r of results) {
      const a = mean(r.api.map((x) => x.rps));
      const f = mean(r.floor.map((x) => x.rps));
      const a99 = mean(r.api.map((x) => x.p99));
      const f99 = mean(r.floor.map((x) => x.p99));
      const a50 = mean(r.api.map((x) => x.p50));
      const f50 = mean(r.floor.map((x) => x.p50));
      const aBad = r.api.reduce((n, x) => n + x.non2xx + x.errors, 0) + (r.apiFixed!.non2xx + r.apiFixed!.errors);
      const fBad = r.floor.reduce((n, x) => n + x.non2xx + x.errors, 0) + (r.floorFixed!.non2xx + r.floorFixed!.errors);
      const rounds = (xs: Run[]) => xs.map((x) => fmt(x.rps, 0)).join(', ');
      const minRatio = r.spec.kind === 'write' ? 0.3 : 0.5;
      out.push(`${r.spec.label}  (${r.spec.who})`);
      out.push(
        `  API    ${fmt(a, 0).padStart(6)} req/s (${rounds(r.api)})  p50 ${fmt(a50)} ms  p99 ${fmt(a99)} ms  ` +
          `non-2xx+errors ${aBad}  | at ${Math.round(a / 2)}/s: p99 ${fmt(r.apiFixed!.p99)} ms ` +
          `(target < 25 ms: ${yes(r.apiFixed!.p99 < 25)})`,
      );
      out.push(
        `  floor  ${fmt(f, 0).padStart(6)} req/s (${rounds(r.floor)})  p50 ${fmt(f50)} ms  p99 ${fmt(f99)} ms  ` +
          `non-2xx+errors ${fBad}  | at ${Math.round(f / 2)}/s: p99 ${fmt(r.floorFixed!.p99)} ms`,
      );
      const probe = r.spec.kind === 'probe';
      out.push(
        `  API/floor  req/s ${fmt(a / f, 2)} ${probe ? '' : `(target >= ${minRatio}: ${yes(a / f >= minRatio)})  `}` +
          `p99 ${fmt(a99 / f99, 2)} ${probe ? '' : `(target <= 2: ${yes(a99 / f99 <= 2)})  `}` +
          `non-2xx ${aBad} (target 0: ${yes(aBad === 0)})  API RSS peak ${mb(r.rssPeak)} MB` +
          (probe ? '  (breakdown: no ratio targets)' : ''),
      );
    }
    out.push('');
    out.push('summary (means over rounds)');
    out.push(
      '  route       API req/s  floor req/s  ratio   API p99  floor p99  ratio   API p99 @half  non-2xx  targets met',
    );
    for (const r of results) {
      const a = mean(r.api.map((x) => x.rps));
      const f = mean(r.floor.map((x) => x.rps));
      const a99 = mean(r.api.map((x) => x.p99));
      const f99 = mean(r.floor.map((x) => x.p99));
      const bad = r.api.reduce((n, x) => n + x.non2xx + x.errors, 0) + r.apiFixed!.non2xx + r.apiFixed!.errors;
      const minRatio = r.spec.kind === 'write' ? 0.3 : 0.5;
      const ok = a / f >= minRatio && a99 / f99 <= 2 && bad === 0 && r.apiFixed!.p99 < 25;
      const cells = [
        r.spec.name.padEnd(10),
        fmt(a, 0).padStart(10),
        fmt(f, 0).padStart(12),
        fmt(a / f, 2).padStart(6),
        fmt(a99).padStart(9),
        fmt(f99).padStart(10),
        fmt(a99 / f99, 2).padStart(6),
        fmt(r.apiFixed!.p99).padStart(14),
        String(bad).padStart(8),
        ` ${r.spec.kind === 'probe' ? 'breakdown' : yes(ok)}`,
      ];
      out.push(`  ${cells.join(' ')}`);
    }
    out.push('');
    out.push(
      `API RSS:   at start ${mb(startRss)} MB, idle before load ${mb(idleRss)} MB ` +
        `(target < 120: ${yes(idleRss < 120 * 2 ** 20)}), peak sampled during load ` +
        `${mb(peakRss)} MB (target < 200: ${yes(peakRss < 200 * 2 ** 20)}), after load ${mb(afterRss)} MB; ` +
        `kernel high-water mark ${mb(hwm)} MB (includes start-up)`,
    );
    if (profileLines.length) out.push('', ...profileLines);
    out.push(`wall time: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    console.log(out.join('\n'));
  } catch (e) {
    for (const p of procs) {
      if (p.lines.length) {
        console.error(`--- last output of ${p.name} (pid ${p.pid}) ---\n${p.lines.slice(-40).join('\n')}`);
      }
    }
    throw e;
  } finally {
    clearTimeout(killer);
    await cleanup();
  }
}

if (process.argv.includes('--floor')) {
  floorMain().catch((e) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exit(1);
  });
}
