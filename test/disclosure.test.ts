// Disclosure control against a determined reader (issue 15): the three attacks
// found on the previous code, written as an adversary that solves for the
// withheld entries of everything published (test/disclosure-adversary.ts).
// Each attack is shown to succeed with the new mechanism turned off (the
// two-per-line rule alone, a cleared query log, fresh noise), and to fail with
// it on. Then: k under the organisation's control, consistent noise, the
// epsilon budget under parallel requests, the full domain, and the config.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { EventType } from '../src/generated/prisma/enums.ts';
import { protectCube, type CubeEntry, type ProtectedEntry } from '../src/modules/stats/disclosure.ts';
import { loadHighs } from '../src/modules/stats/cube-lp.ts';
import { completeCube, domainOf } from '../src/modules/stats/domain.ts';
import { MAX_LP_VARS } from '../src/modules/stats/intervals.ts';
import { consistentNoise, countDefinition, GeometricNoise } from '../src/modules/stats/noise.ts';
import { buildEventsCubeSql, rowsToCube, withStatsTransaction, type CubeRow } from '../src/modules/stats/stats.sql.ts';
import type { Dimension } from '../src/modules/stats/stats.schemas.ts';
import { deriveRanges, deriveRangesSparse, recovered, type SeenEntry } from './disclosure-adversary.ts';
import {
  clientFor,
  createTeam,
  expectProblem,
  setupTestEnv,
  testEnvVars,
  uniq,
  type Client,
  type TestEnv,
} from './helpers.ts';
import { CASES } from './stats-fixture.ts';

let env: TestEnv;
let coord: Client;
let coord2: Client;

async function seed(cw: Client, teamId: string) {
  for (const spec of CASES) {
    const p = await cw.post('/v1/people', {
      pseudonym: `D-${spec.name}-${uniq()}`,
      legalName: `Legal ${spec.name} ${uniq()}`,
      citizenship: spec.citizenship,
      travelDocumentStatus: 'INTERNATIONAL_VALID',
    });
    expect(p.statusCode, p.body).toBe(201);
    const c = await cw.post('/v1/cases', { personId: p.json().id, teamId, hostCountry: spec.host });
    expect(c.statusCode, c.body).toBe(201);
    const caseId = c.json().id as string;
    for (const [category, mechanism] of spec.charges) {
      const ch = await cw.post(`/v1/cases/${caseId}/charges`, {
        issuingCountry: 'RU',
        code: 'RU-CC',
        article: '280',
        category,
        mechanism,
        status: 'WANTED',
      });
      expect(ch.statusCode, ch.body).toBe(201);
    }
    for (const [type, date] of spec.events) {
      const ev = await cw.post(`/v1/cases/${caseId}/events`, {
        type,
        country: spec.host,
        occurredAt: `${date}T09:30:00+00:00`,
      });
      expect(ev.statusCode, ev.body).toBe(201);
    }
  }
}

beforeAll(async () => {
  env = await setupTestEnv({ queues: true, env: { STATS_DEFAULT_K: '5', STATS_EPSILON_BUDGET: '3' } });
  const teamId = await createTeam(env, ['AM', 'GE', 'KZ']);
  const cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
  coord = await clientFor(env, 'COORDINATOR');
  coord2 = await clientFor(env, 'COORDINATOR');
  await seed(cw, teamId);
}, 120_000);
afterAll(async () => env?.close());
beforeEach(async () => {
  await env.sql('DELETE FROM stats_query_log');
  await env.sql('DELETE FROM stats_epsilon_spend');
});

type Cell = { events: number | null; cases: number | null; suppressed: boolean; suppression?: string } & Partial<
  Record<Dimension, string>
>;
type Table = { groupBy: Dimension[]; cells: Cell[]; totals: Cell[]; total: Cell };
const seen = (t: Table): SeenEntry[] =>
  [...t.cells, ...t.totals, t.total].map((c) => ({
    values: t.groupBy.map((d) => c[d] ?? null),
    events: c.events,
    ...(c.suppression ? { suppression: c.suppression } : {}),
  }));
