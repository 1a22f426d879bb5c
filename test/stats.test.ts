// Statistics: hand-computed fixtures for every groupBy, suppression and
// secondary suppression (with an attempt to recover suppressed cells from the
// totals), the k floor, geometric noise, CSV, the overview, the SVG chart,
// roles, and that nothing identifying leaves in any output.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { csvCell, csvRow, csvStream } from '../src/lib/csv.ts';
import { GeometricNoise, protectCube, type CubeEntry, type ProtectedEntry } from '../src/modules/stats/disclosure.ts';
import { buildEventsCubeSql, rowsToCube, runStatsQuery } from '../src/modules/stats/stats.sql.ts';
import { EventType, type DeadlineStatus } from '../src/generated/prisma/enums.ts';
import type { Dimension } from '../src/modules/stats/stats.schemas.ts';
import {
  clientFor,
  createTeam,
  expectNoSecrets as expectNoneOf,
  expectProblem,
  setupTestEnv,
  uniq,
  type Client,
  type TestEnv,
} from './helpers.ts';
import { CASES, CIS } from './stats-fixture.ts';

// ---------------------------------------------------------------------------
// Fixture: 13 cases, 21 events, every identifying field filled with a marker
// that must never appear in any statistics output.
//
//  case  host  citizenship  charges (category/mechanism)                 events
//  A1    AM    RU           EXTREMISM/CIS                                DETENTION 2024-02-10, COURT_HEARING 2024-04-03, THREAT 2025-01-15
//  A2    AM    RU           EXTREMISM/CIS                                DETENTION 2024-02-10, COURT_HEARING 2024-05-03, THREAT 2025-05-15
//  A3    AM    RU           EXTREMISM/CIS                                DETENTION 2024-02-10, COURT_HEARING 2024-06-03, THREAT 2025-09-15
//  A4    AM    RU           EXTREMISM/CIS                                DETENTION 2024-02-10
//  A5    AM    RU           FAKES/DOMESTIC                               DETENTION 2024-02-10
//  A6    AM    RU+BY        EXTREMISM/INTERPOL_RED_NOTICE, FAKES/DOMESTIC DETENTION 2024-02-10
//  G1    GE    BY           -                                            DETENTION 2024-03-15, DETENTION 2024-03-20, TRAVEL_BAN 2025-01-20
//  G2    GE    BY           -                                            DETENTION 2024-03-15
//  G3    GE    BY           DISCREDITING_ARMY/DOMESTIC                   DETENTION 2024-03-15
//  G4    GE    RU           DISCREDITING_ARMY/DOMESTIC                   DETENTION 2024-03-15
//  G5    GE    RU           DISCREDITING_ARMY/DOMESTIC                   DETENTION 2024-03-15
//  K1    KZ    RU           TERRORISM/CIS                                DETENTION 2024-02-01
//  K2    KZ    RU           -                                            ABDUCTION 2025-07-01
// ---------------------------------------------------------------------------

/** Every string that identifies someone or is free text; none may appear in any output. */
const secrets: string[] = [];

async function seedFixture(cw: Client, teamId: string) {
  const run = uniq();
  for (const spec of CASES) {
    const legalName = `Legalname ${spec.name} Zzq${run}`;
    const pseudonym = `Pseudo-${spec.name}-${run}`;
    const p = await cw.post('/v1/people', {
      pseudonym,
      legalName,
      dateOfBirth: '1988-03-04',
      citizenship: spec.citizenship,
      travelDocumentStatus: 'INTERNATIONAL_VALID',
      notes: `Notes ${run} about ${spec.name}`,
    });
    expect(p.statusCode, p.body).toBe(201);
    const c = await cw.post('/v1/cases', {
      personId: p.json().id,
      teamId,
      hostCountry: spec.host,
      summary: `Summary freetext ${spec.name} ${run}`,
    });
    expect(c.statusCode, c.body).toBe(201);
    const caseId = c.json().id as string;
    secrets.push(
      legalName,
      pseudonym,
      `Notes ${run}`,
      `Summary freetext ${spec.name} ${run}`,
      c.json().reference,
      caseId,
      p.json().id,
    );
    for (const [category, mechanism] of spec.charges) {
      const ch = await cw.post(`/v1/cases/${caseId}/charges`, {
        issuingCountry: 'RU',
        code: 'RU-CC',
        article: `280.${run}`,
        category,
        mechanism,
        status: 'WANTED',
      });
      expect(ch.statusCode, ch.body).toBe(201);
    }
    for (const [i, [type, date]] of spec.events.entries()) {
      const city = `Cityname${spec.name}${i}x${run}`;
      const ev = await cw.post(`/v1/cases/${caseId}/events`, {
        type,
        country: spec.host,
        occurredAt: `${date}T09:30:00+00:00`,
        city,
        authority: `Authority ${run}`,
        legalBasis: `Basis ${run}`,
        outcome: `Outcome freetext ${run}`,
        details: `Details freetext ${spec.name} ${run}`,
        sourceUrls: [`https://news.example.org/${run}/${spec.name}`],
      });
      expect(ev.statusCode, ev.body).toBe(201);
      secrets.push(
        city,
        `Authority ${run}`,
        `Basis ${run}`,
        `Outcome freetext ${run}`,
        `Details freetext ${spec.name} ${run}`,
        `news.example.org/${run}`,
        ev.json().id,
      );
    }
  }
}

/** None of this fixture's secrets, no fragment of its free text, no id (see helpers.ts). */
const expectNoSecrets = (label: string, body: string) => expectNoneOf(label, body, secrets);

type Cell = { events: number | null; cases: number | null; suppressed: boolean; suppression?: string } & Partial<
  Record<Dimension, string>
>;

