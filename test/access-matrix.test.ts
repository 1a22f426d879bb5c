// The need-to-know access matrix: every case route against every kind of actor,
// plus the moments access changes (assignment ended, team membership removed),
// and the end-to-end "done when" scenario over real HTTP.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import {
  chargeBody,
  clientFor,
  createCase,
  createTeam,
  createUser,
  DEFAULT_PASSWORD,
  eventBody,
  expectProblem,
  personBody,
  setupTestEnv,
  uniq,
  type Client,
  type TestEnv,
} from './helpers.ts';
import { summaryTerm, summaryWords } from '../src/modules/cases/case-summary.ts';

/** Cases whose (encrypted) summary holds every word of `text`, found through the summary's word index. */
async function casesWithSummary(text: string): Promise<number> {
  const terms = summaryWords(text).map((w) => summaryTerm(env.app.crypto, w));
  return env.db.case.count({ where: { summaryTerms: { hasEvery: terms } } });
}

let env: TestEnv;

type ActorKey =
  'admin' | 'coordinator' | 'cwTeam' | 'cwOther' | 'cwNone' | 'lawyerAssigned' | 'lawyerNever' | 'lawyerEnded';
/** legal: sees the case with legal data; coord: sees it without legal data, writes nothing; hidden: must get 404. */
type Access = 'legal' | 'coord' | 'hidden';

const ACTORS: { key: ActorKey; label: string; access: Access; managesAssignments: boolean }[] = [
  { key: 'admin', label: 'ADMIN', access: 'legal', managesAssignments: true },
  { key: 'coordinator', label: 'COORDINATOR', access: 'coord', managesAssignments: false },
  { key: 'cwTeam', label: "CASEWORKER of the case's team", access: 'legal', managesAssignments: true },
  { key: 'cwOther', label: 'CASEWORKER of another team', access: 'hidden', managesAssignments: false },
  { key: 'cwNone', label: 'CASEWORKER in no team', access: 'hidden', managesAssignments: false },
  { key: 'lawyerAssigned', label: 'LAWYER currently assigned', access: 'legal', managesAssignments: false },
  { key: 'lawyerNever', label: 'LAWYER never assigned', access: 'hidden', managesAssignments: false },
  { key: 'lawyerEnded', label: 'LAWYER whose assignment was ended', access: 'hidden', managesAssignments: false },
];

let teamA: string; // the fixture cases' team (AM, GE)
let teamB: string; // another team (AM, GE)
const c = {} as Record<ActorKey, Client>;
let lawyerSpare: Client; // assigned to every fixture, target of the DELETE rows
let lawyerFresh: Client; // never assigned before a POST assignments row runs

type Fixture = {
  token: string;
  personId: string;
  caseId: string;
  reference: string;
  pseudonym: string;
  legalName: string;
  dateOfBirth: string;
  contact: string;
  notes: string;
  details: string;
  chargeId: string;
  eventId: string;
  assignedId: string;
  endedId: string;
  spareId: string;
};

function expectStatus(res: LightMyRequestResponse, status: number) {
  expect(res.statusCode, `${res.statusCode} ${res.body.slice(0, 400)}`).toBe(status);
}

/** A case of team A made by its caseworker: person with full legal data, a charge, an event with details,
 * a current assignment of lawyerAssigned, an ended one of lawyerEnded and a current one of lawyerSpare. */
async function makeFixture(): Promise<Fixture> {
  const cw = c.cwTeam;
  const u = uniq();
  const f = {
    token: `mx${u}`,
    pseudonym: `PM-${u}`,
    legalName: `Aleksei Matrixov ${u}`,
    dateOfBirth: '1987-06-05',
    contact: `+374-55-${u}`,
    notes: `private notes ${u}`,
    details: `held in the basement of the station ${u}`,
  };
  const p = await cw.post('/v1/people', {
    pseudonym: f.pseudonym,
    legalName: f.legalName,
    dateOfBirth: f.dateOfBirth,
    citizenship: 'RU',
    contacts: [{ kind: 'SIGNAL', value: f.contact }],
    notes: f.notes,
    travelDocumentStatus: 'INTERNATIONAL_VALID',
  });
  expectStatus(p, 201);
  const cs = await cw.post('/v1/cases', {
    personId: p.json().id,
    teamId: teamA,
    hostCountry: 'AM',
    summary: `Matrix case ${f.token}`,
  });
  expectStatus(cs, 201);
  const caseId = cs.json().id as string;
  const ch = await cw.post(`/v1/cases/${caseId}/charges`, chargeBody());
  expectStatus(ch, 201);
  const ev = await cw.post(
    `/v1/cases/${caseId}/events`,
    eventBody({ city: 'Yerevan', occurredAt: '2025-03-01T10:00:00+04:00', details: f.details, termDays: 40 }),
  );
  expectStatus(ev, 201);
  const a1 = await cw.post(`/v1/cases/${caseId}/assignments`, { lawyerId: c.lawyerAssigned.userId, role: 'LEAD' });
  expectStatus(a1, 201);
  const a2 = await cw.post(`/v1/cases/${caseId}/assignments`, { lawyerId: c.lawyerEnded.userId, role: 'SUPPORTING' });
  expectStatus(a2, 201);
  expectStatus(await cw.del(`/v1/cases/${caseId}/assignments/${a2.json().id}`), 204);
  const a3 = await cw.post(`/v1/cases/${caseId}/assignments`, { lawyerId: lawyerSpare.userId, role: 'SUPPORTING' });
  expectStatus(a3, 201);
  return {
    ...f,
    personId: p.json().id,
    caseId,
    reference: cs.json().reference,
    chargeId: ch.json().id,
    eventId: ev.json().id,
    assignedId: a1.json().id,
    endedId: a2.json().id,
    spareId: a3.json().id,
  };
}

