// Request validation on every case-related POST: a missing field, a bad enum,
// a lowercase country, an unknown field, malformed or non-JSON bodies and
// non-UUID ids each answer an RFC 9457 problem naming the offending field, and
// a rejected request writes nothing.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientFor,
  createCase,
  createTeam,
  createUser,
  chargeBody,
  eventBody,
  expectProblem,
  personBody,
  rawPost,
  setupTestEnv,
  writeSnapshot,
  type Client,
  type TestEnv,
} from './helpers.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await setupTestEnv();
});
afterAll(async () => env?.close());

describe('POST body validation', () => {
  let team: string;
  let cw: Client;
  let caseId: string;
  let personId: string;
  let lawyerId: string;
  beforeAll(async () => {
    team = await createTeam(env, ['AM', 'GE']);
    cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const c = await createCase(cw, team);
    caseId = c.caseId;
    personId = c.personId;
    lawyerId = (await createUser(env, 'LAWYER')).id;
  });

  type Route = {
    name: string;
    url: () => string;
    valid: () => Record<string, unknown>;
    required: string[];
    enumField: string;
    country?: string;
  };
  const routes: Route[] = [
    {
      name: 'POST /v1/people',
      url: () => '/v1/people',
      valid: () => personBody(),
      required: ['pseudonym', 'legalName', 'citizenship', 'travelDocumentStatus'],
      enumField: 'travelDocumentStatus',
      country: 'citizenship',
    },
    {
      name: 'POST /v1/cases',
      url: () => '/v1/cases',
      valid: () => ({ personId, teamId: team, hostCountry: 'AM' }),
      required: ['personId', 'teamId', 'hostCountry'],
      enumField: 'riskLevel',
      country: 'hostCountry',
    },
    {
      name: 'POST /v1/cases/:id/charges',
      url: () => `/v1/cases/${caseId}/charges`,
      valid: () => chargeBody(),
      required: ['issuingCountry', 'code', 'article', 'category', 'mechanism', 'status'],
      enumField: 'mechanism',
      country: 'issuingCountry',
    },
    {
      name: 'POST /v1/cases/:id/events',
      url: () => `/v1/cases/${caseId}/events`,
      valid: () => eventBody(),
      required: ['type', 'country', 'occurredAt'],
      enumField: 'type',
      country: 'country',
    },
    {
      name: 'POST /v1/cases/:id/assignments',
      url: () => `/v1/cases/${caseId}/assignments`,
      valid: () => ({ lawyerId, role: 'LEAD' }),
      required: ['lawyerId', 'role'],
      enumField: 'role',
    },
  ];

  for (const r of routes) {
    describe(r.name, () => {
      it('a missing required field -> 400 problem naming body.<field>; nothing written', async () => {
        const before = await writeSnapshot(env);
        for (const field of r.required) {
          const body = r.valid();
          delete body[field];
          expectProblem(await cw.post(r.url(), body), 400, `body.${field}`);
        }
        expect(await writeSnapshot(env)).toEqual(before);
      });

      it('an invalid enum value -> 400 naming it', async () => {
        const before = await writeSnapshot(env);
        expectProblem(
          await cw.post(r.url(), { ...r.valid(), [r.enumField]: 'NOT_A_VALUE' }),
          400,
          `body.${r.enumField}`,
        );
        expect(await writeSnapshot(env)).toEqual(before);
      });

      if (r.country) {
        it('a lowercase country code -> 400 naming it', async () => {
          const before = await writeSnapshot(env);
          expectProblem(
            await cw.post(r.url(), { ...r.valid(), [r.country!]: r.country === 'issuingCountry' ? 'ru' : 'am' }),
            400,
            `body.${r.country}`,
          );
          expect(await writeSnapshot(env)).toEqual(before);
        });
      }

      it('an unknown extra field -> 400 that mentions the field', async () => {
        const before = await writeSnapshot(env);
        const p = expectProblem(await cw.post(r.url(), { ...r.valid(), isAdmin: true }), 400);
        expect(p.errors?.length).toBeGreaterThan(0);
        expect(JSON.stringify(p.errors)).toContain('isAdmin');
        expect(await writeSnapshot(env)).toEqual(before);
      });

      it('malformed JSON, an empty JSON body, a text body and an unsupported media type -> problem, nothing written', async () => {
        const before = await writeSnapshot(env);
        expectProblem(await rawPost(env, cw, r.url(), '{"pseudonym": "x",'), 400);
        expectProblem(await rawPost(env, cw, r.url(), ''), 400);
        // Fastify parses text/plain as a string, which then fails the object schema
        expectProblem(await rawPost(env, cw, r.url(), 'pseudonym=x', 'text/plain'), 400, 'body');
        expectProblem(await rawPost(env, cw, r.url(), '<person/>', 'application/xml'), 415);
        expect(await writeSnapshot(env)).toEqual(before);
      });

      it('a wrong JSON type (array instead of object) -> 400', async () => {
        expectProblem(await rawPost(env, cw, r.url(), '[]'), 400);
      });
    });
  }

  it('a non-UUID :id on POST sub-resources -> 400 params.id; unknown case -> 404', async () => {
    for (const sub of ['charges', 'events', 'assignments']) {
      expectProblem(await cw.post(`/v1/cases/42/${sub}`, {}), 400, 'params.id');
    }
    expectProblem(await cw.post(`/v1/cases/${randomUUID()}/charges`, chargeBody()), 404);
    expectProblem(await cw.post(`/v1/cases/${randomUUID()}/events`, eventBody()), 404);
    expectProblem(await cw.post(`/v1/cases/${randomUUID()}/assignments`, { lawyerId, role: 'LEAD' }), 404);
  });
});
