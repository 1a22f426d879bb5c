// Duplicate detection across scripts: the transliteration table (pairs for
// every supported alphabet), and GET /v1/people/duplicates ranking matches by
// score, counting matches in other teams (hiddenMatches) without identifying
// them, and never storing a name, a skeleton or a token in clear.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nameSkeleton, toLatin } from '../src/lib/transliterate.ts';
import { backfillNameTokens } from '../src/modules/people/duplicates.service.ts';
import { DIFFERENT, SAME } from './duplicates-pairs.ts';
import {
  clientFor,
  createCase,
  createTeam,
  personBody,
  setupTestEnv,
  uniq,
  type Client,
  type TestEnv,
} from './helpers.ts';

describe('transliteration skeletons', () => {
  it.each(SAME)('%s ↔ %s', (a, b) => {
    expect(nameSkeleton(a)).toBe(nameSkeleton(b));
    expect(nameSkeleton(a)).toMatch(/^[a-z0-9 ]+$/);
  });
  it.each(DIFFERENT)('%s ≠ %s', (a, b) => expect(nameSkeleton(a)).not.toBe(nameSkeleton(b)));
  it('transliterates Cyrillic by ICAO 9303', () => {
    expect(toLatin('Жуков Щукин Цой Юлия Хабибуллин')).toBe('zhukov shchukin tsoi iuliia khabibullin');
  });
  it('covers at least 40 pairs across every supported alphabet', () => expect(SAME.length).toBeGreaterThanOrEqual(40));
});

let env: TestEnv;
beforeAll(async () => {
  env = await setupTestEnv();
});
afterAll(async () => env?.close());