/** 404 problem that discloses nothing about the case. */
function expectHidden(res: LightMyRequestResponse, f: Fixture) {
  expectProblem(res, 404);
  for (const secret of [
    f.legalName,
    f.pseudonym,
    f.reference,
    f.details,
    f.contact,
    f.notes,
    f.token,
    'RU-CC',
    'Yerevan',
  ]) {
    expect(res.body).not.toContain(secret);
  }
}

function expectForbidden(res: LightMyRequestResponse, f: Fixture) {
  expectProblem(res, 403);
  for (const secret of [f.legalName, f.details, f.contact, f.notes]) expect(res.body).not.toContain(secret);
}

/** No legal data anywhere in a coordinator's response. */
function expectNoLegalText(res: LightMyRequestResponse, f: Fixture) {
  for (const secret of [f.legalName, f.dateOfBirth, f.contact, f.notes, f.details]) {
    expect(res.body).not.toContain(secret);
  }
}

function expectPersonWithLegal(person: Record<string, unknown>, f: Fixture) {
  expect(person.id).toBe(f.personId);
  expect(person.pseudonym).toBe(f.pseudonym);
  expect(person.legalDataVisible).toBe(true);
  expect(person.legalName).toBe(f.legalName);
  expect(person.dateOfBirth).toBe(f.dateOfBirth);
  expect(person.contacts).toEqual([{ kind: 'SIGNAL', value: f.contact }]);
  expect(person.notes).toBe(f.notes);
}

function expectPersonWithoutLegal(person: Record<string, unknown>, f: Fixture) {
  expect(person.id).toBe(f.personId);
  expect(person.pseudonym).toBe(f.pseudonym);
  expect(person.legalDataVisible).toBe(false);
  for (const k of ['legalName', 'dateOfBirth', 'contacts', 'notes']) expect(person).not.toHaveProperty(k);
}

function expectEventDetails(ev: Record<string, unknown>, access: 'legal' | 'coord', details: string) {
  if (access === 'legal') {
    expect(ev.detailsVisible).toBe(true);
    expect(ev.details).toBe(details);
  } else {
    expect(ev.detailsVisible).toBe(false);
    expect(ev).not.toHaveProperty('details');
  }
}

const ids = (res: LightMyRequestResponse) => (res.json().items as { id: string }[]).map((i) => i.id);

type Row = {
  route: string;
  check: (actor: (typeof ACTORS)[number], cl: Client, f: Fixture) => Promise<void>;
};

