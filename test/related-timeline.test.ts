// A case's timeline shows the events of its linked cases (kind related_event)
// that the caller may see: the linked case's id and reference and the event's
// type, country and date, never its details, city or other legal data. A link
// to a case the caller may not see adds nothing, not even a count.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor, createCase, createTeam, eventBody, setupTestEnv, type Client, type TestEnv } from './helpers.ts';

let env: TestEnv;
let teamA: string;
let teamB: string;
let cwA: Client;
let cwB: Client;
let cwAB: Client;
let lawyer: Client;
beforeAll(async () => {
  env = await setupTestEnv();
  teamA = await createTeam(env, ['AM']);
  teamB = await createTeam(env, ['GE']);
  cwA = await clientFor(env, 'CASEWORKER', { teamIds: [teamA] });
  cwB = await clientFor(env, 'CASEWORKER', { teamIds: [teamB] });
  cwAB = await clientFor(env, 'CASEWORKER', { teamIds: [teamA, teamB] });
  lawyer = await clientFor(env, 'LAWYER');
});
afterAll(async () => env?.close());

type Item = { kind: string; id: string; at: string; summary: string; data: Record<string, unknown> };

async function timeline(c: Client, caseId: string) {
  const res = await c.get(`/v1/cases/${caseId}/timeline`);
  expect(res.statusCode, res.body).toBe(200);
  return { body: res.body, items: res.json().items as Item[] };
}

async function addEvent(c: Client, caseId: string, over: Record<string, unknown>) {
  const res = await c.post(`/v1/cases/${caseId}/events`, eventBody(over));
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string };
}

async function link(c: Client, caseId: string, otherCaseId: string, kind = 'RELATED') {
  const res = await c.post(`/v1/cases/${caseId}/links`, { otherCaseId, kind });
  expect(res.statusCode, res.body).toBe(201);
}

describe('related cases on the timeline', () => {
  it("a linked case's events the caller may see appear without details; another team's linked case adds nothing", async () => {
    const a1 = await createCase(cwA, teamA);
    const a2 = await createCase(cwA, teamA);
    const b1 = await createCase(cwB, teamB, 'GE');
    const own = await addEvent(cwA, a1.caseId, { type: 'DETENTION', country: 'AM', occurredAt: '2026-03-01' });
    const a2Event = await addEvent(cwA, a2.caseId, {
      type: 'COURT_HEARING',
      country: 'AM',
      occurredAt: '2026-03-05',
      city: 'Gyumri',
      authority: 'Fictional district court',
      details: 'Secret-A2-details',
    });
    const b1Event = await addEvent(cwB, b1.caseId, {
      type: 'THREAT',
      country: 'GE',
      occurredAt: '2026-03-03',
      details: 'Secret-B1-details',
    });
    // Two links of different kinds between a1 and a2: a2's events still appear once.
    await link(cwA, a1.caseId, a2.caseId, 'SAME_PROCEEDINGS');
    await link(cwA, a2.caseId, a1.caseId, 'RELATED');
    await link(cwAB, a1.caseId, b1.caseId);

    // Team A's caseworker: a2's event, not b1's (nor its id, reference, link or details).
    const forA = await timeline(cwA, a1.caseId);
    expect(forA.items.filter((i) => i.kind === 'event').map((i) => i.id)).toEqual([own.id]);
    const related = forA.items.filter((i) => i.kind === 'related_event');
    expect(related).toEqual([
      {
        kind: 'related_event',
        id: a2Event.id,
        at: '2026-03-05T00:00:00.000Z',
        summary: `COURT_HEARING in AM (linked case ${a2.reference})`,
        data: {
          eventId: a2Event.id,
          caseId: a2.caseId,
          reference: a2.reference,
          type: 'COURT_HEARING',
          country: 'AM',
          occurredAt: '2026-03-05T00:00:00.000Z',
          occurredAtPrecision: 'DAY',
        },
      },
    ]);
    for (const secret of ['Secret-A2-details', 'Gyumri', 'Fictional district court']) {
      expect(forA.body).not.toContain(secret);
    }
    for (const hidden of [b1.caseId, b1.reference, b1Event.id, 'THREAT', 'Secret-B1-details']) {
      expect(forA.body).not.toContain(hidden);
    }
    // In time order with the case's own items.
    const order = forA.items.map((i) => i.id);
    expect(order.indexOf(own.id)).toBeLessThan(order.indexOf(a2Event.id));

    // From b1, team B's caseworker sees nothing of the team A cases it is linked to.
    const forB = await timeline(cwB, b1.caseId);
    expect(forB.items.filter((i) => i.kind === 'related_event')).toEqual([]);
    for (const hidden of [a1.caseId, a1.reference, own.id]) expect(forB.body).not.toContain(hidden);

    // A caseworker in both teams sees both linked cases' events (details still left out).
    const forAB = await timeline(cwAB, a1.caseId);
    expect(
      forAB.items
        .filter((i) => i.kind === 'related_event')
        .map((i) => i.id)
        .sort(),
    ).toEqual([a2Event.id, b1Event.id].sort());
    expect(forAB.body).not.toContain('Secret-B1-details');

    // A lawyer assigned to a1 only: a2 is not theirs, so nothing related.
    const assigned = await cwA.post(`/v1/cases/${a1.caseId}/assignments`, { lawyerId: lawyer.userId, role: 'LEAD' });
    expect(assigned.statusCode, assigned.body).toBe(201);
    const forLawyer = await timeline(lawyer, a1.caseId);
    expect(forLawyer.items.filter((i) => i.kind === 'related_event')).toEqual([]);
    expect(forLawyer.body).not.toContain(a2.reference);
  });

  it('an unlinked case shows no related events; removing the link removes them', async () => {
    const a = await createCase(cwA, teamA);
    const b = await createCase(cwA, teamA);
    await addEvent(cwA, b.caseId, { type: 'DETENTION', country: 'AM' });
    expect((await timeline(cwA, a.caseId)).items.filter((i) => i.kind === 'related_event')).toEqual([]);
    const res = await cwA.post(`/v1/cases/${a.caseId}/links`, { otherCaseId: b.caseId, kind: 'RELATED' });
    expect((await timeline(cwA, a.caseId)).items.filter((i) => i.kind === 'related_event')).toHaveLength(1);
    expect((await cwA.del(`/v1/case-links/${res.json().id}`)).statusCode).toBe(204);
    expect((await timeline(cwA, a.caseId)).items.filter((i) => i.kind === 'related_event')).toEqual([]);
  });
});