/** The raw (unprotected) cube straight from the SQL, as { 'AM|DETENTION': [events, cases] } with '*' for a total. */
async function rawCube(env: TestEnv, groupBy: Dimension[]) {
  const rows = await runStatsQuery<Parameters<typeof rowsToCube>[0][number]>(env.db, buildEventsCubeSql(groupBy, {}));
  const cube = rowsToCube(rows, groupBy.length);
  return Object.fromEntries(cube.map((e) => [e.values.map((v) => v ?? '*').join('|'), [e.events, e.cases]]));
}

/** Only the cells (no totals) of a raw cube. */
const cellsOf = (cube: Record<string, number[]>) =>
  Object.fromEntries(Object.entries(cube).filter(([k]) => !k.split('|').includes('*')));

let env: TestEnv;
let coord: Client;
let teamId: string;

beforeAll(async () => {
  // The tables below are hand-computed at k=3 and k=5: the organisation's
  // floor (STATS_DEFAULT_K) is 3 here, so both may be asked for.
  env = await setupTestEnv({ env: { STATS_DEFAULT_K: '3', STATS_EPSILON_BUDGET: '1000' } });
  teamId = await createTeam(env, ['AM', 'GE', 'KZ']);
  const cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
  coord = await clientFor(env, 'COORDINATOR');
  await seedFixture(cw, teamId);
}, 120_000);
afterAll(async () => env?.close());
// Each test here reads tables on its own; auditing across requests (which
// refuses a table differing from an earlier one in a single filter) and the
// epsilon budget have their own suite, test/disclosure.test.ts.
beforeEach(async () => {
  await env.sql('DELETE FROM stats_query_log');
  await env.sql('DELETE FROM stats_epsilon_spend');
});

describe('SQL counts, hand-computed for every groupBy', () => {
  it('hostCountry', async () => {
    expect(await rawCube(env, ['hostCountry'])).toEqual({ AM: [12, 6], GE: [7, 5], KZ: [2, 2], '*': [21, 13] });
  });
  it('type', async () => {
    expect(await rawCube(env, ['type'])).toEqual({
      DETENTION: [13, 12],
      COURT_HEARING: [3, 3],
      THREAT: [3, 3],
      TRAVEL_BAN: [1, 1],
      ABDUCTION: [1, 1],
      '*': [21, 13],
    });
  });
  it('year (UTC)', async () => {
    expect(await rawCube(env, ['year'])).toEqual({ '2024': [16, 12], '2025': [5, 5], '*': [21, 13] });
  });
  it('quarter', async () => {
    expect(await rawCube(env, ['quarter'])).toEqual({
      '2024-Q1': [13, 12],
      '2024-Q2': [3, 3],
      '2025-Q1': [2, 2],
      '2025-Q2': [1, 1],
      '2025-Q3': [2, 2],
      '*': [21, 13],
    });
  });
  it('month', async () => {
    expect(await rawCube(env, ['month'])).toEqual({
      '2024-02': [7, 7],
      '2024-03': [6, 5],
      '2024-04': [1, 1],
      '2024-05': [1, 1],
      '2024-06': [1, 1],
      '2025-01': [2, 2],
      '2025-05': [1, 1],
      '2025-07': [1, 1],
      '2025-09': [1, 1],
      '*': [21, 13],
    });
  });
  it('citizenship: a dual citizen counts once in each, once in the total', async () => {
    expect(await rawCube(env, ['citizenship'])).toEqual({ RU: [16, 10], BY: [6, 4], '*': [21, 13] });
  });
  it("mechanism: once per distinct value of the case's charges", async () => {
    expect(await rawCube(env, ['mechanism'])).toEqual({
      CIS_INTERSTATE_SEARCH: [11, 5],
      DOMESTIC: [5, 5],
      INTERPOL_RED_NOTICE: [1, 1],
      NO_CHARGE_RECORDED: [5, 3],
      '*': [21, 13],
    });
  });
  it('chargeCategory', async () => {
    expect(await rawCube(env, ['chargeCategory'])).toEqual({
      EXTREMISM: [11, 5],
      FAKES: [2, 2],
      DISCREDITING_ARMY: [3, 3],
      TERRORISM: [1, 1],
      NO_CHARGE_RECORDED: [5, 3],
      '*': [21, 13],
    });
  });
  it('mechanism x chargeCategory pairs come from the same charge (no EXTREMISM/DOMESTIC for A6)', async () => {
    expect(cellsOf(await rawCube(env, ['mechanism', 'chargeCategory']))).toEqual({
      [`${CIS}|EXTREMISM`]: [10, 4],
      'DOMESTIC|FAKES': [2, 2],
      'INTERPOL_RED_NOTICE|EXTREMISM': [1, 1],
      'DOMESTIC|DISCREDITING_ARMY': [3, 3],
      [`${CIS}|TERRORISM`]: [1, 1],
      'NO_CHARGE_RECORDED|NO_CHARGE_RECORDED': [5, 3],
    });
  });
  it('hostCountry x type, with every margin', async () => {
    expect(await rawCube(env, ['hostCountry', 'type'])).toEqual({
      'AM|DETENTION': [6, 6],
      'AM|COURT_HEARING': [3, 3],
      'AM|THREAT': [3, 3],
      'GE|DETENTION': [6, 5],
      'GE|TRAVEL_BAN': [1, 1],
      'KZ|DETENTION': [1, 1],
      'KZ|ABDUCTION': [1, 1],
      'AM|*': [12, 6],
      'GE|*': [7, 5],
      'KZ|*': [2, 2],
      '*|DETENTION': [13, 12],
      '*|COURT_HEARING': [3, 3],
      '*|THREAT': [3, 3],
      '*|TRAVEL_BAN': [1, 1],
      '*|ABDUCTION': [1, 1],
      '*|*': [21, 13],
    });
  });
  it('three dimensions (hostCountry x type x quarter) agree with their margins', async () => {
    const cube = await rawCube(env, ['hostCountry', 'type', 'quarter']);
    expect(cube['AM|COURT_HEARING|2024-Q2']).toEqual([3, 3]);
    expect(cube['GE|DETENTION|2024-Q1']).toEqual([6, 5]);
    expect(cube['AM|*|*']).toEqual([12, 6]);
    expect(cube['*|THREAT|*']).toEqual([3, 3]);
    expect(cube['*|*|2025-Q3']).toEqual([2, 2]);
    expect(cube['*|*|*']).toEqual([21, 13]);
  });
  it('filters: from/to (dates inclusive), country, type, team', async () => {
    expect(cellsOf(await rawCubeFiltered(['hostCountry'], { from: '2024-03-15', to: '2024-06-03' }))).toEqual({
      AM: [3, 3],
      GE: [6, 5],
    });
    expect(cellsOf(await rawCubeFiltered(['type'], { country: ['KZ'] }))).toEqual({
      DETENTION: [1, 1],
      ABDUCTION: [1, 1],
    });
    expect(cellsOf(await rawCubeFiltered(['hostCountry'], { type: ['THREAT', 'TRAVEL_BAN'] }))).toEqual({
      AM: [3, 3],
      GE: [1, 1],
    });
    expect(cellsOf(await rawCubeFiltered(['hostCountry'], { team: [randomUUID()] }))).toEqual({});
    expect((await rawCubeFiltered(['hostCountry'], { team: [teamId] }))['*']).toEqual([21, 13]);
  });
});