const ROUTES: Row[] = [
  {
    route: 'GET /v1/cases/:id',
    check: async (a, cl, f) => {
      const res = await cl.get(`/v1/cases/${f.caseId}`);
      if (a.access === 'hidden') return expectHidden(res, f);
      expectStatus(res, 200);
      const body = res.json();
      expect(body.id).toBe(f.caseId);
      expect(body.reference).toBe(f.reference);
      expect(res.headers.etag).toBe('"1"');
      if (a.access === 'legal') expectPersonWithLegal(body.person, f);
      else {
        expectPersonWithoutLegal(body.person, f);
        expectNoLegalText(res, f);
      }
    },
  },
  {
    route: 'PATCH /v1/cases/:id (If-Match)',
    check: async (a, cl, f) => {
      const res = await cl.patch(`/v1/cases/${f.caseId}`, { riskLevel: 'HIGH' }, { 'if-match': '"1"' });
      const row = await env.db.case.findUniqueOrThrow({ where: { id: f.caseId } });
      if (a.access === 'legal') {
        expectStatus(res, 200);
        expect(res.json().riskLevel).toBe('HIGH');
        expect(res.json().version).toBe(2);
        expect(res.headers.etag).toBe('"2"');
        expect(row.version).toBe(2);
        return;
      }
      if (a.access === 'coord') expectForbidden(res, f);
      else expectHidden(res, f);
      expect(row.version).toBe(1);
      expect(row.riskLevel).not.toBe('HIGH');
    },
  },
  {
    route: 'GET /v1/cases/:id/charges',
    check: async (a, cl, f) => {
      const res = await cl.get(`/v1/cases/${f.caseId}/charges`);
      if (a.access === 'hidden') return expectHidden(res, f);
      expectStatus(res, 200);
      expect(ids(res)).toEqual([f.chargeId]);
      expect(res.json().items[0]).toMatchObject({
        caseId: f.caseId,
        code: 'RU-CC',
        article: '207.3',
        category: 'FAKES',
        mechanism: 'CIS_INTERSTATE_SEARCH',
        status: 'WANTED',
      });
      if (a.access === 'coord') expectNoLegalText(res, f);
    },
  },
  {
    route: 'GET /v1/charges/:id',
    check: async (a, cl, f) => {
      const res = await cl.get(`/v1/charges/${f.chargeId}`);
      if (a.access === 'hidden') return expectHidden(res, f);
      expectStatus(res, 200);
      expect(res.json()).toMatchObject({ id: f.chargeId, caseId: f.caseId, article: '207.3', version: 1 });
      expect(res.headers.etag).toBe('"1"');
      if (a.access === 'coord') expectNoLegalText(res, f);
    },
  },
  {
    route: 'POST /v1/cases/:id/charges',
    check: async (a, cl, f) => {
      const res = await cl.post(
        `/v1/cases/${f.caseId}/charges`,
        chargeBody({
          article: '280.3',
          category: 'DISCREDITING_ARMY',
          mechanism: 'INTERPOL_DIFFUSION',
          status: 'CHARGED',
        }),
      );
      const count = await env.db.charge.count({ where: { caseId: f.caseId } });
      if (a.access === 'legal') {
        expectStatus(res, 201);
        expect(res.json()).toMatchObject({ caseId: f.caseId, article: '280.3', version: 1 });
        expect(count).toBe(2);
        return;
      }
      if (a.access === 'coord') expectForbidden(res, f);
      else expectHidden(res, f);
      expect(count).toBe(1);
    },
  },
  {
    route: 'PATCH /v1/charges/:id (If-Match)',
    check: async (a, cl, f) => {
      const res = await cl.patch(
        `/v1/charges/${f.chargeId}`,
        { status: 'CHARGED', politicalMotivation: 'CONFIRMED' },
        { 'if-match': '"1"' },
      );
      const row = await env.db.charge.findUniqueOrThrow({ where: { id: f.chargeId } });
      if (a.access === 'legal') {
        expectStatus(res, 200);
        expect(res.json()).toMatchObject({
          id: f.chargeId,
          status: 'CHARGED',
          politicalMotivation: 'CONFIRMED',
          version: 2,
        });
        expect(res.headers.etag).toBe('"2"');
        expect(row.version).toBe(2);
        return;
      }
      if (a.access === 'coord') expectForbidden(res, f);
      else expectHidden(res, f);
      expect(row.version).toBe(1);
      expect(row.status).toBe('WANTED');
    },
  },
  {
    route: 'GET /v1/cases/:id/events',
    check: async (a, cl, f) => {
      const res = await cl.get(`/v1/cases/${f.caseId}/events`);
      if (a.access === 'hidden') return expectHidden(res, f);
      expectStatus(res, 200);
      expect(ids(res)).toEqual([f.eventId]);
      const ev = res.json().items[0];
      expect(ev).toMatchObject({ type: 'DETENTION', country: 'AM', city: 'Yerevan', termDays: 40 });
      expectEventDetails(ev, a.access, f.details);
      if (a.access === 'coord') expectNoLegalText(res, f);
    },
  },
  {
    route: 'GET /v1/events/:id (details read audited)',
    check: async (a, cl, f) => {
      const reads = () => env.db.auditEntry.count({ where: { caseId: f.caseId, action: 'event.read_details' } });
      const before = await reads();
      const res = await cl.get(`/v1/events/${f.eventId}`);
      if (a.access === 'hidden') {
        expectHidden(res, f);
        expect(await reads()).toBe(before);
        return;
      }
      expectStatus(res, 200);
      const ev = res.json();
      expect(ev).toMatchObject({ id: f.eventId, caseId: f.caseId, type: 'DETENTION', version: 1 });
      expect(res.headers.etag).toBe('"1"');
      expectEventDetails(ev, a.access, f.details);
      if (a.access === 'coord') {
        expectNoLegalText(res, f);
        expect(await reads()).toBe(before);
      } else expect(await reads()).toBe(before + 1);
    },
  },
  {
    route: 'GET /v1/deadlines/:id',
    check: async (a, cl, f) => {
      const made = await c.cwTeam.post(`/v1/cases/${f.caseId}/deadlines`, {
        kind: 'HEARING',
        title: `hearing ${f.token}`,
        dueDate: '2031-05-20',
      });
      expectStatus(made, 201);
      const d = made.json() as { id: string; version: number };
      const res = await cl.get(`/v1/deadlines/${d.id}`);
      if (a.access === 'hidden') return expectHidden(res, f);
      expectStatus(res, 200);
      expect(res.json()).toMatchObject({ id: d.id, caseId: f.caseId, version: d.version });
      expect(res.headers.etag).toBe(`"${d.version}"`);
      if (a.access === 'coord') expectNoLegalText(res, f);
    },
  },
  {
    route: 'POST /v1/cases/:id/events',
    check: async (a, cl, f) => {
      const newDetails = `second event details ${f.token}`;
      const res = await cl.post(
        `/v1/cases/${f.caseId}/events`,
        eventBody({ type: 'TRAVEL_BAN', occurredAt: '2025-04-01', details: newDetails }),
      );
      const count = await env.db.event.count({ where: { caseId: f.caseId } });
      if (a.access === 'legal') {
        expectStatus(res, 201);
        expect(res.json()).toMatchObject({ caseId: f.caseId, type: 'TRAVEL_BAN', version: 1 });
        expectEventDetails(res.json(), 'legal', newDetails);
        expect(count).toBe(2);
        return;
      }
      if (a.access === 'coord') expectForbidden(res, f);
      else expectHidden(res, f);
      expect(res.body).not.toContain(newDetails);
      expect(count).toBe(1);
    },
  },
  {
    route: 'PATCH /v1/events/:id (If-Match)',
    check: async (a, cl, f) => {
      const newDetails = `updated details ${f.token}`;
      const res = await cl.patch(
        `/v1/events/${f.eventId}`,
        { outcome: 'Released on bail', details: newDetails },
        { 'if-match': '"1"' },
      );
      const row = await env.db.event.findUniqueOrThrow({ where: { id: f.eventId } });
      if (a.access === 'legal') {
        expectStatus(res, 200);
        expect(res.json()).toMatchObject({ id: f.eventId, outcome: 'Released on bail', version: 2 });
        expectEventDetails(res.json(), 'legal', newDetails);
        expect(res.headers.etag).toBe('"2"');
        expect(row.version).toBe(2);
        return;
      }
      if (a.access === 'coord') expectForbidden(res, f);
      else expectHidden(res, f);
      expect(row.version).toBe(1);
      expect(row.outcome).toBeNull();
    },
  },
  {
    route: 'GET /v1/cases/:id/assignments',
    check: async (a, cl, f) => {
      const res = await cl.get(`/v1/cases/${f.caseId}/assignments`);
      if (a.access === 'hidden') return expectHidden(res, f);
      expectStatus(res, 200);
      const items = res.json().items as { id: string; lawyerId: string; endedAt: string | null }[];
      expect(items.map((i) => i.id).sort()).toEqual([f.assignedId, f.endedId, f.spareId].sort());
      expect(items.find((i) => i.id === f.endedId)?.endedAt).not.toBeNull();
      expect(items.find((i) => i.id === f.assignedId)?.endedAt).toBeNull();
      if (a.access === 'coord') expectNoLegalText(res, f);
    },
  },
  {
    route: 'POST /v1/cases/:id/assignments',
    check: async (a, cl, f) => {
      const res = await cl.post(`/v1/cases/${f.caseId}/assignments`, {
        lawyerId: lawyerFresh.userId,
        role: 'SUPPORTING',
      });
      const current = await env.db.assignment.count({
        where: { caseId: f.caseId, lawyerId: lawyerFresh.userId, endedAt: null },
      });
      if (a.managesAssignments) {
        expectStatus(res, 201);
        expect(res.json()).toMatchObject({
          caseId: f.caseId,
          lawyerId: lawyerFresh.userId,
          role: 'SUPPORTING',
          endedAt: null,
        });
        expect(current).toBe(1);
        // clean up so the shared "fresh" lawyer stays unassigned elsewhere
        expectStatus(await c.cwTeam.del(`/v1/cases/${f.caseId}/assignments/${res.json().id}`), 204);
        return;
      }
      if (a.access === 'hidden') expectHidden(res, f);
      else expectForbidden(res, f); // coordinator, assigned lawyer
      expect(current).toBe(0);
    },
  },
  {
    route: 'DELETE /v1/cases/:id/assignments/:aid',
    check: async (a, cl, f) => {
      const res = await cl.del(`/v1/cases/${f.caseId}/assignments/${f.spareId}`);
      const row = await env.db.assignment.findUniqueOrThrow({ where: { id: f.spareId } });
      if (a.managesAssignments) {
        expectStatus(res, 204);
        expect(res.body).toBe('');
        expect(row.endedAt).not.toBeNull();
        expect(row.endedById).toBe(cl.userId);
        return;
      }
      if (a.access === 'hidden') expectHidden(res, f);
      else expectForbidden(res, f); // coordinator, assigned lawyer
      expect(row.endedAt).toBeNull();
    },
  },
  {
    route: 'GET /v1/cases/:id/timeline',
    check: async (a, cl, f) => {
      const res = await cl.get(`/v1/cases/${f.caseId}/timeline`);
      if (a.access === 'hidden') return expectHidden(res, f);
      expectStatus(res, 200);
      const items = res.json().items as { kind: string; id: string; data: Record<string, unknown> }[];
      expect(items.map((i) => i.kind).sort()).toEqual([
        'assignment_ended',
        'assignment_started',
        'assignment_started',
        'assignment_started',
        'charge',
        'event',
      ]);
      const ev = items.find((i) => i.kind === 'event');
      expect(ev?.id).toBe(f.eventId);
      expectEventDetails(ev!.data, a.access, f.details);
      if (a.access === 'coord') expectNoLegalText(res, f);
    },
  },
  {
    route: 'GET /v1/people/:id',
    check: async (a, cl, f) => {
      const res = await cl.get(`/v1/people/${f.personId}`);
      if (a.access === 'hidden') return expectHidden(res, f);
      expectStatus(res, 200);
      if (a.access === 'legal') expectPersonWithLegal(res.json(), f);
      else {
        expectPersonWithoutLegal(res.json(), f);
        expectNoLegalText(res, f);
      }
    },
  },
  {
    route: 'GET /v1/people/duplicates',
    check: async (a, cl, f) => {
      const res = await cl.get(
        `/v1/people/duplicates?legalName=${encodeURIComponent(f.legalName)}&dateOfBirth=${f.dateOfBirth}`,
      );
      // The contract restricts duplicate checks to CASEWORKER and ADMIN.
      if (a.key === 'coordinator' || a.key.startsWith('lawyer')) return expectForbidden(res, f);
      expectStatus(res, 200);
      const items = res.json().items as {
        id: string;
        pseudonym: string;
        score: number;
        sameDateOfBirth: boolean | null;
        cases: { id: string; reference: string; teamId: string }[];
      }[];
      if (a.access === 'hidden') {
        expect(items).toEqual([]);
        for (const secret of [f.pseudonym, f.reference, f.personId]) expect(res.body).not.toContain(secret);
        return;
      }
      // Other fixtures share two of the three name tokens: ranked after it as partial matches.
      expect(items.filter((i) => i.score === 1)).toEqual([
        {
          id: f.personId,
          pseudonym: f.pseudonym,
          score: 1,
          sameDateOfBirth: true,
          cases: [{ id: f.caseId, reference: f.reference, teamId: teamA }],
        },
      ]);
    },
  },
  {
    route: 'GET /v1/cases (list visibility)',
    check: async (a, cl, f) => {
      const res = await cl.get(`/v1/cases?q=${f.token}&limit=100`);
      expectStatus(res, 200);
      expect(ids(res)).toEqual(a.access === 'hidden' ? [] : [f.caseId]);
      if (a.access !== 'hidden') {
        const item = res.json().items[0];
        expect(item.pseudonym).toBe(f.pseudonym);
        expect(item).not.toHaveProperty('person');
      } else {
        expect(res.body).not.toContain(f.reference);
      }
      for (const secret of [f.legalName, f.contact, f.notes, f.details]) expect(res.body).not.toContain(secret);
    },
  },
  {
    route: 'GET /v1/cases?assignedTo=',
    check: async (a, cl, f) => {
      const assigned = await cl.get(`/v1/cases?q=${f.token}&assignedTo=${c.lawyerAssigned.userId}`);
      expectStatus(assigned, 200);
      expect(ids(assigned)).toEqual(a.access === 'hidden' ? [] : [f.caseId]);
      // An ended assignment no longer counts, for anyone.
      const ended = await cl.get(`/v1/cases?q=${f.token}&assignedTo=${c.lawyerEnded.userId}`);
      expectStatus(ended, 200);
      expect(ids(ended)).toEqual([]);
      // A lawyer with no assignment anywhere: empty, never an error.
      const never = await cl.get(`/v1/cases?q=${f.token}&assignedTo=${c.lawyerNever.userId}`);
      expectStatus(never, 200);
      expect(ids(never)).toEqual([]);
    },
  },
];

