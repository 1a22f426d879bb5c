// Research exports: a real BullMQ worker builds the file; k-anonymity with
// month -> quarter -> year generalisation, per-export case keys, owner-only
// files, creator/admin access, audit of creation and every download, expiry.
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sealAndVerify } from './audit-support.ts';
import { sweepExports } from '../src/modules/exports/exports.service.ts';
import { startExportWorker } from '../src/workers/exports.worker.ts';
import { clientFor, createTeam, expectProblem, setupTestEnv, uniq, type Client, type TestEnv } from './helpers.ts';
import { CASES, CIS } from './stats-fixture.ts';

// The same 13 cases / 21 events as test/stats.test.ts, with outcomes for the
// court hearings ("adjourned" -> PENDING). With k = 3 the expected release is:
//   month:   A1-A4 DETENTION 2024-02 (EXTREMISM, CIS, NOT_RECORDED, RU)      4 rows
//   quarter: A1-A3 COURT_HEARING 2024-04/05/06 -> 2024-Q2 (PENDING)          3 rows
//   year:    A1-A3 THREAT 2025-01/05/09 -> 2025 (quarters hold one case each) 3 rows
//   dropped: everything else (classes of 1 or 2 cases)                      11 rows

const SOME_EXPORT_ID = '00000000-0000-4000-8000-000000000001';
const secrets: string[] = [];
const workerErrors: unknown[] = [];
let env: TestEnv;
let exportsDir: string;
let coord: Client;
let otherCoord: Client;
let admin: Client;
let teamId: string;

beforeAll(async () => {
  exportsDir = mkdtempSync(path.join(os.tmpdir(), 'exports-test-'));
  env = await setupTestEnv({
    queues: true,
    // The organisation's k floor is 3 here, so k=3 and k=5 exports may both be asked for.
    env: { EXPORTS_DIR: path.join(exportsDir, 'files'), EXPORT_TTL_DAYS: '7', STATS_DEFAULT_K: '3' },
  });
  startExportWorker({
    db: env.db,
    config: env.config,
    kit: env.queues!,
    clock: () => new Date(),
    log: { info: () => {}, warn: () => {}, error: (obj) => workerErrors.push(obj) },
  });
  teamId = await createTeam(env, ['AM', 'GE', 'KZ']);
  const cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
  coord = await clientFor(env, 'COORDINATOR');
  otherCoord = await clientFor(env, 'COORDINATOR');
  admin = await clientFor(env, 'ADMIN');
  const run = uniq();
  for (const spec of CASES) {
    const legalName = `Legalname ${spec.name} Zzq${run}`;
    const pseudonym = `Pseudo-${spec.name}-${run}`;
    const p = await cw.post('/v1/people', {
      pseudonym,
      legalName,
      dateOfBirth: '1979-11-30',
      citizenship: spec.citizenship,
      travelDocumentStatus: 'NONE',
    });
    expect(p.statusCode, p.body).toBe(201);
    const c = await cw.post('/v1/cases', {
      personId: p.json().id,
      teamId,
      hostCountry: spec.host,
      summary: `Summary freetext ${run}`,
    });
    expect(c.statusCode, c.body).toBe(201);
    const caseId: string = c.json().id;
    secrets.push(legalName, pseudonym, c.json().reference, caseId, p.json().id, `Summary freetext ${run}`);
    for (const [category, mechanism] of spec.charges) {
      expect(
        (
          await cw.post(`/v1/cases/${caseId}/charges`, {
            issuingCountry: 'RU',
            code: 'RU-CC',
            article: '207.3',
            category,
            mechanism,
            status: 'WANTED',
          })
        ).statusCode,
      ).toBe(201);
    }
    for (const [i, [type, date, outcome]] of spec.events.entries()) {
      const city = `Cityname${spec.name}${i}x${run}`;
      const outcomeText = outcome ? `${outcome} ${run}` : null;
      const ev = await cw.post(`/v1/cases/${caseId}/events`, {
        type,
        country: spec.host,
        occurredAt: `${date}T22:30:00+00:00`,
        city,
        authority: `Authority ${run}`,
        outcome: outcomeText,
        details: `Details freetext ${run}`,
      });
      expect(ev.statusCode, ev.body).toBe(201);
      secrets.push(
        city,
        `Authority ${run}`,
        `Details freetext ${run}`,
        ev.json().id,
        ...(outcomeText ? [outcomeText] : []),
      );
    }
  }
}, 120_000);