describe('GET /v1/people/duplicates across scripts', () => {
  let teamA: string;
  let cwA: Client;
  let cwB: Client;
  let admin: Client;
  const suffix = () => uniq().replace(/\d/g, 'x');
  beforeAll(async () => {
    teamA = await createTeam(env, ['KZ']);
    cwA = await clientFor(env, 'CASEWORKER', { teamIds: [teamA] });
    cwB = await clientFor(env, 'CASEWORKER', { teamIds: [await createTeam(env, ['AM'])] });
    admin = await clientFor(env, 'ADMIN');
  });
  const dup = (c: Client, legalName: string, dateOfBirth?: string) =>
    c.get(`/v1/people/duplicates?${new URLSearchParams({ legalName, ...(dateOfBirth ? { dateOfBirth } : {}) })}`);

  it('finds Иванов / Ivanov / İvanov / Iwanow with a score; other teams see only a count', async () => {
    // A unique Cyrillic third name keeps this test's matches its own.
    const tag = suffix();
    const cyr = `Иванов Пётр Zz${tag}`;
    const f = await createCase(cwA, teamA, 'KZ', cyr);
    for (const q of [
      cyr,
      `Ivanov Petr Zz${tag}`,
      `IVANOV PYOTR ZZ${tag}`,
      `İvanov Piotr Zz${tag}`,
      `Iwanow Piotr Zz${tag}`,
    ]) {
      const res = await dup(cwA, q);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().hiddenMatches).toBe(0);
      expect(res.json().items).toEqual([
        expect.objectContaining({
          id: f.personId,
          score: q === cyr ? 1 : 0.95,
          cases: [expect.objectContaining({ id: f.caseId })],
        }),
      ]);
    }
    // Another team's caseworker: the match exists, without identity.
    const other = await dup(cwB, `Ivanov Petr Zz${tag}`);
    expect(other.statusCode).toBe(200);
    expect(other.json()).toEqual({ items: [], hiddenMatches: 1, nextCursor: null });
    for (const s of [f.personId, f.caseId, f.reference]) expect(other.body).not.toContain(s);
    // Admins see it.
    expect((await dup(admin, `Iwanow Piotr Zz${tag}`)).json().items.map((i: { id: string }) => i.id)).toEqual([
      f.personId,
    ]);
    // The database holds token HMACs, never the skeleton.
    const [row] = await env.sql<{ t: string[] }>('SELECT legal_name_tokens AS t FROM people WHERE id = $1', [
      f.personId,
    ]);
    expect(row.t).toHaveLength(3);
    expect(JSON.stringify(row.t)).not.toMatch(/ivanov|petr|Иванов/i);
  });

  it('ranks the same name before a partial two-of-three-token match; one shared token is no match', async () => {
    const tag = suffix();
    const full = await cwA.post('/v1/people', personBody({ legalName: `Петросян Арам Zz${tag}` }));
    const partial = await cwA.post('/v1/people', personBody({ legalName: `Petrosyan Aram Vardanovich Zz${tag}` }));
    await cwA.post('/v1/people', personBody({ legalName: `Petrosyan Armen Qq${tag}` }));
    const res = await dup(cwA, `Aram Petrosyan Zz${tag}`);
    const items = res.json().items as { id: string; score: number }[];
    expect(items.map((i) => i.id)).toEqual([full.json().id, partial.json().id]);
    expect(items.map((i) => i.score)).toEqual([0.95, 0.71]);
  });

  it('narrows by birth date across scripts too', async () => {
    const tag = suffix();
    const p = await cwA.post(
      '/v1/people',
      personBody({ legalName: `Beridze Giorgi Zz${tag}`, dateOfBirth: '1979-03-03' }),
    );
    expect(
      (await dup(cwA, `ბერიძე გიორგი Zz${tag}`, '1979-03-03')).json().items.map((i: { id: string }) => i.id),
    ).toEqual([p.json().id]);
    expect((await dup(cwA, `ბერიძე გიორგი Zz${tag}`, '1979-03-04')).json()).toEqual({
      items: [],
      hiddenMatches: 0,
      nextCursor: null,
    });
  });

  it('renamed people are found under the new name only; older rows are indexed at start', async () => {
    const tag = suffix();
    const p = await cwA.post('/v1/people', personBody({ legalName: `Şahin Çelik Zz${tag}` }));
    const id = p.json().id as string;
    const renamed = await cwA.patch(`/v1/people/${id}`, { legalName: `Yılmaz Ayşe Zz${tag}` }, { 'if-match': '"1"' });
    expect(renamed.statusCode).toBe(200);
    expect((await dup(cwA, `Sahin Celik Zz${tag}`)).json().items).toEqual([]);
    expect((await dup(cwA, `YILMAZ AYSE ZZ${tag}`)).json().items.map((i: { id: string }) => i.id)).toEqual([id]);
    await env.sql('UPDATE people SET legal_name_tokens = NULL WHERE id = $1', [id]);
    expect((await dup(cwA, `YILMAZ AYSE ZZ${tag}`)).json().items).toEqual([]);
    expect(await backfillNameTokens(env.app)).toBeGreaterThanOrEqual(1);
    expect((await dup(cwA, `YILMAZ AYSE ZZ${tag}`)).json().items.map((i: { id: string }) => i.id)).toEqual([id]);
  });

  it('the start-up backfill writes one statement per batch, leaves unreadable names empty, and stops when the pool closes', async () => {
    const tag = suffix();
    const ids: string[] = [];
    for (const n of ['Petrov Ivan', 'Sidorova Anna', 'Kuznetsov Oleg']) {
      ids.push((await cwA.post('/v1/people', personBody({ legalName: `${n} Zz${tag}` }))).json().id as string);
    }
    await env.sql('UPDATE people SET legal_name_tokens = NULL WHERE id = ANY($1::uuid[])', [ids]);
    // A name this keyring cannot open (as in the benchmark's COPY-seeded people).
    await env.sql("UPDATE people SET legal_name_enc = 'v1:not-a-ciphertext' WHERE id = $1", [ids[2]]);
    const statements: string[] = [];
    const pool = env.app.sqlPool;
    const counting = Object.assign(Object.create(pool) as typeof pool, {
      query: (text: string, values: unknown[]) => {
        statements.push(text.trim().split(/\s+/)[0]);
        return pool.query(text, values);
      },
    });
    const app = Object.assign(Object.create(env.app) as typeof env.app, { sqlPool: counting });
    expect(await backfillNameTokens(app, 2)).toBeGreaterThanOrEqual(3);
    expect(statements.filter((s) => s === 'UPDATE').length).toBe(statements.filter((s) => s === 'SELECT').length - 1);
    const rows = await env.sql<{ id: string; t: string[] }>(
      'SELECT id, legal_name_tokens AS t FROM people WHERE id = ANY($1::uuid[])',
      [ids],
    );
    expect(rows.find((r) => r.id === ids[0])!.t.length).toBeGreaterThan(0);
    expect(rows.find((r) => r.id === ids[2])!.t).toEqual([]);
    // Closing: no query once the pool is ending (no "backfill failed" at shutdown).
    await env.sql('UPDATE people SET legal_name_tokens = NULL WHERE id = $1', [ids[1]]);
    const ending = Object.assign(Object.create(env.app) as typeof env.app, {
      sqlPool: Object.assign(Object.create(pool) as typeof pool, {
        ending: true,
        query: () => Promise.reject(new Error('Cannot use a pool after calling end on the pool')),
      }),
    });
    await expect(backfillNameTokens(ending)).resolves.toBe(0);
    expect(await backfillNameTokens(env.app)).toBeGreaterThanOrEqual(1);
  });

  it('coordinators and lawyers may not check (403)', async () => {
    for (const role of ['COORDINATOR', 'LAWYER'] as const) {
      const c = await clientFor(env, role);
      expect((await dup(c, 'Ivanov Petr')).statusCode).toBe(403);
    }
  });
});