beforeAll(async () => {
  env = await setupTestEnv({ env: { LOGIN_IP_MAX_ATTEMPTS: '100000' } });
  const [ta, tb] = await Promise.all([
    env.db.team.create({ data: { id: randomUUID(), name: `Matrix A ${uniq()}`, countries: ['AM', 'GE'] } }),
    env.db.team.create({ data: { id: randomUUID(), name: `Matrix B ${uniq()}`, countries: ['AM', 'GE'] } }),
  ]);
  teamA = ta.id;
  teamB = tb.id;
  const made = await Promise.all([
    clientFor(env, 'ADMIN'),
    clientFor(env, 'COORDINATOR'),
    clientFor(env, 'CASEWORKER', { teamIds: [teamA] }),
    clientFor(env, 'CASEWORKER', { teamIds: [teamB] }),
    clientFor(env, 'CASEWORKER'),
    clientFor(env, 'LAWYER'),
    clientFor(env, 'LAWYER'),
    clientFor(env, 'LAWYER'),
    clientFor(env, 'LAWYER'),
    clientFor(env, 'LAWYER'),
  ]);
  [
    c.admin,
    c.coordinator,
    c.cwTeam,
    c.cwOther,
    c.cwNone,
    c.lawyerAssigned,
    c.lawyerNever,
    c.lawyerEnded,
    lawyerSpare,
    lawyerFresh,
  ] = made;
});
afterAll(async () => env?.close());