async function rawCubeFiltered(groupBy: Dimension[], filters: Parameters<typeof buildEventsCubeSql>[1]) {
  const rows = await runStatsQuery<Parameters<typeof rowsToCube>[0][number]>(
    env.db,
    buildEventsCubeSql(groupBy, filters),
  );
  return Object.fromEntries(
    rowsToCube(rows, groupBy.length).map((e) => [e.values.map((v) => v ?? '*').join('|'), [e.events, e.cases]]),
  );
}

// ---------------------------------------------------------------------------
// An attacker with the published table: every line (row or column with its
// total) is a linear equation; solve any line with exactly one unknown and
// repeat. Returns the entries recovered that way.
// ---------------------------------------------------------------------------
function recoverFromTotals(entries: { values: (string | null)[]; events: number | null }[]): Map<string, number> {
  const key = (v: (string | null)[]) => v.map((x) => x ?? '*').join('|');
  const known = new Map<string, number>();
  for (const e of entries) if (e.events !== null) known.set(key(e.values), e.events);
  const recovered = new Map<string, number>();
  const dims = entries[0].values.length;
  for (let changed = true; changed;) {
    changed = false;
    for (let d = 0; d < dims; d++) {
      const lines = new Map<string, typeof entries>();
      for (const e of entries) {
        const lk = key(e.values.map((v, i) => (i === d ? '#' : v)));
        lines.set(lk, [...(lines.get(lk) ?? []), e]);
      }
      for (const line of lines.values()) {
        const total = line.find((e) => e.values[d] === null);
        const parts = line.filter((e) => e.values[d] !== null);
        if (!total) continue;
        const unknown = line.filter((e) => !known.has(key(e.values)));
        if (unknown.length !== 1) continue;
        const u = unknown[0];
        const sumKnownParts = parts.filter((p) => p !== u).reduce((s, p) => s + known.get(key(p.values))!, 0);
        const value = u === total ? sumKnownParts : known.get(key(total.values))! - sumKnownParts;
        known.set(key(u.values), value);
        recovered.set(key(u.values), value);
        changed = true;
      }
    }
  }
  return recovered;
}

/** The API's cells and totals back in cube form (values per groupBy dimension, null = summed over). */
function asCube(body: { groupBy: Dimension[]; cells: Cell[]; totals: Cell[]; total: Cell }) {
  return [...body.cells, ...body.totals, body.total].map((c) => ({
    values: body.groupBy.map((d) => c[d] ?? null),
    events: c.events,
    cases: c.cases,
    suppressed: c.suppressed,
    suppression: c.suppression,
  }));
}