afterAll(async () => {
  await env?.close();
  rmSync(exportsDir, { recursive: true, force: true });
});

// These tests build exports on their own; the guard across publications
// (an export differing from an earlier one in a single filter) is tested in
// test/disclosure.test.ts.
beforeEach(async () => {
  await env.sql('DELETE FROM stats_query_log');
});

// Every test waits for the builds it starts: none of them may have failed.
afterEach(() => {
  expect(workerErrors).toEqual([]);
});

// Case keys are random base64url: one may spell "zzq" or "pseudo-" by chance, so they are blanked
// before the fixture-text check (their format is asserted separately).
function withoutCaseKeys(body: string, keys: Iterable<string>): string {
  let out = body;
  for (const k of keys) out = out.split(k).join('<key>');
  return out;
}

function expectNoSecrets(label: string, body: string) {
  for (const s of secrets) expect(body.includes(s), `${label} leaks "${s}"`).toBe(false);
  expect(
    /Zzq|Pseudo-|Cityname|freetext|Authority |adjourned|refused bail/i.test(body),
    `${label} leaks fixture text`,
  ).toBe(false);
  expect(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.test(body), `${label} contains an id`).toBe(
    false,
  );
}

async function waitDone(client: Client, id: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await client.get(`/v1/exports/${id}`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    if (body.status === 'DONE' || body.status === 'FAILED') return body;
    if (Date.now() > deadline) {
      throw new Error(
        `export ${id} still ${body.status} (${body.progress}%); worker errors: ${JSON.stringify(workerErrors)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts an export as `client` and waits for its build; returns its status body. */
async function buildExport(client: Client, body: Record<string, unknown>) {
  const res = await client.post('/v1/exports', { kind: 'events-anonymised', ...body });
  expect(res.statusCode, res.body).toBe(202);
  const done = await waitDone(client, res.json().id);
  expect(done.status, JSON.stringify(done)).toBe('DONE');
  return done;
}

function parseCsv(text: string): string[][] {
  // The export holds no quotes, commas or line breaks inside fields (enums and codes only).
  expect(text.endsWith('\r\n')).toBe(true);
  return text
    .slice(0, -2)
    .split('\r\n')
    .map((l) => l.split(','));
}

/** The records of a CSV export as objects keyed by its header. */
function csvRecords(text: string): Record<string, string>[] {
  const [header, ...records] = parseCsv(text);
  return records.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

describe('POST /v1/exports and the worker', () => {
  it('queues a job, builds a k-anonymous CSV, and lets its creator download it', async () => {
    const res = await coord.post('/v1/exports', { kind: 'events-anonymised', format: 'csv', k: 3, filters: {} });
    expect(res.statusCode, res.body).toBe(202);
    const { id } = res.json();
    expect(res.headers.location).toBe(`/v1/exports/${id}`);
    expect(Object.keys(res.json())).toEqual(['id']);

    const done = await waitDone(coord, id);
    expect(done).toMatchObject({
      id,
      kind: 'events-anonymised',
      format: 'csv',
      status: 'DONE',
      progress: 100,
      rowCount: 10,
      error: null,
    });
    expect(done.metadata).toMatchObject({
      k: 3,
      label: 'documented cases',
      eventsMatched: 21,
      rowsPublished: 10,
      rowsByPeriodPrecision: { month: 4, quarter: 3, year: 3 },
      rowsDropped: 11,
      quasiIdentifiers: [
        'host_country',
        'period',
        'event_type',
        'charge_categories',
        'mechanisms',
        'outcome_class',
        'citizenship',
      ],
    });
    const ttl = Date.parse(done.expiresAt) - Date.parse(done.finishedAt);
    expect(ttl).toBe(7 * 86_400_000);

    // Stored under EXPORTS_DIR, readable by the owner only.
    const row = await env.db.export.findUniqueOrThrow({ where: { id } });
    const file = path.join(env.config.exports.dir, row.filePath!);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const dl = await coord.get(`/v1/exports/${id}/download`);
    expect(dl.statusCode, dl.body).toBe(200);
    expect(dl.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(dl.headers['content-disposition']).toBe(`attachment; filename="events-anonymised-${id}.csv"`);
    expect(dl.body).toBe(await readFile(file, 'utf8'));
    const [header, ...records] = parseCsv(dl.body);
    // Linkage: a key on several rows must carry a whole history that at least
    // k (3) keys share; rarer histories are unlinked (one random key per row).
    const byKey = new Map<string, string[]>();
    for (const r of records) byKey.set(r[0], [...(byKey.get(r[0]) ?? []), r.slice(1).join('/')]);
    const signature = (rows: string[]) => [...rows].sort().join(';');
    const sigCount = new Map<string, number>();
    for (const rows of byKey.values()) sigCount.set(signature(rows), (sigCount.get(signature(rows)) ?? 0) + 1);
    for (const [key, rows] of byKey) {
      if (rows.length > 1) {
        expect(sigCount.get(signature(rows)), `key ${key} links a rare history`).toBeGreaterThanOrEqual(3);
      }
    }
    expect(typeof done.metadata.rowsUnlinked).toBe('number');
    expect(header).toEqual([
      'case_key',
      'host_country',
      'period',
      'period_precision',
      'event_type',
      'charge_categories',
      'mechanisms',
      'outcome_class',
      'citizenship',
    ]);
    expect(records).toHaveLength(10);
    const rows = records.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
    const shape = (r: Record<string, string>) =>
      [
        r.host_country,
        r.period,
        r.period_precision,
        r.event_type,
        r.charge_categories,
        r.mechanisms,
        r.outcome_class,
        r.citizenship,
      ].join(' ');
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(shape(r), (counts.get(shape(r)) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({
      [`AM 2024-02 month DETENTION EXTREMISM ${CIS} NOT_RECORDED RU`]: 4,
      [`AM 2024-Q2 quarter COURT_HEARING EXTREMISM ${CIS} PENDING RU`]: 3,
      [`AM 2025 year THREAT EXTREMISM ${CIS} NOT_RECORDED RU`]: 3,
    });
    // Every published class holds at least k distinct case keys.
    for (const s of counts.keys()) {
      expect(new Set(rows.filter((r) => shape(r) === s).map((r) => r.case_key)).size).toBeGreaterThanOrEqual(3);
    }
    // A1-A3 have three rows each, A4 one: four keys, linkable within this export only.
    const perKey = [
      ...rows.reduce((m, r) => m.set(r.case_key, (m.get(r.case_key) ?? 0) + 1), new Map<string, number>()).values(),
    ].sort();
    expect(perKey).toEqual([1, 3, 3, 3]);
    for (const r of rows) expect(r.case_key).toMatch(/^k[A-Za-z0-9_-]{21}$/);
    expectNoSecrets(
      'csv export',
      withoutCaseKeys(
        dl.body,
        rows.map((r) => r.case_key),
      ),
    );
    expectNoSecrets('export status', JSON.stringify({ ...done, id: undefined }));
  });

  it('a second export of the same data (JSON) cannot be joined to the first', async () => {
    const csv = await buildExport(coord, { format: 'csv', k: 3 });
    const firstRows = csvRecords((await coord.get(`/v1/exports/${csv.id}/download`)).body);
    expect(firstRows).toHaveLength(10);
    const done = await buildExport(coord, { format: 'json', k: 3 });
    const dl = await coord.get(`/v1/exports/${done.id}/download`);
    expect(dl.statusCode).toBe(200);
    expect(dl.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = dl.json();
    expect(body.label).toBe('documented cases');
    expect(body.rows).toHaveLength(10);
    expect(body.metadata).toMatchObject({ rowsPublished: 10, rowsDropped: 11, k: 3 });
    expect(Object.keys(body.rows[0])).toEqual(body.columns);
    const keysA = new Set(firstRows.map((r) => r.case_key));
    const keysB = new Set<string>(body.rows.map((r: { case_key: string }) => r.case_key));
    expect(keysB.size).toBe(4);
    expect([...keysB].filter((k) => keysA.has(k))).toEqual([]);
    // Same generalised content otherwise.
    const strip = (r: Record<string, string>) => JSON.stringify({ ...r, case_key: undefined });
    expect(body.rows.map(strip).sort()).toEqual(firstRows.map(strip).sort());
    expectNoSecrets('json export', withoutCaseKeys(dl.body.replace(/"id":"[^"]*"/g, ''), keysB));
  });

  it('k=5 drops every class here, and says how many rows went', async () => {
    const res = await coord.post('/v1/exports', {
      kind: 'events-anonymised',
      format: 'csv',
      k: 5,
      filters: { country: ['AM', 'GE'], from: '2024-01-01', to: '2025-12-31' },
    });
    expect(res.statusCode, res.body).toBe(202);
    const done = await waitDone(coord, res.json().id);
    expect(done).toMatchObject({ status: 'DONE', rowCount: 0 });
    expect(done.metadata).toMatchObject({
      k: 5,
      eventsMatched: 19,
      rowsPublished: 0,
      rowsDropped: 19,
      filters: { hostCountry: ['AM', 'GE'], from: '2024-01-01', to: '2025-12-31' },
    });
    const dl = await coord.get(`/v1/exports/${done.id}/download`);
    expect(dl.body).toBe(
      'case_key,host_country,period,period_precision,event_type,charge_categories,mechanisms,outcome_class,citizenship\r\n',
    );
  });

  it('small counts in the metadata are withheld like any other figure (no "exactly one event matched")', async () => {
    const res = await coord.post('/v1/exports', {
      kind: 'events-anonymised',
      format: 'csv',
      k: 5,
      filters: { country: ['KZ'] },
    });
    expect(res.statusCode, res.body).toBe(202);
    const done = await waitDone(coord, res.json().id);
    expect(done.metadata).toMatchObject({ k: 5, eventsMatched: null, rowsPublished: 0, rowsDropped: null });
  });

  it('only its creator or an admin sees or downloads an export; others get 404', async () => {
    const { id } = await buildExport(coord, { format: 'csv', k: 3 });
    expectProblem(await otherCoord.get(`/v1/exports/${id}`), 404);
    expectProblem(await otherCoord.get(`/v1/exports/${id}/download`), 404);
    expect((await coord.get(`/v1/exports/${id}`)).statusCode).toBe(200);
    expect((await admin.get(`/v1/exports/${id}`)).statusCode).toBe(200);
    expect((await admin.get(`/v1/exports/${id}/download`)).statusCode).toBe(200);
    expectProblem(await coord.get(`/v1/exports/00000000-0000-4000-8000-000000000000`), 404);
  });

  it('creation and every download are audited, and the audit log stays intact', async () => {
    const { id } = await buildExport(coord, { format: 'csv', k: 3 });
    expect((await coord.get(`/v1/exports/${id}/download`)).statusCode).toBe(200);
    expectProblem(await otherCoord.get(`/v1/exports/${id}/download`), 404);
    expect((await admin.get(`/v1/exports/${id}/download`)).statusCode).toBe(200);
    const entries = await env.db.auditEntry.findMany({
      where: { chain: 'global', entityType: 'export', entityId: id },
      orderBy: { id: 'asc' },
    });
    expect(entries.map((e) => [e.action, e.actorId])).toEqual([
      ['export.create', coord.userId],
      ['export.download', coord.userId],
      ['export.download', admin.userId],
    ]);
    expect(entries.every((e) => e.caseId === null)).toBe(true);
    expect((await sealAndVerify(env)).problems).toEqual([]);
    // The failed attempt by another coordinator wrote nothing.
    expect(await env.db.auditEntry.count({ where: { entityId: id, actorId: otherCoord.userId } })).toBe(0);
  });

  it('409 while not done, 410 once expired (and the file is deleted)', async () => {
    const pending = await env.db.export.create({
      data: {
        id: crypto.randomUUID(),
        createdById: coord.userId,
        kind: 'events-anonymised',
        format: 'csv',
        filters: {},
        status: 'RUNNING',
        progress: 40,
      },
    });
    expectProblem(await coord.get(`/v1/exports/${pending.id}/download`), 409);
    expect((await coord.get(`/v1/exports/${pending.id}`)).json()).toMatchObject({ status: 'RUNNING', progress: 40 });

    const { id } = await buildExport(coord, { format: 'csv', k: 3 });
    const row = await env.db.export.findUniqueOrThrow({ where: { id } });
    const file = path.join(env.config.exports.dir, row.filePath!);
    expect(existsSync(file)).toBe(true);
    await env.db.export.update({ where: { id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await coord.get(`/v1/exports/${id}`)).json().status).toBe('EXPIRED');
    expect(expectProblem(await coord.get(`/v1/exports/${id}/download`), 410)).toMatchObject({ title: 'Gone' });
    expect(existsSync(file)).toBe(false);
    expect((await env.db.export.findUniqueOrThrow({ where: { id } })).status).toBe('EXPIRED');
    expectProblem(await coord.get(`/v1/exports/${id}/download`), 410);
  });

  it('the sweeper deletes expired files and re-enqueues an export whose job was lost', async () => {
    const deps = {
      db: env.db,
      config: env.config,
      kit: env.queues!,
      clock: () => new Date(),
      log: { info: () => {}, warn: () => {}, error: () => {} },
    };
    // A finished export whose time is up.
    const res = await coord.post('/v1/exports', { kind: 'events-anonymised', format: 'csv', k: 3 });
    const done = await waitDone(coord, res.json().id);
    const row = await env.db.export.findUniqueOrThrow({ where: { id: done.id } });
    const file = path.join(env.config.exports.dir, row.filePath!);
    expect(existsSync(file)).toBe(true);
    await env.db.export.update({ where: { id: done.id }, data: { expiresAt: new Date(Date.now() - 60_000) } });
    // An export created ten minutes ago whose job never reached the queue (Redis lost it).
    const lost = await env.db.export.create({
      data: {
        id: crypto.randomUUID(),
        createdById: coord.userId,
        kind: 'events-anonymised',
        format: 'csv',
        filters: { k: 3 },
        status: 'QUEUED',
        createdAt: new Date(Date.now() - 10 * 60_000),
      },
    });
    const swept = await sweepExports(deps);
    expect(swept.expired).toBeGreaterThanOrEqual(1);
    expect(swept.requeued).toBe(1);
    expect(existsSync(file)).toBe(false);
    expect(await env.db.export.findUniqueOrThrow({ where: { id: done.id } })).toMatchObject({
      status: 'EXPIRED',
      filePath: null,
    });
    expect(await waitDone(coord, lost.id)).toMatchObject({ status: 'DONE', rowCount: 10 });
  });

  it('an Idempotency-Key replay returns the first export and queues nothing new', async () => {
    const before = await env.db.export.count();
    const key = `exp-${uniq()}-key`;
    const a = await coord.post(
      '/v1/exports',
      { kind: 'events-anonymised', format: 'csv', k: 4 },
      { 'idempotency-key': key },
    );
    const b = await coord.post(
      '/v1/exports',
      { kind: 'events-anonymised', format: 'csv', k: 4 },
      { 'idempotency-key': key },
    );
    expect(a.statusCode).toBe(202);
    expect(b.statusCode).toBe(202);
    expect(b.json().id).toBe(a.json().id);
    expect(await env.db.export.count()).toBe(before + 1);
    await waitDone(coord, a.json().id);
  });
});

describe('validation and roles', () => {
  it('refuses k below 3, unknown kinds, formats and fields', async () => {
    const bad: [unknown, string][] = [
      [{ kind: 'events-anonymised', k: 2 }, 'body.k'],
      [{ kind: 'events-anonymised', k: 1 }, 'body.k'],
      [{ kind: 'people' }, 'body.kind'],
      [{ kind: 'events-anonymised', format: 'xlsx' }, 'body.format'],
      [{ kind: 'events-anonymised', filters: { legalName: 'x' } }, 'body.filters'],
      [{ kind: 'events-anonymised', filters: { country: ['Armenia'] } }, 'body.filters.country.0'],
    ];
    for (const [body, pathName] of bad) expectProblem(await coord.post('/v1/exports', body), 400, pathName);
  });

  it('caseworkers and lawyers get 403 on every export route; anonymous callers 401', async () => {
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
    const lawyer = await clientFor(env, 'LAWYER');
    for (const c of [cw, lawyer]) {
      expectProblem(await c.post('/v1/exports', { kind: 'events-anonymised' }), 403);
      expectProblem(await c.get(`/v1/exports/${SOME_EXPORT_ID}`), 403);
      expectProblem(await c.get(`/v1/exports/${SOME_EXPORT_ID}/download`), 403);
    }
    const payload = { kind: 'events-anonymised' };
    expectProblem(await env.app.inject({ method: 'POST', url: '/v1/exports', payload }), 401);
  });
});

// The build runs in a child process so that Prisma's client (its engine is
// most of a worker's memory) is never loaded there. Walks the runtime imports
// of src/workers/export-child.ts (type-only imports are erased and skipped)
// and fails if any of them reaches the generated client.
const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const GENERATED = path.join(SRC, 'generated', 'prisma') + path.sep;

/** Files of this repository that `entry` loads at run time, transitively (packages are not followed). */
function runtimeImportGraph(entry: string): Map<string, string> {
  const importedBy = new Map<string, string>([[entry, '']]);
  const todo = [entry];
  for (let file = todo.pop(); file; file = todo.pop()) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const specifiers: string[] = [];
    const visit = (node: ts.Node) => {
      if (ts.isImportDeclaration(node)) {
        const clause = node.importClause;
        const bindings = clause?.namedBindings;
        const onlyTypes =
          clause?.isTypeOnly ||
          (clause &&
            !clause.name &&
            bindings &&
            ts.isNamedImports(bindings) &&
            bindings.elements.length > 0 &&
            bindings.elements.every((e) => e.isTypeOnly));
        if (!onlyTypes && ts.isStringLiteral(node.moduleSpecifier)) specifiers.push(node.moduleSpecifier.text);
      } else if (ts.isExportDeclaration(node)) {
        if (!node.isTypeOnly && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
          specifiers.push(node.moduleSpecifier.text);
        }
      } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        // A dynamic import() is followed when its target is a literal; any other one fails the test.
        const [target] = node.arguments;
        if (!target || !ts.isStringLiteralLike(target)) throw new Error(`${file}: import() of a computed path`);
        specifiers.push(target.text);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    for (const spec of specifiers) {
      if (!spec.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), spec);
      if (importedBy.has(target)) continue;
      importedBy.set(target, file);
      if (!target.startsWith(GENERATED)) todo.push(target);
    }
  }
  return importedBy;
}

function chainTo(graph: Map<string, string>, file: string): string {
  const chain = [];
  for (let f = file; f; f = graph.get(f)!) chain.unshift(path.relative(SRC, f));
  return chain.join(' -> ');
}

describe('the export child process', () => {
  const child = path.join(SRC, 'workers', 'export-child.ts');

  it('loads nothing that imports the generated Prisma client', () => {
    const graph = runtimeImportGraph(child);
    expect(graph.has(path.join(SRC, 'modules', 'exports', 'export-job.ts'))).toBe(true);
    const prisma = [...graph.keys()].filter((f) => f.startsWith(GENERATED));
    expect(prisma.map((f) => chainTo(graph, f))).toEqual([]);
  });

  it('the check does see Prisma where it is loaded (the statistics service)', () => {
    const graph = runtimeImportGraph(path.join(SRC, 'modules', 'stats', 'stats.service.ts'));
    expect([...graph.keys()].some((f) => f.startsWith(GENERATED))).toBe(true);
  });
});