describe('need-to-know matrix: every case route x every actor', () => {
  describe.each(ACTORS)('$label', (actor) => {
    it.each(ROUTES)('$route', async (row) => {
      const f = await makeFixture();
      await row.check(actor, c[actor.key], f);
    });
  });
});

describe('list visibility across several cases', () => {
  it('each actor lists exactly the cases they may see, and assignedTo filters within that', async () => {
    const tag = `lv${uniq()}`;
    const cwA = await clientFor(env, 'CASEWORKER', { teamIds: [teamA] });
    const cwB = await clientFor(env, 'CASEWORKER', { teamIds: [teamB] });
    const cwAB = await clientFor(env, 'CASEWORKER', { teamIds: [teamA, teamB] });
    const lawyerX = await clientFor(env, 'LAWYER');
    const lawyerY = await clientFor(env, 'LAWYER');
    const mk = async (cw: Client, teamId: string, n: string) => {
      const p = await cw.post('/v1/people', {
        pseudonym: `LV-${n}-${uniq()}`,
        legalName: `List Person ${n} ${uniq()}`,
        citizenship: ['RU', 'BY'],
        travelDocumentStatus: 'UNKNOWN',
      });
      expectStatus(p, 201);
      const r = await cw.post('/v1/cases', {
        personId: p.json().id,
        teamId,
        hostCountry: 'GE',
        summary: `${tag} case ${n}`,
      });
      expectStatus(r, 201);
      return r.json().id as string;
    };
    const a1 = await mk(cwA, teamA, 'a1');
    const a2 = await mk(cwA, teamA, 'a2');
    const b1 = await mk(cwB, teamB, 'b1');
    const assign = async (cw: Client, caseId: string, lawyer: Client) => {
      const r = await cw.post(`/v1/cases/${caseId}/assignments`, { lawyerId: lawyer.userId, role: 'LEAD' });
      expectStatus(r, 201);
      return r.json().id as string;
    };
    await assign(cwA, a1, lawyerX);
    await assign(cwB, b1, lawyerX);
    const y = await assign(cwA, a2, lawyerY);
    expectStatus(await cwA.del(`/v1/cases/${a2}/assignments/${y}`), 204);

    const list = async (cl: Client, extra = '') => {
      const res = await cl.get(`/v1/cases?q=${tag}&limit=100${extra}`);
      expectStatus(res, 200);
      return ids(res).sort();
    };
    const sorted = (...xs: string[]) => [...xs].sort();
    const expected: [string, Client, string[], string[]][] = [
      // label, client, all visible, assignedTo=lawyerX
      ['ADMIN', c.admin, sorted(a1, a2, b1), sorted(a1, b1)],
      ['COORDINATOR', c.coordinator, sorted(a1, a2, b1), sorted(a1, b1)],
      ['CASEWORKER team A', cwA, sorted(a1, a2), [a1]],
      ['CASEWORKER team B', cwB, [b1], [b1]],
      ['CASEWORKER teams A+B', cwAB, sorted(a1, a2, b1), sorted(a1, b1)],
      ['CASEWORKER no team', c.cwNone, [], []],
      ['LAWYER X (assigned a1, b1)', lawyerX, sorted(a1, b1), sorted(a1, b1)],
      ['LAWYER Y (assignment ended)', lawyerY, [], []],
      ['LAWYER never assigned', c.lawyerNever, [], []],
    ];
    for (const [label, cl, all, byX] of expected) {
      expect(await list(cl), `${label}: all`).toEqual(all);
      expect(await list(cl, `&assignedTo=${lawyerX.userId}`), `${label}: assignedTo X`).toEqual(byX);
      expect(await list(cl, `&assignedTo=${lawyerY.userId}`), `${label}: assignedTo Y (ended)`).toEqual([]);
    }
    // Filters narrow within visibility, never widen it.
    expect(await list(cwA, `&teamId=${teamB}`)).toEqual([]);
    expect(await list(c.admin, `&teamId=${teamB}`)).toEqual([b1]);
  });
});