describe('GET /v1/stats/events: suppression', () => {
  it('suppresses cells under k (as suppressed, not 0) and protects them from the totals (1-D, default k=5)', async () => {
    const res = await coord.get('/v1/stats/events?groupBy=hostCountry&k=5');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.label).toBe('documented cases');
    // The kind of each suppression is no longer published ("secondary" alone
    // told a reader that GE holds at least k, so KZ <= 9 - 5); the metadata counts them.
    expect(body.cells).toEqual([
      { hostCountry: 'AM', events: 12, cases: 6, suppressed: false },
      { hostCountry: 'GE', events: null, cases: null, suppressed: true },
      { hostCountry: 'KZ', events: null, cases: null, suppressed: true },
    ]);
    // Totals are computed before suppression and include the suppressed cells.
    expect(body.total).toEqual({ events: 21, cases: 13, suppressed: false });
    expect(body.metadata).toMatchObject({
      k: 5,
      epsilon: null,
      noise: null,
      groupBy: ['hostCountry'],
      suppressedCells: { primary: 1, secondary: 1, total: 2 },
      suppressedTotals: { primary: 0, secondary: 0, total: 0 },
      totalsIncludeSuppressed: true,
      label: 'documented cases',
    });
    expect(body.metadata.note).toMatch(/not how often/);
    expect(Date.parse(body.metadata.generatedAt)).toBeGreaterThan(Date.now() - 60_000);

    // The attack: total minus the published cells. KZ alone would be 21 - 12 - 7 = 2;
    // with GE withheld too, only GE + KZ = 9 is known.
    const cube = asCube(body);
    expect(recoverFromTotals(cube).size).toBe(0);
    // Without the secondary suppression the same attack succeeds (the check can fail).
    const primaryOnly = cube.map((e) => (e.values[0] === 'GE' ? { ...e, events: 7 } : e));
    expect(recoverFromTotals(primaryOnly).get('KZ')).toBe(2);
  });

  it('2-D hostCountry x type (k=3): exact pattern, and no suppressed cell or total can be recovered', async () => {
    const res = await coord.get('/v1/stats/events?groupBy=hostCountry,type&k=3');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    // Every combination is listed (zeros included): only the non-zero ones are spelled out here.
    const shown = Object.fromEntries(
      asCube(body)
        .filter((e) => e.suppressed || e.events !== 0)
        .map((e) => [e.values.map((v) => v ?? '*').join('|'), e.suppressed ? 'withheld' : [e.events, e.cases]]),
    );
    expect(asCube(body)).toHaveLength(4 * (Object.keys(EventType).length + 1));
    // Before protection intervals *|DETENTION was published, and with it
    // *|TRAVEL_BAN + *|ABDUCTION = 21 - 13 - 3 - 3 = 2: both exactly 1 (each
    // withheld cell is at least 1). Withholding *|DETENTION is the one change.
    expect(shown).toEqual({
      'AM|DETENTION': [6, 6],
      'AM|COURT_HEARING': [3, 3],
      'AM|THREAT': [3, 3],
      'GE|DETENTION': 'withheld',
      'GE|TRAVEL_BAN': 'withheld',
      'KZ|DETENTION': 'withheld',
      'KZ|ABDUCTION': 'withheld',
      'AM|*': [12, 6],
      'GE|*': 'withheld',
      'KZ|*': 'withheld',
      '*|DETENTION': 'withheld',
      '*|COURT_HEARING': [3, 3],
      '*|THREAT': [3, 3],
      '*|TRAVEL_BAN': 'withheld',
      '*|ABDUCTION': 'withheld',
      '*|*': [21, 13],
    });
    expect(body.metadata.suppressedCells).toEqual({ primary: 3, secondary: 1, total: 4 });
    expect(body.metadata.suppressedTotals).toEqual({ primary: 3, secondary: 2, total: 5 });
    expect(body.metadata.protection).toEqual({
      method: 'protection-intervals',
      protectionPct: 50,
      complementsAdded: 1,
      unverifiedCells: 0,
      hypercubeCells: 0,
    });
    expect(recoverFromTotals(asCube(body)).size).toBe(0);
  });

  it('3-D (hostCountry x type x quarter): no line is left with a single suppressed entry', async () => {
    const res = await coord.get('/v1/stats/events?groupBy=hostCountry,type,quarter&k=3');
    expect(res.statusCode, res.body).toBe(200);
    const cube = asCube(res.json());
    expect(recoverFromTotals(cube).size).toBe(0);
    // AM|COURT_HEARING|2024-Q2 (3) used to be published; with it (and AM's
    // margins), AM's three 2025 quarters, primary cells each, added up to
    // exactly 3 events: each exactly 1. It is withheld now; AM's 2024-Q1
    // detentions stay published.
    expect(cube.find((e) => e.values.join('|') === 'AM|DETENTION|2024-Q1')).toMatchObject({
      events: 6,
      cases: 6,
      suppressed: false,
    });
    expect(cube.find((e) => e.values.join('|') === 'AM|COURT_HEARING|2024-Q2')).toMatchObject({ suppressed: true });
  });

  it('every groupBy answers with suppressed cells under k and totals that include them', async () => {
    for (const groupBy of ['type', 'year', 'quarter', 'month', 'citizenship', 'mechanism', 'chargeCategory']) {
      const res = await coord.get(`/v1/stats/events?groupBy=${groupBy}&k=5`);
      expect(res.statusCode, `${groupBy}: ${res.body}`).toBe(200);
      const body = res.json();
      expect(body.total, groupBy).toEqual({ events: 21, cases: 13, suppressed: false });
      for (const c of body.cells) {
        if (c.suppressed) expect(c, groupBy).toMatchObject({ events: null, cases: null });
        // Zeros are published: the table lists every value of the dimension.
        else if (c.cases !== 0) expect(c.cases, groupBy).toBeGreaterThanOrEqual(5);
      }
      expect(body.cells.filter((c: Cell) => c.suppressed).length, groupBy).not.toBe(1);
    }
    // year: 2025 has 5 cases (shown at k=5); 2024 too: nothing to hide.
    expect((await coord.get('/v1/stats/events?groupBy=year&k=5')).json().cells).toEqual([
      { year: '2024', events: 16, cases: 12, suppressed: false },
      { year: '2025', events: 5, cases: 5, suppressed: false },
    ]);
    // citizenship at k=5: BY (4 cases) primary, RU secondary (else RU = 21 - BY, give or take the dual citizen).
    const cz = (await coord.get('/v1/stats/events?groupBy=citizenship&k=5')).json();
    expect(cz.cells.filter((c: Cell) => c.citizenship === 'BY' || c.citizenship === 'RU')).toEqual([
      { citizenship: 'BY', events: null, cases: null, suppressed: true },
      { citizenship: 'RU', events: null, cases: null, suppressed: true },
    ]);
    expect(cz.metadata.suppressedCells).toEqual({ primary: 1, secondary: 1, total: 2 });
    // type at k=5: three small types hide each other; no secondary needed.
    const types = (await coord.get('/v1/stats/events?groupBy=type&k=5')).json();
    expect(types.cells.find((c: Cell) => c.type === 'DETENTION')).toEqual({
      type: 'DETENTION',
      events: 13,
      cases: 12,
      suppressed: false,
    });
    expect(types.metadata.suppressedCells).toEqual({ primary: 4, secondary: 0, total: 4 });
  });

  it("thresholds on distinct cases, not events: one person's many events stay hidden", async () => {
    // GE x DETENTION has 6 events but 5 cases: shown at k=5 only when >= 5 cases.
    const at6 = (await coord.get('/v1/stats/events?groupBy=hostCountry,type&k=6')).json();
    expect(at6.cells.find((c: Cell) => c.hostCountry === 'GE' && c.type === 'DETENTION')).toMatchObject({
      suppressed: true,
      events: null,
    });
  });

  it('no groupBy: the grand total only', async () => {
    const res = await coord.get('/v1/stats/events');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      groupBy: [],
      cells: [],
      totals: [],
      total: { events: 21, cases: 13, suppressed: false },
    });
    const small = (await coord.get('/v1/stats/events?country=KZ')).json();
    expect(small.total).toEqual({ events: null, cases: null, suppressed: true });
  });

  it('reports the filters it applied', async () => {
    const res = await coord.get(`/v1/stats/events?groupBy=type&from=2024-01-01&to=2024-12-31&team=${teamId}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().metadata.filters).toEqual({ from: '2024-01-01', to: '2024-12-31', teamId: [teamId] });
    expect(res.json().cells.find((c: Cell) => c.type === 'DETENTION')).toBeDefined();
  });

  it('widens date bounds to whole months, so periods a day apart cannot be subtracted', async () => {
    const a = (await coord.get('/v1/stats/events?from=2024-03-15&to=2024-06-03')).json();
    const b = (await coord.get('/v1/stats/events?from=2024-03-16T08:00:00Z&to=2024-06-02')).json();
    expect(a.metadata.filters).toEqual({ from: '2024-03-01', to: '2024-06-30' });
    expect(b.metadata.filters).toEqual({ from: '2024-03-01', to: '2024-06-30' });
    expect(b.total).toEqual(a.total);
  });

  it('refuses a list filter that leaves out between 1 and k-1 cases (differencing against the unfiltered figure)', async () => {
    // "AM and GE" vs everything differs by the KZ case(s) alone: subtracting would reveal them.
    const all = (await coord.get('/v1/stats/events')).json().total;
    expect(all.suppressed).toBe(false);
    const res = await coord.get('/v1/stats/events?country=AM,GE');
    expectProblem(res, 422, 'querystring.country');
    expect(res.json().errors.map((e: { path: string }) => e.path)).toEqual(['querystring.country']);
    expect(res.body).not.toMatch(/"events":\s*\d/);
    const types = await coord.get('/v1/stats/events?type=DETENTION');
    expectProblem(types, 422, 'querystring.type');
  });
});

describe('GET /v1/stats/events: validation and roles', () => {
  it('k below 3 is refused naming querystring.k', async () => {
    for (const k of ['1', '2', '0', '-5', '2.5']) {
      expectProblem(await coord.get(`/v1/stats/events?groupBy=hostCountry&k=${k}`), 400, 'querystring.k');
    }
    expectProblem(await coord.get('/v1/stats/overview?k=2'), 400, 'querystring.k');
  });

  it('unknown groupBy values, more than three dimensions and bad filters are refused', async () => {
    const bad = [
      'groupBy=legalName',
      'groupBy=hostCountry;DROP TABLE events',
      'groupBy=hostCountry,type,year,month',
      'country=Armenia',
      'type=KIDNAPPING',
      'team=not-a-uuid',
      'from=yesterday',
      'epsilon=0',
      'format=xlsx',
      'unknown=1',
    ];
    for (const q of bad) {
      expectProblem(await coord.get(`/v1/stats/events?${q}`), 400);
    }
    const res = await coord.get('/v1/stats/events?groupBy=legalName');
    expectProblem(res, 400, 'querystring.groupBy');
    expect(res.json().errors[0].path).toBe('querystring.groupBy');
  });

  it('caseworkers and lawyers get 403, anonymous callers 401, admins 200', async () => {
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
    const lawyer = await clientFor(env, 'LAWYER');
    const admin = await clientFor(env, 'ADMIN');
    for (const url of [
      '/v1/stats/events?groupBy=hostCountry',
      '/v1/stats/events/chart.svg?groupBy=quarter',
      '/v1/stats/overview',
    ]) {
      expectProblem(await cw.get(url), 403);
      expectProblem(await lawyer.get(url), 403);
      expectProblem(await env.app.inject({ url }), 401);
      expect((await admin.get(url)).statusCode, url).toBe(200);
    }
  });
});

describe('geometric noise', () => {
  it('draws integers, unbiased, with the stated spread', () => {
    const noise = new GeometricNoise(0.5);
    const n = 20_000;
    let sum = 0;
    let sumSq = 0;
    let within = 0;
    const bound = noise.bound(0.95);
    for (let i = 0; i < n; i++) {
      const x = noise.sample();
      expect(Number.isInteger(x)).toBe(true);
      sum += x;
      sumSq += x * x;
      if (Math.abs(x) <= bound) within++;
    }
    const mean = sum / n;
    const variance = sumSq / n - mean * mean;
    // Standard error of the mean is sqrt(var / n) ~ 0.028 here; 5 of them is far outside chance.
    expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(noise.variance / n));
    expect(variance / noise.variance).toBeGreaterThan(0.9);
    expect(variance / noise.variance).toBeLessThan(1.1);
    expect(within / n).toBeGreaterThanOrEqual(0.94);
    expect(noise.describe()).toMatchObject({ epsilon: 0.5, sensitivity: 1, scale: 2, bound95: bound });
    expect(noise.alpha).toBeCloseTo(Math.exp(-0.5), 12);
  });

  it('is symmetric: P(X = x) matches alpha^|x| (1 - alpha) / (1 + alpha)', () => {
    const noise = new GeometricNoise(1);
    const a = noise.alpha;
    const n = 20_000;
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const x = noise.sample();
      counts.set(x, (counts.get(x) ?? 0) + 1);
    }
    for (const x of [-2, -1, 0, 1, 2]) {
      const p = (a ** Math.abs(x) * (1 - a)) / (1 + a);
      const sd = Math.sqrt((p * (1 - p)) / n);
      expect(Math.abs((counts.get(x) ?? 0) / n - p), `x=${x}`).toBeLessThan(5 * sd);
    }
  });

  it('the API adds it on request and says so in the metadata; counts stay integers', async () => {
    const res = await coord.get('/v1/stats/events?groupBy=hostCountry,type&k=3&epsilon=1');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.metadata.epsilon).toBe(1);
    expect(body.metadata.noise).toMatchObject({
      mechanism: expect.stringMatching(/geometric/),
      epsilon: 1,
      randomSource: expect.stringMatching(/HMAC-SHA-256/),
    });
    const entries: Cell[] = [...body.cells, ...body.totals, body.total];
    // Every combination and margin, each either withheld or a noisy integer.
    // Suppression is decided on the true counts (before noise): the same
    // entries are withheld as without noise.
    const plain = (await coord.get('/v1/stats/events?groupBy=hostCountry,type&k=3')).json();
    const plainEntries: Cell[] = [...plain.cells, ...plain.totals, plain.total];
    expect(entries).toHaveLength(plainEntries.length);
    expect(entries.map((c) => c.suppressed)).toEqual(plainEntries.map((c) => c.suppressed));
    for (const c of entries) {
      if (c.suppressed) {
        expect(c).toMatchObject({ events: null, cases: null });
      } else {
        expect(Number.isInteger(c.events)).toBe(true);
        expect(c.cases).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('protectCube refuses k < 3', () => {
    const cube: CubeEntry[] = [{ values: [], events: 10, cases: 10 }];
    expect(() => protectCube(cube, 2)).toThrow();
    expect(protectCube(cube, 3).entries[0]).toEqual<ProtectedEntry>({
      values: [],
      events: 10,
      cases: 10,
      suppressed: false,
    });
  });
});

describe('CSV', () => {
  it('csvCell: RFC 4180 quoting and formula-injection prefixes', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-1+2')).toBe("'-1+2");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('\rx')).toBe(`"'\rx"`);
    expect(csvCell(-3)).toBe('-3');
    expect(csvCell(null)).toBe('');
    expect(csvCell('Ünïcødé ✓')).toBe('Ünïcødé ✓');
    expect(csvRow(['a', 1, true, null])).toBe('a,1,true,\r\n');
  });

  it('csvStream pulls rows lazily (backpressure) and emits UTF-8', async () => {
    let produced = 0;
    function* rows() {
      for (let i = 0; i < 50_000; i++) {
        produced++;
        yield [`row-${i}`, i];
      }
    }
    const stream = csvStream(['name', 'n'], rows(), 1024);
    // Nothing is generated before someone reads.
    expect(produced).toBe(0);
    let bytes = 0;
    let first = '';
    await pipeline(
      stream,
      new Writable({
        highWaterMark: 1024,
        write(chunk: Buffer, _enc, cb) {
          if (!first) first = chunk.toString('utf8');
          bytes += chunk.length;
          setImmediate(cb);
        },
      }),
    );
    expect(produced).toBe(50_000);
    expect(first.startsWith('name,n\r\nrow-0,0\r\n')).toBe(true);
    expect(bytes).toBeGreaterThan(50_000 * 8);
  });

  it('format=csv: the same table, header row, CRLF, metadata in a header', async () => {
    const json = (await coord.get('/v1/stats/events?groupBy=hostCountry,type&k=3')).json();
    const res = await coord.get('/v1/stats/events?groupBy=hostCountry,type&k=3&format=csv');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    const lines = res.body.split('\r\n');
    expect(lines.pop()).toBe('');
    expect(lines[0]).toBe('hostCountry,type,events,cases,suppressed,suppression,row');
    expect(lines).toContain('AM,DETENTION,6,6,false,,cell');
    expect(lines).toContain('GE,DETENTION,,,true,,cell');
    expect(lines).toContain('AM,ALL,12,6,false,,total');
    expect(lines).toContain('ALL,ALL,21,13,false,,total');
    expect(lines.length - 1).toBe(json.cells.length + json.totals.length + 1);
    const meta = JSON.parse(String(res.headers['x-stats-metadata']));
    expect(meta).toMatchObject({ k: 3, label: 'documented cases', suppressedCells: { primary: 3, secondary: 1 } });
  });
});

// A strict little XML reader: well-formedness (balanced tags, quoted
// attributes, known entities), and the elements with their attributes.
function parseXml(xml: string) {
  const elements: { name: string; attrs: Record<string, string>; text: string }[] = [];
  const stack: { name: string; attrs: Record<string, string>; text: string }[] = [];
  const token =
    /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<\/([A-Za-z_][\w:.-]*)\s*>|<([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < xml.length && (m = token.exec(xml))) {
    pos = token.lastIndex;
    if (m[1]) {
      const open = stack.pop();
      if (!open || open.name !== m[1]) throw new Error(`mismatched </${m[1]}>`);
    } else if (m[2]) {
      const attrs: Record<string, string> = {};
      for (const a of m[3].matchAll(/([A-Za-z_][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        if (a[1] in attrs) throw new Error(`duplicate attribute ${a[1]}`);
        attrs[a[1]] = a[2] ?? a[3];
      }
      const el = { name: m[2], attrs, text: '' };
      elements.push(el);
      if (!m[4]) stack.push(el);
    } else if (m[5]) {
      if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(m[5])) throw new Error('bad entity');
      if (stack.length) stack[stack.length - 1].text += m[5];
    }
  }
  if (pos !== xml.length) throw new Error(`not well-formed at ${pos}`);
  if (stack.length) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
  return elements;
}

describe('GET /v1/stats/events/chart.svg', () => {
  it('renders a well-formed SVG from the suppressed table only', async () => {
    // quarter x hostCountry used to show AM 2024-Q2 (3) and AM 2024-Q1 (6); with
    // them AM's three 2025 quarters (1 event each, all withheld) added up to
    // exactly 3, so each was 1. Protection intervals withhold both now:
    // quarter x type is drawn here instead.
    const res = await coord.get('/v1/stats/events/chart.svg?groupBy=quarter,type&k=3');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('image/svg+xml; charset=utf-8');
    const els = parseXml(res.body);
    expect(els[0].name).toBe('svg');
    const bars = els.filter((e) => e.attrs['aria-roledescription'] === 'bar');
    // Published non-zero cells at k=3; zeros draw no bar; everything else is suppressed.
    expect(bars.map((b) => b.attrs['aria-label']).sort()).toEqual([
      'quarter: 2024-Q1; documented events: 13; event type: DETENTION',
      'quarter: 2024-Q2; documented events: 3; event type: COURT_HEARING',
    ]);
    const crosses = els.filter((e) => (e.attrs['aria-label'] ?? '').startsWith('suppressed: '));
    expect(crosses).toHaveLength(5);
    expect(crosses.every((c) => c.text === '×')).toBe(true);
    // Each × is read out as its cell (series, period), never with a value.
    for (const c of crosses) {
      expect(c.attrs['aria-label']).toMatch(/^suppressed: [A-Z_]+, 20\d\d-Q[1-4] \(fewer than 3 cases\)$/);
    }
    const text = els.map((e) => e.text).join(' ');
    expect(text).toContain('Documented events by quarter and event type');
    expect(text).toMatch(/Documented events, not prevalence/);
    expect(text).toMatch(/Source: /);
    expect(text).toMatch(/fewer than 3 cases/);
    // The legend names the series shown; the axis lists every period of the domain (empty ones too).
    expect(els.some((e) => /legend titled 'event type'/.test(e.attrs['aria-label'] ?? ''))).toBe(true);
    expect(els.find((e) => /^X-axis/.test(e.attrs['aria-label'] ?? ''))!.attrs['aria-label']).toContain(
      '2024-Q1, 2024-Q2, 2024-Q3, 2024-Q4, 2025-Q1, 2025-Q2, 2025-Q3',
    );
    // The withheld types (THREAT, TRAVEL_BAN, ABDUCTION) are nowhere in the bars.
    expect(bars.some((b) => /THREAT|TRAVEL_BAN|ABDUCTION/.test(b.attrs['aria-label']))).toBe(false);
  });

  it('accepts one period with or without a series, and refuses other shapes', async () => {
    const byType = await coord.get('/v1/stats/events/chart.svg?groupBy=year,type&k=3');
    expect(byType.statusCode).toBe(200);
    expect(
      parseXml(byType.body)
        .filter((e) => e.attrs['aria-roledescription'] === 'bar')
        .map((b) => b.attrs['aria-label'])
        .sort(),
    ).toEqual([
      'year: 2024; documented events: 13; event type: DETENTION',
      'year: 2024; documented events: 3; event type: COURT_HEARING',
    ]);
    // 2025 THREAT (3) is withheld now: 2025's total (5) minus it left
    // TRAVEL_BAN + ABDUCTION = 2, two withheld cells of exactly 1 each.
    // At k=5 even 2024 DETENTION goes: 2024's total minus it would give COURT_HEARING 2024.
    const strict = parseXml((await coord.get('/v1/stats/events/chart.svg?groupBy=year,type&k=5')).body);
    expect(strict.filter((e) => e.attrs['aria-roledescription'] === 'bar')).toHaveLength(0);
    expect(strict.filter((e) => (e.attrs['aria-label'] ?? '').startsWith('suppressed: '))).toHaveLength(5);
    expect((await coord.get('/v1/stats/events/chart.svg?groupBy=month')).statusCode).toBe(200);
    for (const g of ['hostCountry', 'quarter,month', 'quarter,citizenship', 'quarter,hostCountry,type']) {
      const res = await coord.get(`/v1/stats/events/chart.svg?groupBy=${g}`);
      expectProblem(res, 400, 'querystring.groupBy');
      expect(res.json().errors[0].path, g).toBe('querystring.groupBy');
    }
  });
});

describe('no identifying data in any output', () => {
  it('json, csv and svg for every groupBy and combination', async () => {
    expect(secrets.length).toBeGreaterThan(100);
    const urls: string[] = [];
    for (const g of [
      'hostCountry',
      'type',
      'year',
      'quarter',
      'month',
      'citizenship',
      'mechanism',
      'chargeCategory',
      'hostCountry,type,month',
      'citizenship,mechanism,chargeCategory',
    ]) {
      for (const k of ['3', '5']) {
        urls.push(
          `/v1/stats/events?groupBy=${g}&k=${k}`,
          `/v1/stats/events?groupBy=${g}&k=${k}&format=csv`,
          `/v1/stats/events?groupBy=${g}&k=${k}&epsilon=2`,
        );
      }
    }
    urls.push(
      '/v1/stats/events/chart.svg?groupBy=month,hostCountry&k=3',
      '/v1/stats/events/chart.svg?groupBy=quarter,type',
      `/v1/stats/events/chart.svg?groupBy=quarter,type&team=${teamId}&country=AM`,
      '/v1/stats/overview?k=3',
    );
    for (const url of urls) {
      const res = await coord.get(url);
      expect(res.statusCode, url).toBe(200);
      expectNoSecrets(
        url,
        res.body + String(res.headers['x-stats-metadata'] ?? '') + String(res.headers['content-disposition'] ?? ''),
      );
    }
  });
});

describe('GET /v1/stats/overview', () => {
  let ov: TestEnv;
  let c: Client;
  beforeAll(async () => {
    // A database of its own: the overview counts everything in it.
    ov = await setupTestEnv({ env: { STATS_DEFAULT_K: '3' } });
    const team = await createTeam(ov, ['AM', 'GE', 'KZ']);
    const cw = await clientFor(ov, 'CASEWORKER', { teamIds: [team] });
    c = await clientFor(ov, 'COORDINATOR');
    const now = Date.now();
    const year = new Date(now).getUTCFullYear();
    const thisYear = new Date((Date.UTC(year, 0, 1) + now) / 2);
    const mk = async (host: string, status?: string) => {
      const p = await cw.post('/v1/people', {
        pseudonym: `OvP-${uniq()}`,
        legalName: `Ov Legal ${uniq()}`,
        citizenship: 'RU',
        travelDocumentStatus: 'NONE',
      });
      const r = await cw.post('/v1/cases', {
        personId: p.json().id,
        teamId: team,
        hostCountry: host,
        ...(status ? { status } : {}),
      });
      expect(r.statusCode, r.body).toBe(201);
      return r.json().id as string;
    };
    const am = [await mk('AM'), await mk('AM'), await mk('AM'), await mk('AM')];
    const ge = [await mk('GE'), await mk('GE'), await mk('GE')];
    const kz = [await mk('KZ')];
    await mk('AM', 'CLOSED');
    // Inserted directly: the overview must count rows, whatever rules would derive from them.
    const ev = (caseId: string, type: EventType, at: Date) =>
      ov.db.event.create({ data: { id: randomUUID(), caseId, type, country: 'AM', occurredAt: at, sourceUrls: [] } });
    // Detentions this year: 4 events in 3 cases; one last year does not count.
    await ev(am[0], 'DETENTION', thisYear);
    await ev(am[0], 'DETENTION', thisYear);
    await ev(am[1], 'DETENTION', thisYear);
    await ev(ge[0], 'DETENTION', thisYear);
    await ev(ge[1], 'DETENTION', new Date(Date.UTC(year - 1, 5, 1)));
    // Travel bans: am[2], am[3], ge[2] banned; kz[0] banned then lifted; ge[1] lifted then banned again.
    const days = (d: number) => new Date(now - d * 86_400_000);
    await ev(am[2], 'TRAVEL_BAN', days(100));
    await ev(am[3], 'TRAVEL_BAN', days(50));
    await ev(ge[2], 'TRAVEL_BAN', days(20));
    await ev(kz[0], 'TRAVEL_BAN', days(30));
    await ev(kz[0], 'TRAVEL_BAN_LIFTED', days(10));
    await ev(ge[1], 'TRAVEL_BAN_LIFTED', days(60));
    await ev(ge[1], 'TRAVEL_BAN', days(5));
    // Deadlines: 4 OPEN in the next 30 days over 3 cases; one DONE, one in 40 days, one past.
    const dl = (caseId: string, inDays: number, status: DeadlineStatus = 'OPEN') =>
      ov.db.deadline.create({
        data: {
          id: randomUUID(),
          caseId,
          kind: 'CUSTOM',
          title: `Secret deadline ${uniq()}`,
          dueAt: new Date(now + inDays * 86_400_000),
          timeZone: 'Asia/Yerevan',
          status,
          source: 'MANUAL',
        },
      });
    await dl(am[0], 3);
    await dl(am[0], 10);
    await dl(am[1], 20);
    await dl(ge[0], 29);
    await dl(ge[1], 5, 'DONE');
    await dl(ge[2], 40);
    await dl(kz[0], -2);
  }, 60_000);
  afterAll(async () => ov?.close());

  it('headline figures, suppressed under k, with the by-country table protected', async () => {
    const res = await c.get('/v1/stats/overview?k=3');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.openCasesByHostCountry).toEqual({
      cells: [
        { hostCountry: 'AM', value: 4, suppressed: false },
        { hostCountry: 'GE', value: null, suppressed: true },
        { hostCountry: 'KZ', value: null, suppressed: true },
      ],
      total: { value: 8, suppressed: false },
    });
    expect(body.detentionsThisYear).toEqual({ year: new Date().getUTCFullYear(), value: 4, suppressed: false });
    expect(body.peopleUnderTravelBan).toEqual({ value: 4, suppressed: false });
    expect(body.upcomingDeadlines).toEqual({ days: 30, value: 4, suppressed: false });
    expect(body.metadata).toMatchObject({
      k: 3,
      label: 'documented cases',
      suppressedFigures: { primary: 1, secondary: 1, total: 2 },
      totalsIncludeSuppressed: true,
    });
  });

  it('the default k (5) hides every small figure', async () => {
    const body = (await c.get('/v1/stats/overview?k=5')).json();
    expect(body.metadata.k).toBe(5);
    expect(body.detentionsThisYear).toMatchObject({ value: null, suppressed: true, suppression: 'primary' });
    expect(body.peopleUnderTravelBan).toEqual({ value: null, suppressed: true, suppression: 'primary' });
    expect(body.upcomingDeadlines).toMatchObject({ value: null, suppressed: true });
    expect(body.openCasesByHostCountry.total).toEqual({ value: 8, suppressed: false });
    expect(body.openCasesByHostCountry.cells.every((x: { suppressed: boolean }) => x.suppressed)).toBe(true);
    expect(JSON.stringify(body)).not.toMatch(/Secret deadline|Ov Legal|OvP-/);
  });
});