const seenFromProtected = (entries: ProtectedEntry[]): SeenEntry[] =>
  entries.map((e) => ({
    values: e.values,
    events: e.events,
    ...(e.suppression ? { suppression: e.suppression } : {}),
  }));
const cube = (rows: [string, number, number][]): CubeEntry[] =>
  rows.map(([k, events, cases]) => ({ values: k.split('|').map((v) => (v === '*' ? null : v)), events, cases }));

/** What the table would be with the given protection, straight from the database (full domain). */
async function protectedTable(groupBy: Dimension[], k: number, intervals: boolean) {
  const { rows, domain } = await withStatsTransaction(env.db, async (run) => ({
    rows: await run<CubeRow>(buildEventsCubeSql(groupBy, {})),
    domain: await domainOf(run, groupBy, {}),
  }));
  return protectCube(completeCube(rowsToCube(rows, groupBy.length), domain), k, {
    intervals,
    // The previous code published the kind of each suppression.
    labelsPublished: !intervals,
  });
}

describe('attack 1: secondary suppression by "two per line" is not enough', () => {
  // The line: ABDUCTION=1 (primary), OTHER=5 (the smallest published,
  // withheld as secondary), DETENTION=50, total 56, k=5.
  const line = cube([
    ['ABDUCTION', 1, 1],
    ['OTHER', 5, 5],
    ['DETENTION', 50, 40],
    ['*', 56, 46],
  ]);

  it('succeeds on the previous protection: the "secondary" label gives OTHER >= 5, so ABDUCTION = 1', () => {
    const old = protectCube(line, 5, { intervals: false });
    expect(old.protection.method).toBe('two-per-line');
    expect(old.entries.filter((e) => e.suppressed).map((e) => e.values[0])).toEqual(['ABDUCTION', 'OTHER']);
    expect(recovered(seenFromProtected(old.entries), 5).get('ABDUCTION')).toBe(1);
  });

  it('fails with protection intervals, whether or not the kind of suppression is published', () => {
    for (const labelsPublished of [false, true]) {
      const res = protectCube(line, 5, { labelsPublished });
      expect(res.protection).toMatchObject({ method: 'protection-intervals', protectionPct: 50 });
      const shown = seenFromProtected(res.entries).map((e) => (labelsPublished ? e : { ...e, suppression: undefined }));
      const ranges = deriveRanges(shown, 5);
      const [lo, hi] = ranges.get('ABDUCTION')!;
      expect(hi, `labels ${labelsPublished}`).toBeGreaterThanOrEqual(5);
      expect(hi - lo).toBeGreaterThanOrEqual(1);
      expect(recovered(shown, 5).size).toBe(0);
    }
  });

  it('two primary cells alone on a line summing to 2: exactly 1 each before, a range now', () => {
    const two = cube([
      ['A', 1, 1],
      ['B', 1, 1],
      ['C', 50, 40],
      ['D', 60, 50],
      ['*', 112, 92],
    ]);
    const old = protectCube(two, 5, { intervals: false });
    expect(old.suppressed.cells.secondary).toBe(0);
    expect(recovered(seenFromProtected(old.entries), 5)).toEqual(
      new Map([
        ['A', 1],
        ['B', 1],
      ]),
    );
    const now = protectCube(two, 5);
    expect(now.protection.complementsAdded).toBe(1);
    expect(deriveRanges(seenFromProtected(now.entries), 5).get('A')![1]).toBeGreaterThanOrEqual(5);
  });

  it('on the fixture: hostCountry x type at k=5 leaked *|TRAVEL_BAN and *|ABDUCTION; the API table leaks nothing', async () => {
    const old = await protectedTable(['hostCountry', 'type'], 5, false);
    const leak = recovered(seenFromProtected(old.entries), 5);
    expect(leak.get('*|TRAVEL_BAN')).toBe(1);
    expect(leak.get('*|ABDUCTION')).toBe(1);

    for (const groupBy of ['hostCountry,type', 'type,quarter', 'hostCountry,year', 'hostCountry', 'month']) {
      const res = await coord.get(`/v1/stats/events?groupBy=${groupBy}`);
      expect(res.statusCode, res.body).toBe(200);
      const table = res.json();
      expect(table.metadata.protection.method).toBe('protection-intervals');
      // No kind is published, so the reader only knows "at least 1" of each withheld entry.
      expect(table.cells.every((c: Cell) => c.suppression === undefined)).toBe(true);
      const ranges = deriveRanges(seen(table), 5);
      for (const [k, [lo, hi]] of ranges) expect(hi - lo, `${groupBy} ${k}`).toBeGreaterThan(0);
      await env.sql('DELETE FROM stats_query_log');
    }
  });
});