describe('access changes take effect on the next request', () => {
  it('a lawyer whose assignment is ended loses access immediately (same token)', async () => {
    const f = await makeFixture();
    const lawyer = await clientFor(env, 'LAWYER');
    const a = await c.cwTeam.post(`/v1/cases/${f.caseId}/assignments`, { lawyerId: lawyer.userId, role: 'LEAD' });
    expectStatus(a, 201);

    const before = await lawyer.get(`/v1/cases/${f.caseId}`);
    expectStatus(before, 200);
    expectPersonWithLegal(before.json().person, f);
    expect(ids(await lawyer.get('/v1/cases'))).toEqual([f.caseId]);
    expectStatus(await lawyer.get(`/v1/people/${f.personId}`), 200);

    expectStatus(await c.cwTeam.del(`/v1/cases/${f.caseId}/assignments/${a.json().id}`), 204);

    expectHidden(await lawyer.get(`/v1/cases/${f.caseId}`), f);
    expectHidden(await lawyer.get(`/v1/cases/${f.caseId}/charges`), f);
    expectHidden(await lawyer.get(`/v1/cases/${f.caseId}/events`), f);
    expectHidden(await lawyer.get(`/v1/cases/${f.caseId}/assignments`), f);
    expectHidden(await lawyer.get(`/v1/cases/${f.caseId}/timeline`), f);
    expectHidden(await lawyer.get(`/v1/people/${f.personId}`), f);
    expectHidden(await lawyer.patch(`/v1/cases/${f.caseId}`, { status: 'MONITORING' }, { 'if-match': '"1"' }), f);
    expectHidden(await lawyer.patch(`/v1/charges/${f.chargeId}`, { status: 'DROPPED' }, { 'if-match': '"1"' }), f);
    expectHidden(await lawyer.patch(`/v1/events/${f.eventId}`, { outcome: 'x' }, { 'if-match': '"1"' }), f);
    expectHidden(
      await lawyer.post(
        `/v1/cases/${f.caseId}/charges`,
        chargeBody({ article: '275', category: 'TREASON', mechanism: 'DOMESTIC', status: 'CHARGED' }),
      ),
      f,
    );
    expectHidden(
      await lawyer.post(`/v1/cases/${f.caseId}/events`, eventBody({ type: 'THREAT', occurredAt: '2025-05-01' })),
      f,
    );
    const listed = await lawyer.get('/v1/cases');
    expectStatus(listed, 200);
    expect(ids(listed)).toEqual([]);
    expect(await env.db.charge.count({ where: { caseId: f.caseId } })).toBe(1);
    expect(await env.db.event.count({ where: { caseId: f.caseId } })).toBe(1);

    // History is kept: the ended assignment is still listed, with endedAt.
    const hist = await c.cwTeam.get(`/v1/cases/${f.caseId}/assignments`);
    expectStatus(hist, 200);
    const ended = (hist.json().items as { id: string; endedAt: string | null }[]).find((i) => i.id === a.json().id);
    expect(ended?.endedAt).toEqual(expect.any(String));
  });

  it('a caseworker removed from the team loses access immediately (same token)', async () => {
    const f = await makeFixture();
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamA] });
    const before = await cw.get(`/v1/cases/${f.caseId}`);
    expectStatus(before, 200);
    expectPersonWithLegal(before.json().person, f);
    expect(ids(await cw.get(`/v1/cases?q=${f.token}`))).toEqual([f.caseId]);

    expectStatus(await c.admin.del(`/v1/teams/${teamA}/members/${cw.userId}`), 204);

    expectHidden(await cw.get(`/v1/cases/${f.caseId}`), f);
    expectHidden(await cw.get(`/v1/cases/${f.caseId}/charges`), f);
    expectHidden(await cw.get(`/v1/cases/${f.caseId}/events`), f);
    expectHidden(await cw.get(`/v1/cases/${f.caseId}/timeline`), f);
    expectHidden(await cw.get(`/v1/people/${f.personId}`), f);
    expectHidden(await cw.patch(`/v1/cases/${f.caseId}`, { riskLevel: 'CRITICAL' }, { 'if-match': '"1"' }), f);
    expectHidden(await cw.patch(`/v1/charges/${f.chargeId}`, { status: 'DROPPED' }, { 'if-match': '"1"' }), f);
    expectHidden(
      await cw.post(
        `/v1/cases/${f.caseId}/charges`,
        chargeBody({ article: '275', category: 'TREASON', mechanism: 'DOMESTIC', status: 'CHARGED' }),
      ),
      f,
    );
    expectHidden(
      await cw.post(`/v1/cases/${f.caseId}/assignments`, { lawyerId: lawyerFresh.userId, role: 'SUPPORTING' }),
      f,
    );
    expectHidden(await cw.del(`/v1/cases/${f.caseId}/assignments/${f.spareId}`), f);
    const listed = await cw.get(`/v1/cases?q=${f.token}`);
    expectStatus(listed, 200);
    expect(ids(listed)).toEqual([]);
    const dup = await cw.get(`/v1/people/duplicates?legalName=${encodeURIComponent(f.legalName)}`);
    expectStatus(dup, 200);
    expect(dup.json().items).toEqual([]);
    // and may no longer open cases for that team
    const p = await cw.post('/v1/people', {
      pseudonym: `R-${uniq()}`,
      legalName: `Removed Own ${uniq()}`,
      citizenship: 'RU',
      travelDocumentStatus: 'NONE',
    });
    expectStatus(p, 201);
    const cs = await cw.post('/v1/cases', { personId: p.json().id, teamId: teamA, hostCountry: 'AM' });
    expectProblem(cs, 403);
    const row = await env.db.case.findUniqueOrThrow({ where: { id: f.caseId } });
    expect(row.version).toBe(1);
    expect(await env.db.charge.count({ where: { caseId: f.caseId } })).toBe(1);
    expect((await cw.get('/v1/me')).json().teamIds).toEqual([]);
  });

  it("a caseworker who registered a person loses their legal data when they leave the case's team", async () => {
    const team = await createTeam(env, ['AM']);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const kase = await createCase(cw, team);
    expect((await cw.get(`/v1/people/${kase.personId}`)).json().legalName).toBe(kase.legalName);
    expect((await c.admin.del(`/v1/teams/${team}/members/${cw.userId}`)).statusCode).toBe(204);
    const after = await cw.get(`/v1/people/${kase.personId}`);
    expectProblem(after, 404);
    expect(after.body).not.toContain(kase.legalName);
  });
});

