// Examples and named schemas of the served OpenAPI document (issue 12):
// every operation has a request body example (when it takes a body) and a
// 2xx response example (when it answers a body), each valid against its own
// schema (JSON Schema 2020-12, the dialect of OpenAPI 3.1, checked by ajv);
// the main resources are named components that operations $ref.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleFor, overlay } from '../src/lib/openapi-examples.ts';
import { setupTestEnv, type TestEnv } from './helpers.ts';

type Media = { schema?: object; example?: unknown };
type Op = {
  operationId: string;
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { content?: Record<string, Media> }>;
};
type Doc = { paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, object> } };

let env: TestEnv;
let doc: Doc;
let ops: Op[];

beforeAll(async () => {
  env = await setupTestEnv();
  doc = (await env.app.inject({ url: '/docs/json' })).json();
  ops = Object.values(doc.paths).flatMap((methods) => Object.values(methods));
});
afterAll(async () => env?.close());

const BASE = 'https://example.org/openapi/';
/** A validator for schemas of the document: component $refs resolve to the components. */
function makeAjv(schemas: Record<string, object>) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false });
  addFormats.default(ajv);
  ajv.addFormat('binary', true);
  const rebase = (s: object) => JSON.parse(JSON.stringify(s).replaceAll('"#/components/schemas/', `"${BASE}`));
  for (const [name, s] of Object.entries(schemas)) ajv.addSchema({ ...rebase(s), $id: BASE + name });
  return (schema: object, value: unknown) => {
    const validate = ajv.compile(rebase(schema));
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}

describe('OpenAPI examples', () => {
  it('every operation has its examples, and each one is valid against its schema', () => {
    const check = makeAjv(doc.components.schemas);
    const missing: string[] = [];
    const invalid: string[] = [];
    for (const op of ops) {
      if (!op.operationId) continue; // /docs and Bull Board: not part of the API
      const media: [string, Media][] = Object.entries(op.requestBody?.content ?? {}).map(([t, m]) => [
        `${op.operationId} request ${t}`,
        m,
      ]);
      const ok = Object.entries(op.responses).filter(([status]) => /^2/.test(status));
      for (const [status, res] of ok) {
        for (const [t, m] of Object.entries(res.content ?? {})) media.push([`${op.operationId} ${status} ${t}`, m]);
      }
      // An operation that answers a body must show one; 204-only operations have none to show.
      if (
        ok.some(([, r]) => r.content) &&
        !ok.some(([, r]) => Object.values(r.content ?? {}).some((m) => 'example' in m))
      ) {
        missing.push(`${op.operationId} response`);
      }
      for (const [where, m] of media) {
        if (!('example' in m)) missing.push(where);
        else if (m.schema) invalid.push(...check(m.schema, m.example).map((e) => `${where}: ${e}`));
      }
    }
    expect(missing).toEqual([]);
    expect(invalid).toEqual([]);
  });

  it('uses the hand-written examples where given (invented data)', () => {
    const login = doc.paths['/v1/auth/login'].post.requestBody?.content['application/json'].example;
    expect(login).toEqual({ email: 'mira.casewell@example.org', password: 'correct-horse-battery-staple' });
    const list = doc.paths['/v1/cases'].get.responses['200'].content?.['application/json'].example as {
      items: { reference: string; pseudonym: string }[];
    };
    expect(list.items[0]).toMatchObject({ reference: 'ARK-2026-000123', pseudonym: 'P-7KQ2' });
  });

  it('the generator honours formats, enums, bounds and $refs; hand-written parts overlay generated ones', () => {
    const components = { Thing: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } } } };
    const made = exampleFor(
      {
        type: 'object',
        properties: {
          thing: { $ref: '#/components/schemas/Thing' },
          hostCountry: { type: 'string', pattern: '^[A-Z]{2}$' },
          status: { type: 'string', enum: ['OPEN', 'CLOSED'] },
          limit: { type: 'integer', minimum: 1, maximum: 10 },
          tags: { type: 'array', items: { type: 'string' }, minItems: 2 },
          note: { anyOf: [{ type: 'string', maxLength: 3 }, { type: 'null' }] },
        },
      },
      components,
    ) as Record<string, unknown>;
    expect(made).toMatchObject({ hostCountry: 'DE', status: 'OPEN', limit: 10, note: 'fic' });
    expect((made.thing as { id: string }).id).toMatch(/^[0-9a-f-]{36}$/);
    expect(made.tags).toHaveLength(2);
    expect(overlay({ a: 1, b: { c: 2, d: 3 }, l: [{ x: 1, y: 2 }] }, { b: { c: 9 }, l: [{ x: 7 }, { x: 8 }] })).toEqual(
      {
        a: 1,
        b: { c: 9, d: 3 },
        l: [
          { x: 7, y: 2 },
          { x: 8, y: 2 },
        ],
      },
    );
  });
});

describe('OpenAPI error answers', () => {
  // redocly's operation-4xx-response, kept here with its exceptions (redocly.yaml turns it off):
  // these take no input and refuse no caller.
  const NO_4XX = ['getHealthLive', 'getHealthReady', 'getIntakeChallenge'];
  it('every operation but the probes and the intake challenge declares a 4xx answer', () => {
    const without = ops
      .filter((op) => op.operationId && !Object.keys(op.responses).some((s) => /^4/.test(s)))
      .map((op) => op.operationId);
    expect(without.sort()).toEqual([...NO_4XX].sort());
  });
});

describe('OpenAPI named schemas', () => {
  it('the main resources are components, and operations $ref them', () => {
    const names = Object.keys(doc.components.schemas);
    for (const n of ['Case', 'CaseListItem', 'CaseListItemPage', 'Person', 'Event', 'Charge', 'Assignment']) {
      expect(names, n).toContain(n);
    }
    for (const n of ['Deadline', 'Document', 'User', 'Team', 'Problem', 'Checkpoint', 'TokenPair', 'PersonPage']) {
      expect(names, n).toContain(n);
    }
    const ref = (path: string, method: string, status: string, type = 'application/json') =>
      (doc.paths[path][method].responses[status].content?.[type].schema as { $ref?: string }).$ref;
    expect(ref('/v1/cases/{id}', 'get', '200')).toBe('#/components/schemas/Case');
    expect(ref('/v1/cases', 'post', '201')).toBe('#/components/schemas/Case');
    expect(ref('/v1/cases', 'get', '200')).toBe('#/components/schemas/CaseListItemPage');
    expect(ref('/v1/people/{id}', 'get', '200')).toBe('#/components/schemas/Person');
    expect(ref('/v1/teams', 'post', '201')).toBe('#/components/schemas/Team');
    expect(ref('/v1/audit/checkpoint', 'get', '200', 'text/plain')).toBe('#/components/schemas/Checkpoint');
  });

  it('every component is used, and every $ref points to a component', () => {
    const text = JSON.stringify(doc.paths);
    const all = JSON.stringify(doc);
    const refs = new Set([...all.matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]));
    for (const r of refs) expect(doc.components.schemas, r).toHaveProperty(r);
    for (const n of Object.keys(doc.components.schemas)) {
      const usedElsewhere = Object.entries(doc.components.schemas).some(
        ([other, s]) => other !== n && JSON.stringify(s).includes(`"#/components/schemas/${n}"`),
      );
      expect(text.includes(`"#/components/schemas/${n}"`) || usedElsewhere, n).toBe(true);
    }
  });
});