describe('attack 2: differencing two queries that differ in one filter', () => {
  const total = async (q: string) => (await coord.get(`/v1/stats/events?${q}`)).json();

  it('country=AM,KZ minus country=AM gave KZ by type: refused now, naming the earlier query', async () => {
    const both = await coord.get('/v1/stats/events?groupBy=type&country=AM,KZ');
    expect(both.statusCode, both.body).toBe(200);
    const refused = await coord.get('/v1/stats/events?groupBy=type&country=AM');
    const problem = expectProblem(refused, 422, 'querystring.country');
    expect(problem.detail).toMatch(/groupBy=type&hostCountry=AM,KZ/);
    expect(refused.body).not.toMatch(/"events":\s*\d/);
    // In the other order too: the wider table is the one refused.
    await env.sql('DELETE FROM stats_query_log');
    expect((await coord.get('/v1/stats/events?groupBy=type&country=AM')).statusCode).toBe(200);
    expectProblem(await coord.get('/v1/stats/events?groupBy=type&country=AM,KZ'), 422, 'querystring.country');
    // Another coordinator is refused just the same: the log is the organisation's.
    expectProblem(await coord2.get('/v1/stats/events?groupBy=type&country=AM,KZ'), 422, 'querystring.country');
  });

  it('…and succeeds with the log turned off (cleared between the two): KZ DETENTION = 1 event', async () => {
    const both = await total('groupBy=type&country=AM,KZ');
    await env.sql('DELETE FROM stats_query_log');
    const am = await total('groupBy=type&country=AM');
    const det = (t: Table) => t.cells.find((c) => c.type === 'DETENTION')!.events!;
    expect(det(both) - det(am)).toBe(1);
  });

  it('a period boundary: from=2024-04 minus from=2024-05 isolated April 2024 (one case)', async () => {
    const april = await total('from=2024-04-01');
    expect(april.total.suppressed).toBe(false);
    const may = await coord.get('/v1/stats/events?from=2024-05-01');
    const problem = expectProblem(may, 422, 'querystring.from');
    expect(problem.detail).toMatch(/differs only in period/);
    await env.sql('DELETE FROM stats_query_log');
    const mayOff = await total('from=2024-05-01');
    expect(april.total.events - mayOff.total.events).toBe(1);
  });

  it('tables whose difference holds at least k cases are published (and logged, never with counts)', async () => {
    expect((await coord.get('/v1/stats/events?groupBy=type')).statusCode).toBe(200);
    // Differs in one filter, but every case is in one of these countries: nothing is isolated.
    const res = await coord.get('/v1/stats/events?groupBy=type&country=AM,GE,KZ');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().metadata.queryAudit.comparedWith).toBe(1);
    const log = await env.sql<{ group_by: string[]; filters: object }>(
      'SELECT group_by, filters FROM stats_query_log ORDER BY published_at',
    );
    expect(log).toEqual([
      { group_by: ['type'], filters: {} },
      { group_by: ['type'], filters: { country: ['AM', 'GE', 'KZ'] } },
    ]);
    expect(JSON.stringify(await env.sql('SELECT * FROM stats_query_log'))).not.toMatch(/"(events|cases)"/);
  });

  it('exports use the same guard: type [ABDUCTION, DETENTION] then [DETENTION] is refused', async () => {
    const post = (type: string[]) =>
      coord.post('/v1/exports', { kind: 'events-anonymised', format: 'csv', filters: { type } });
    expect((await post(['ABDUCTION', 'DETENTION'])).statusCode).toBe(202);
    const refused = await post(['DETENTION']);
    const problem = expectProblem(refused, 422, 'body.filters.type');
    expect(problem.detail).toMatch(/export published/);
    // A published table counts as an earlier publication for exports too.
    await env.sql('DELETE FROM stats_query_log');
    expect((await coord.get('/v1/stats/events?type=ABDUCTION,DETENTION')).statusCode).toBe(200);
    expectProblem(await post(['DETENTION']), 422, 'body.filters.type');
    // With the log cleared (the guard off) the second export is accepted.
    await env.sql('DELETE FROM stats_query_log');
    expect((await post(['DETENTION'])).statusCode).toBe(202);
  });
});