describe('creating people and cases', () => {
  it('POST /v1/cases by a caseworker for a team they are not in -> 403, nothing created', async () => {
    for (const cw of [c.cwOther, c.cwNone]) {
      const p = await cw.post('/v1/people', personBody());
      expectStatus(p, 201);
      const summary = `not my team ${uniq()}`;
      const res = await cw.post('/v1/cases', { personId: p.json().id, teamId: teamA, hostCountry: 'AM', summary });
      expectProblem(res, 403);
      expect(await casesWithSummary(summary)).toBe(0);
    }
  });

  it('POST /v1/cases by COORDINATOR or LAWYER -> 403; by ADMIN for any team -> 201', async () => {
    const p = await c.cwTeam.post('/v1/people', personBody());
    expectStatus(p, 201);
    for (const cl of [c.coordinator, c.lawyerAssigned, c.lawyerNever]) {
      const summary = `role check ${uniq()}`;
      const res = await cl.post('/v1/cases', { personId: p.json().id, teamId: teamA, hostCountry: 'AM', summary });
      expectProblem(res, 403);
      expect(await casesWithSummary(summary)).toBe(0);
    }
    const res = await c.admin.post('/v1/cases', { personId: p.json().id, teamId: teamB, hostCountry: 'GE' });
    expectStatus(res, 201);
    expect(res.json()).toMatchObject({ teamId: teamB, hostCountry: 'GE', version: 1 });
  });

  it('POST /v1/cases with a hostCountry outside the team countries -> 400 naming body.hostCountry', async () => {
    const p = await c.cwTeam.post('/v1/people', personBody());
    expectStatus(p, 201);
    const summary = `wrong country ${uniq()}`;
    const res = await c.cwTeam.post('/v1/cases', { personId: p.json().id, teamId: teamA, hostCountry: 'KZ', summary });
    expectProblem(res, 400, 'body.hostCountry');
    const errors = res.json().errors as { path: string; message: string }[];
    expect(errors.map((e) => e.path)).toEqual(['body.hostCountry']);
    expect(await casesWithSummary(summary)).toBe(0);
  });

  it('POST /v1/people by COORDINATOR or LAWYER -> 403, nothing stored', async () => {
    for (const cl of [c.coordinator, c.lawyerAssigned, c.lawyerNever]) {
      const body = personBody();
      const res = await cl.post('/v1/people', body);
      expectProblem(res, 403);
      expect(res.body).not.toContain(body.legalName);
      expect(await env.db.person.count({ where: { pseudonym: body.pseudonym } })).toBe(0);
    }
  });
});

