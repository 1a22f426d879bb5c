// POST /v1/people answers with the likely duplicates of the name just
// registered: those the caller may see (as GET /v1/people/duplicates lists
// them, with score and visible cases), a count of those in other teams
// (hiddenMatches, never identified) and askTeam; never the new person itself.
// The check is audited by counts only, with the person's creation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

let env: TestEnv;
let teamA: string;
let cwA: Client;
let cwB: Client;
let admin: Client;
let lawyer: Client;
// Letters only: a unique third name keeps each test's matches its own.
const suffix = () => `Zz${uniq().replace(/\d/g, 'x')}`;

beforeAll(async () => {
  env = await setupTestEnv();
  teamA = await createTeam(env, ['KZ']);
  cwA = await clientFor(env, 'CASEWORKER', { teamIds: [teamA] });
  cwB = await clientFor(env, 'CASEWORKER', { teamIds: [await createTeam(env, ['AM'])] });
  admin = await clientFor(env, 'ADMIN');
  lawyer = await clientFor(env, 'LAWYER', { teamIds: [teamA] });
});
afterAll(async () => env?.close());

const create = (c: Client, legalName: string) => c.post('/v1/people', personBody({ legalName }));

const checks = (entityId: string) =>
  env.sql<{ actor_id: string; changes: Record<string, unknown> }>(
    "SELECT actor_id, changes FROM audit_entries WHERE action = 'person.duplicate_check' AND entity_id = $1",
    [entityId],
  );

describe('POST /v1/people shows likely duplicates', () => {
  it("team A's caseworker registering the Latin spelling sees team A's Cyrillic person, with score and case", async () => {
    const tag = suffix();
    const known = await createCase(cwA, teamA, 'KZ', `Иванов Пётр ${tag}`);
    const res = await create(cwA, `Ivanov Petr ${tag}`);
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body.legalName).toBe(`Ivanov Petr ${tag}`);
    expect(body.duplicates).toEqual([
      {
        id: known.personId,
        pseudonym: expect.any(String),
        score: 0.95,
        sameDateOfBirth: null,
        cases: [{ id: known.caseId, reference: known.reference, teamId: teamA }],
      },
    ]);
    expect(body.hiddenMatches).toBe(0);
    expect(body.askTeam).toBe(false);
    // The same candidates as the lookup, less the new person (whom the lookup now also finds).
    const lookup = await cwA.get(`/v1/people/duplicates?${new URLSearchParams({ legalName: `Ivanov Petr ${tag}` })}`);
    expect(
      lookup
        .json()
        .items.map((i: { id: string }) => i.id)
        .sort(),
    ).toEqual([known.personId, body.id].sort());
    // Audited by counts only, against the new person, like GET /v1/people/duplicates.
    const audit = await checks(body.id);
    expect(audit).toEqual([
      { actor_id: cwA.userId, changes: { matches: 1, hiddenMatches: 0, withDateOfBirth: false } },
    ]);
    expect(JSON.stringify(audit)).not.toMatch(/ivanov|иванов|petr/i);
    // A read of the person is the plain person, without duplicates.
    const read = await cwA.get(`/v1/people/${body.id}`);
    expect(read.json()).not.toHaveProperty('duplicates');
  });

  it("team B's caseworker gets only a count: hiddenMatches 1, askTeam, no identity", async () => {
    const tag = suffix();
    const known = await createCase(cwA, teamA, 'KZ', `Смирнов Борис ${tag}`);
    const res = await create(cwB, `Smirnov Boris ${tag}`);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ duplicates: [], hiddenMatches: 1, askTeam: true });
    for (const secret of [known.personId, known.caseId, known.reference, teamA, 'Смирнов']) {
      expect(res.body).not.toContain(secret);
    }
    expect((await checks(res.json().id))[0].changes).toEqual({ matches: 0, hiddenMatches: 1, withDateOfBirth: false });
    // An admin sees every match, and nothing is hidden.
    const byAdmin = await create(admin, `Smirnov Boris ${tag}`);
    expect(byAdmin.statusCode, byAdmin.body).toBe(201);
    const ids = byAdmin.json().duplicates.map((d: { id: string }) => d.id);
    expect(ids).toContain(known.personId);
    expect(ids).toContain(res.json().id);
    expect(ids).not.toContain(byAdmin.json().id);
    expect(byAdmin.json()).toMatchObject({ hiddenMatches: 0, askTeam: false });
  });

  it('a new name has no candidates; a lawyer still may not register anyone', async () => {
    const res = await create(cwA, `Unmatched Person ${suffix()}`);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ duplicates: [], hiddenMatches: 0, askTeam: false });
    expect((await create(lawyer, `Unmatched Person ${suffix()}`)).statusCode).toBe(403);
  });

  it('parallel registrations of the same name: all 201, none lists itself, each check audited once', async () => {
    const tag = suffix();
    const known = await createCase(cwA, teamA, 'KZ', `Сидоров Олег ${tag}`);
    const results = await Promise.all(Array.from({ length: 4 }, () => create(cwA, `Sidorov Oleg ${tag}`)));
    expect(results.map((r) => r.statusCode)).toEqual([201, 201, 201, 201]);
    for (const r of results) {
      const ids = r.json().duplicates.map((d: { id: string }) => d.id);
      expect(ids).toContain(known.personId);
      expect(ids).not.toContain(r.json().id);
      expect(await checks(r.json().id)).toHaveLength(1);
    }
  });
});