describe('attack 3: caller-controlled k and epsilon', () => {
  it('k below STATS_DEFAULT_K is refused naming k; more is allowed', async () => {
    expectProblem(await coord.get('/v1/stats/events?groupBy=hostCountry&k=3'), 422, 'querystring.k');
    expectProblem(await coord.get('/v1/stats/overview?k=4'), 422, 'querystring.k');
    const post = await coord.post('/v1/exports', { kind: 'events-anonymised', k: 3, filters: {} });
    expectProblem(post, 422, 'body.k');
    const more = await coord.get('/v1/stats/events?groupBy=hostCountry&k=7');
    expect(more.statusCode).toBe(200);
    expect(more.json().metadata).toMatchObject({ k: 7, kFloor: 5 });
  });

  it('fresh noise averaged away over repeats (before); consistent noise gives the same value every time', () => {
    const noise = new GeometricNoise(0.5);
    const n = 400;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += 21 + noise.sample();
    // 400 fresh draws: the mean is within ±1 of the truth (sd of the mean ~ 0.14).
    expect(Math.abs(sum / n - 21)).toBeLessThan(1);
    const key = randomBytes(32);
    const def = countDefinition({ country: ['KZ', 'AM'] }, { type: 'DETENTION' }, 'events');
    const draws = new Set(Array.from({ length: 50 }, () => consistentNoise(noise, key, def)));
    expect(draws.size).toBe(1);
    // Filter order does not matter; another definition or key gives an independent draw.
    expect(
      consistentNoise(noise, key, countDefinition({ country: ['AM', 'KZ'] }, { type: 'DETENTION' }, 'events')),
    ).toBe([...draws][0]);
    const others = Array.from({ length: 40 }, (_, i) =>
      consistentNoise(noise, key, countDefinition({}, { type: `T${i}` }, 'events')),
    );
    expect(new Set(others).size).toBeGreaterThan(1);
  });

  it('repeated noisy queries return identical values; suppression is decided on the true counts', async () => {
    const a = await coord.get('/v1/stats/events?groupBy=hostCountry,type&epsilon=0.5');
    const b = await coord.get('/v1/stats/events?groupBy=hostCountry,type&epsilon=0.5');
    expect(a.statusCode, a.body).toBe(200);
    expect(b.json().cells).toEqual(a.json().cells);
    expect(b.json().totals).toEqual(a.json().totals);
    const plain = (await coord.get('/v1/stats/events?groupBy=hostCountry,type')).json();
    expect(a.json().cells.map((c: Cell) => c.suppressed)).toEqual(plain.cells.map((c: Cell) => c.suppressed));
    // The same margin in another table gets the same noisy value.
    const oneDim = (await coord.get('/v1/stats/events?groupBy=hostCountry&epsilon=0.5')).json();
    const amMargin = a.json().totals.find((c: Cell) => c.hostCountry === 'AM' && !c.type);
    const amCell = oneDim.cells.find((c: Cell) => c.hostCountry === 'AM');
    expect(amMargin.suppressed || amCell.suppressed).toBe(false);
    expect(amCell).toEqual(amMargin);
  });

  it('the budget runs out (429, reported in the metadata), per coordinator', async () => {
    const first = await coord.get('/v1/stats/events?groupBy=type&epsilon=1');
    expect(first.json().metadata.privacyBudget).toEqual({ windowDays: 30, limit: 3, spent: 1, remaining: 2 });
    expect((await coord.get('/v1/stats/events?groupBy=type&epsilon=2')).statusCode).toBe(200);
    const over = await coord.get('/v1/stats/events?groupBy=type&epsilon=0.5');
    expectProblem(over, 429, 'querystring.epsilon');
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    // Without noise nothing is spent; another coordinator has a budget of their own.
    const plain = await coord.get('/v1/stats/events?groupBy=type');
    expect(plain.json().metadata.privacyBudget).toMatchObject({ spent: 3, remaining: 0 });
    expect((await coord2.get('/v1/stats/events?groupBy=type&epsilon=1')).statusCode).toBe(200);
  });

  it('the budget holds under parallel requests: exactly budget / epsilon of them succeed', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () => coord.get('/v1/stats/events?groupBy=type&epsilon=1')),
    );
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([200, 200, 200, 429, 429, 429, 429, 429]);
    const [row] = await env.sql<{ n: number; total: number }>(
      'SELECT count(*)::int AS n, sum(epsilon)::float8 AS total FROM stats_epsilon_spend',
    );
    expect(row).toEqual({ n: 3, total: 3 });
  });
});