describe('"done when" scenario over real HTTP', () => {
  it('admin sets up, caseworker records, lawyer sees only the one case, others see 404 / no legal name', async () => {
    const address = await env.app.listen({ host: '127.0.0.1', port: 0 });
    expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const http = async (method: string, path: string, token?: string, body?: unknown) => {
      const res = await fetch(`${address}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, text, headers: res.headers, json: () => JSON.parse(text) };
    };
    const httpLogin = async (email: string, password: string) => {
      const r = await http('POST', '/v1/auth/login', undefined, { email, password });
      expect(r.status, r.text).toBe(200);
      return r.json().accessToken as string;
    };
    const u = uniq();
    const password = `a long passphrase ${[...u].reverse().join('')}-x`; // not the uniq in display names (policy)

    const adminUser = await createUser(env, 'ADMIN');
    const admin = await httpLogin(adminUser.email, DEFAULT_PASSWORD);

    const team = await http('POST', '/v1/teams', admin, { name: `South Caucasus ${u}`, countries: ['GE', 'AM'] });
    expect(team.status, team.text).toBe(201);
    expect(team.json().countries.sort()).toEqual(['AM', 'GE']);
    const otherTeam = await http('POST', '/v1/teams', admin, { name: `Central Asia ${u}`, countries: ['KZ', 'KG'] });
    expect(otherTeam.status, otherTeam.text).toBe(201);

    const mkUser = async (role: string, name: string) => {
      const r = await http('POST', '/v1/users', admin, {
        email: `${name}-${u}@example.org`,
        displayName: `${name} ${u}`,
        role,
        password,
      });
      expect(r.status, r.text).toBe(201);
      return r.json() as { id: string; email: string };
    };
    const cwUser = await mkUser('CASEWORKER', 'cw');
    const lawyerUser = await mkUser('LAWYER', 'lawyer');
    const otherCwUser = await mkUser('CASEWORKER', 'othercw');
    const coordUser = await mkUser('COORDINATOR', 'coord');
    for (const [teamId, userId] of [
      [team.json().id, cwUser.id],
      [otherTeam.json().id, otherCwUser.id],
    ]) {
      const r = await http('POST', `/v1/teams/${teamId}/members`, admin, { userId });
      expect(r.status, r.text).toBe(204);
    }

    const cw = await httpLogin(cwUser.email, password);
    const legalName = `Dmitry Exilov ${u}`;
    const person = await http('POST', '/v1/people', cw, {
      pseudonym: `Journalist-${u}`,
      legalName,
      dateOfBirth: '1985-11-20',
      citizenship: 'RU',
      travelDocumentStatus: 'INTERNATIONAL_VALID',
      tags: ['JOURNALIST'],
    });
    expect(person.status, person.text).toBe(201);
    expect(person.json().legalName).toBe(legalName);
    const kase = await http('POST', '/v1/cases', cw, {
      personId: person.json().id,
      teamId: team.json().id,
      hostCountry: 'AM',
      summary: 'Wanted by Russia for anti-war posts',
      riskLevel: 'HIGH',
    });
    expect(kase.status, kase.text).toBe(201);
    const caseId = kase.json().id as string;
    expect(kase.json().reference).toMatch(/^ARK-\d{4}-\d{6}$/);
    const charge = await http('POST', `/v1/cases/${caseId}/charges`, cw, {
      issuingCountry: 'RU',
      code: 'RU-CC',
      article: '207.3',
      category: 'FAKES',
      mechanism: 'CIS_INTERSTATE_SEARCH',
      status: 'WANTED',
    });
    expect(charge.status, charge.text).toBe(201);
    const detention = await http('POST', `/v1/cases/${caseId}/events`, cw, {
      type: 'DETENTION',
      country: 'AM',
      city: 'Yerevan',
      occurredAt: '2025-02-10T09:30:00+04:00',
      details: `Held at the airport ${u}`,
    });
    expect(detention.status, detention.text).toBe(201);
    expect(detention.json()).toMatchObject({ type: 'DETENTION', city: 'Yerevan', detailsVisible: true });
    const assignment = await http('POST', `/v1/cases/${caseId}/assignments`, cw, {
      lawyerId: lawyerUser.id,
      role: 'LEAD',
    });
    expect(assignment.status, assignment.text).toBe(201);

    const lawyer = await httpLogin(lawyerUser.email, password);
    const lawyerList = await http('GET', '/v1/cases', lawyer);
    expect(lawyerList.status).toBe(200);
    expect((lawyerList.json().items as { id: string }[]).map((i) => i.id)).toEqual([caseId]);
    const lawyerCase = await http('GET', `/v1/cases/${caseId}`, lawyer);
    expect(lawyerCase.status).toBe(200);
    expect(lawyerCase.json().person.legalName).toBe(legalName);
    const lawyerCharges = await http('GET', `/v1/cases/${caseId}/charges`, lawyer);
    expect(lawyerCharges.json().items).toMatchObject([
      { code: 'RU-CC', article: '207.3', category: 'FAKES', mechanism: 'CIS_INTERSTATE_SEARCH', status: 'WANTED' },
    ]);

    const otherCw = await httpLogin(otherCwUser.email, password);
    const hidden = await http('GET', `/v1/cases/${caseId}`, otherCw);
    expect(hidden.status).toBe(404);
    expect(hidden.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(hidden.text).not.toContain(legalName);
    expect(hidden.text).not.toContain(kase.json().reference);
    expect((await http('GET', '/v1/cases', otherCw)).json().items).toEqual([]);

    const coord = await httpLogin(coordUser.email, password);
    const coordCase = await http('GET', `/v1/cases/${caseId}`, coord);
    expect(coordCase.status).toBe(200);
    expect(coordCase.json().id).toBe(caseId);
    expect(coordCase.json().person.legalDataVisible).toBe(false);
    expect(coordCase.json().person).not.toHaveProperty('legalName');
    expect(coordCase.json().person).not.toHaveProperty('dateOfBirth');
    expect(coordCase.text).not.toContain(legalName);
    expect(coordCase.text).not.toContain('1985-11-20');
    const coordTimeline = await http('GET', `/v1/cases/${caseId}/timeline`, coord);
    expect(coordTimeline.status).toBe(200);
    expect(coordTimeline.text).not.toContain(legalName);
    expect(coordTimeline.text).not.toContain(`Held at the airport ${u}`);
    const coordWrite = await http('POST', `/v1/cases/${caseId}/charges`, coord, {
      issuingCountry: 'RU',
      code: 'RU-CC',
      article: '280.3',
      category: 'DISCREDITING_ARMY',
      mechanism: 'DOMESTIC',
      status: 'CHARGED',
    });
    expect(coordWrite.status).toBe(403);
  });
});
