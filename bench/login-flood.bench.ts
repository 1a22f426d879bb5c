// Sign-in under a flood: `npx tsx bench/login-flood.bench.ts [--secs 10] [--flood 200]`.
//
// One API process (src/main.ts, ROLE=api, spawned by this script on
// 127.0.0.1; the load comes from this process over real HTTP) with the
// production argon2 parameters (64 MiB, t=12) and the default
// LOGIN_CONCURRENCY / LOGIN_QUEUE_MAX unless --concurrency / --queue say. First the other routes alone
// (GET /v1/me and GET /v1/cases/:id from 8 loops: the baseline), then the
// same loops while waves of --flood concurrent sign-ins hit /v1/auth/login
// (a quarter with the right password, on 50 accounts so the per-account
// lockout does not simply refuse them). Prints the sign-in p50/p99 and their
// statuses (200/401 verified, 503 turned away by the argon2 queue, 429), and
// the other routes' p50/p99 with and without the flood as a ratio.
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { spawn } from 'node:child_process';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db.ts';
import { migrate } from '../src/lib/migrator.ts';
import { hashPassword } from '../src/lib/passwords.ts';
import { MIGRATIONS_DIR } from '../src/lib/paths.ts';
import { randomSecretsEnv } from '../src/lib/random-secrets.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
};
const SECS = Number(arg('secs', '10'));
const FLOOD = Number(arg('flood', '200'));
const ACCOUNTS = 50;
const PASSWORD = 'bench river stone lantern';
const pct = (xs: number[], p: number) =>
  xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] : NaN;

const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const dbName = `bench_login_${randomBytes(4).toString('hex')}`;
const url = Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString();
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const guard = setTimeout(() => {
  console.error('benchmark took too long; stopping');
  process.exit(1);
}, 10 * 60_000);

try {
  await migrate(url, MIGRATIONS_DIR);
  // Production argon2 defaults (no ARGON2_* override); the per-address window
  // is lifted because every request comes from 127.0.0.1.
  const env: Record<string, string> = {
    DATABASE_URL: url,
    ...randomSecretsEnv('lf'),
    LOG_LEVEL: 'fatal',
    ROLE: 'api',
    HOST: '127.0.0.1',
    PORT: '0',
    NODE_ENV: 'production',
    LOGIN_IP_MAX_ATTEMPTS: '1000000',
    MFA_REQUIRED_ROLES: '',
    ...(arg('concurrency', '') ? { LOGIN_CONCURRENCY: arg('concurrency', '') } : {}),
    ...(arg('queue', '') ? { LOGIN_QUEUE_MAX: arg('queue', '') } : {}),
  };
  const config = loadConfig(env);
  const db = createDb(url, 4);
  const api = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /API listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    };
    api.stdout.on('data', onData);
    api.stderr.on('data', onData);
    api.once('exit', (code) => reject(new Error(`API exited (${code}): ${out.slice(-500)}`)));
  });
  console.log(
    `API pid ${api.pid} on ${base}; LOGIN_CONCURRENCY=${env.LOGIN_CONCURRENCY ?? 'default'}, ` +
      `LOGIN_QUEUE_MAX=${env.LOGIN_QUEUE_MAX ?? 'default'}`,
  );

  const hash = await hashPassword(PASSWORD, config.auth.argon2);
  const teamId = randomUUID();
  await db.team.create({ data: { id: teamId, name: 'Bench team', countries: ['AM'] } });
  const emails: string[] = [];
  for (let i = 0; i < ACCOUNTS + 1; i++) {
    const id = randomUUID();
    const email = `flood-${i}@bench.example`;
    await db.user.create({ data: { id, email, displayName: `Bench ${i}`, role: 'CASEWORKER', passwordHash: hash } });
    await db.teamMember.create({ data: { teamId, userId: id } });
    emails.push(email);
  }
  const prober = emails.pop()!;
  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const t = performance.now();
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, ms: performance.now() - t, text };
  };
  const signIn = await call('POST', '/v1/auth/login', { email: prober, password: PASSWORD });
  const token = JSON.parse(signIn.text).accessToken as string;
  const personBody = {
    pseudonym: 'B-1',
    legalName: 'Bench Person',
    dateOfBirth: '1990-01-02',
    citizenship: 'RU',
    travelDocumentStatus: 'INTERNATIONAL_VALID',
  };
  const person = JSON.parse((await call('POST', '/v1/people', personBody, token)).text);
  const created = await call('POST', '/v1/cases', { personId: person.id, teamId, hostCountry: 'AM' }, token);
  if (created.status !== 201) throw new Error(`case: ${created.status} ${created.text}`);
  const kase = JSON.parse(created.text);

  async function probe(secs: number) {
    const lat: number[] = [];
    let bad = 0;
    const until = Date.now() + secs * 1000;
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        while (Date.now() < until) {
          const r = await call('GET', i % 2 ? '/v1/me' : `/v1/cases/${kase.id}`, undefined, token);
          if (r.status !== 200) bad++;
          lat.push(r.ms);
        }
      }),
    );
    return { lat, bad };
  }

  const baseline = await probe(SECS);
  const logins: { status: number; ms: number }[] = [];
  let flooding = true;
  const flood = (async () => {
    let wave = 0;
    while (flooding) {
      await Promise.all(
        Array.from({ length: FLOOD }, async (_, i) => {
          const email = emails[(i + wave) % ACCOUNTS];
          const right = i % 4 === 0;
          const r = await call('POST', '/v1/auth/login', { email, password: right ? PASSWORD : `wrong ${i}` });
          logins.push({ status: r.status, ms: r.ms });
        }),
      );
      wave++;
      // Each account's streak is forgotten between waves so the lockout does not hide the queue's behaviour.
      await db.$executeRaw`DELETE FROM login_throttle`;
    }
  })();
  const during = await probe(SECS);
  flooding = false;
  await flood;

  const statuses: Record<number, number> = {};
  for (const l of logins) statuses[l.status] = (statuses[l.status] ?? 0) + 1;
  const verified = logins.filter((l) => l.status === 200 || l.status === 401).map((l) => l.ms);
  const refused = logins.filter((l) => l.status === 503).map((l) => l.ms);
  console.log(`sign-in flood: ${logins.length} requests in waves of ${FLOOD}; statuses ${JSON.stringify(statuses)}`);
  console.log(
    `  verified (200/401): p50 ${pct(verified, 50).toFixed(0)} ms, p99 ${pct(verified, 99).toFixed(0)} ms; ` +
      `turned away (503): p50 ${pct(refused, 50).toFixed(1)} ms`,
  );
  const b50 = pct(baseline.lat, 50);
  const b99 = pct(baseline.lat, 99);
  const d50 = pct(during.lat, 50);
  const d99 = pct(during.lat, 99);
  console.log(
    `other routes (GET /v1/me, GET /v1/cases/:id, 8 loops): alone p50 ${b50.toFixed(1)} ms p99 ${b99.toFixed(1)} ms ` +
      `(${baseline.lat.length} req, ${baseline.bad} non-200); during the flood p50 ${d50.toFixed(1)} ms ` +
      `p99 ${d99.toFixed(1)} ms (${during.lat.length} req, ${during.bad} non-200)`,
  );
  console.log(`  ratio during/alone: p50 ${(d50 / b50).toFixed(2)}x, p99 ${(d99 / b99).toFixed(2)}x`);
  api.kill('SIGTERM');
  await db.$disconnect();
} finally {
  clearTimeout(guard);
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
  await admin.end();
}