describe('the full domain', () => {
  it('every event type is listed, zeros included; the grand total is unchanged', async () => {
    const res = await coord.get('/v1/stats/events?groupBy=type');
    const body = res.json();
    expect(body.cells.map((c: Cell) => c.type).sort()).toEqual(Object.values(EventType).sort());
    expect(body.cells.find((c: Cell) => c.type === 'RELEASE')).toEqual({
      type: 'RELEASE',
      events: 0,
      cases: 0,
      suppressed: false,
    });
    expect(body.metadata.fullDomain).toBe(true);
    expect(body.total).toEqual({ events: 21, cases: 13, suppressed: false });
  });

  it('periods run from the first to the last event (or the filter bounds), empty ones included', async () => {
    const body = (await coord.get('/v1/stats/events?groupBy=quarter')).json();
    expect(body.cells.map((c: Cell) => c.quarter)).toEqual([
      '2024-Q1',
      '2024-Q2',
      '2024-Q3',
      '2024-Q4',
      '2025-Q1',
      '2025-Q2',
      '2025-Q3',
    ]);
  });

  it('a table over the size limit is refused naming groupBy', async () => {
    const res = await coord.get('/v1/stats/events?groupBy=month,type,citizenship&from=1970-01-01&to=2025-12-31');
    expectProblem(res, 422, 'querystring.groupBy');
  });
});

describe('large sparse tables: components over MAX_LP_VARS are verified with HiGHS', () => {
  // A three-way table (6 x 8 x 10, every margin) where a third of the cells
  // hold 1-4 cases: hundreds of withheld entries, all in one component.
  const generated = (): CubeEntry[] => {
    let a = 20261128;
    const rnd = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const acc = new Map<string, CubeEntry>();
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j < 8; j++) {
        for (let l = 0; l < 10; l++) {
          const r = rnd();
          const n = r < 0.3 ? 0 : r < 0.65 ? 1 + Math.floor(rnd() * 4) : 5 + Math.floor(rnd() * rnd() * 200);
          const v = [`A${i}`, `B${j}`, `C${l}`];
          for (let m = 0; m < 8; m++) {
            const values = v.map((x, d) => ((m >> d) & 1 ? null : x));
            const e = acc.get(values.join('|')) ?? { values, events: 0, cases: 0 };
            acc.set(values.join('|'), { values, events: e.events + n, cases: e.cases + n });
          }
        }
      }
    }
    return [...acc.values()];
  };

  it('with neither HiGHS nor hypercubes the cells stay unverified (the test can fail)', () => {
    const dense = protectCube(generated(), 5, { hypercubes: false });
    expect(dense.protection.unverified).toBeGreaterThan(0);
  });

  it('hypercubes alone (no solver loaded) leave nothing unproven that they claim: the adversary agrees', async () => {
    const res = protectCube(generated(), 5);
    expect(res.protection.byHypercube).toBeGreaterThan(0);
    expect(res.protection.largeLpSolves).toBe(0);
    const ranges = await deriveRangesSparse(
      seenFromProtected(res.entries).map((e) => ({ ...e, suppression: undefined })),
    );
    const truth = new Map(generated().map((e) => [e.values.map((x) => x ?? '*').join('|'), e.events]));
    // Every primary cell not left unverified reaches its range.
    let checked = 0;
    for (const e of res.entries.filter((x) => x.suppression === 'primary')) {
      const key = e.values.map((x) => x ?? '*').join('|');
      const v = truth.get(key)!;
      const [, hi] = ranges.get(key)!;
      if (hi >= Math.max(5, v * 1.5) - 1e-6) checked++;
    }
    const primaries = res.entries.filter((x) => x.suppression === 'primary').length;
    expect(checked).toBeGreaterThanOrEqual(primaries - res.protection.unverified);
  });

  // Hypercubes first (the default), then HiGHS for what they leave; and HiGHS alone.
  it.each([
    { hypercubes: true, label: 'hypercubes, then HiGHS' },
    { hypercubes: false, label: 'HiGHS alone' },
  ])(
    '$label: every primary cell has its range, and a solver reading the table agrees',
    async ({ hypercubes }) => {
      const res = protectCube(generated(), 5, { largeLp: await loadHighs(), hypercubes });
      const withheld = res.entries.filter((e) => e.suppressed);
      expect(withheld.length).toBeGreaterThan(MAX_LP_VARS);
      expect(res.protection.unverified).toBe(0);
      if (hypercubes) expect(res.protection.byHypercube).toBeGreaterThan(0);
      else {
        expect(res.protection.byHypercube).toBe(0);
        expect(res.protection.largeLpSolves).toBeGreaterThan(0);
      }

      // The adversary, without the kind of suppression (not published): no
      // withheld entry is pinned, and every primary cell's range is as wide as asked.
      const ranges = await deriveRangesSparse(
        seenFromProtected(res.entries).map((e) => ({ ...e, suppression: undefined })),
      );
      const truth = new Map(generated().map((e) => [e.values.map((x) => x ?? '*').join('|'), e.events]));
      for (const [k, [lo, hi]] of ranges) expect(hi - lo, k).toBeGreaterThan(0);
      for (const e of withheld.filter((x) => x.suppression === 'primary')) {
        const k = e.values.map((x) => x ?? '*').join('|');
        const v = truth.get(k)!;
        const [lo, hi] = ranges.get(k)!;
        expect(hi, k).toBeGreaterThanOrEqual(Math.max(5, v * 1.5) - 1e-6);
        expect(hi - lo, k).toBeGreaterThanOrEqual(v - 1e-6);
      }
    },
    180_000,
  );
});

describe('roles and configuration', () => {
  it('caseworkers cannot read statistics (403) and spend nothing', async () => {
    const cw = await clientFor(env, 'CASEWORKER');
    expectProblem(await cw.get('/v1/stats/events?groupBy=type&epsilon=1'), 403);
    expect(await env.sql('SELECT * FROM stats_epsilon_spend')).toEqual([]);
  });

  it('STATS_NOISE_KEY is required and must be strong', () => {
    const base = testEnvVars('postgresql://app@127.0.0.1:5432/app');
    const problems = (vars: NodeJS.ProcessEnv) => {
      try {
        loadConfig(vars);
        return [];
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).problems;
      }
    };
    const { STATS_NOISE_KEY: _drop, ...without } = base;
    expect(problems(without).some((p) => p.startsWith('STATS_NOISE_KEY'))).toBe(true);
    expect(problems({ ...base, STATS_NOISE_KEY: Buffer.alloc(32).toString('base64') })).toEqual([
      expect.stringMatching(/STATS_NOISE_KEY is weak/),
    ]);
    expect(loadConfig(base).stats).toMatchObject({ defaultK: 5, protectionPct: 50, epsilonBudget: 10 });
  });
});
