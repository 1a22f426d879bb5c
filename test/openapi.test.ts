// The served OpenAPI document (issue 12): every operation carries what a
// client generator and a reader need. Fails when a route forgets any of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationIdFor } from '../src/lib/openapi.ts';
import { setupTestEnv, type TestEnv } from './helpers.ts';

type Res = { description?: string; content?: Record<string, { schema?: { $ref?: string } }>; headers?: object };
type Op = {
  operationId?: string;
  summary?: string;
  description?: string;
  'x-roles'?: string[];
  parameters?: { in: string; name: string }[];
  responses: Record<string, Res>;
};

let env: TestEnv;
let doc: { paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, unknown> } };
let ops: [string, Op][];

beforeAll(async () => {
  env = await setupTestEnv({ queues: true });
  doc = (await env.app.inject({ url: '/docs/json' })).json();
  ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([m, op]) => [`${m.toUpperCase()} ${path}`, op] as [string, Op]),
  );
});
afterAll(async () => env?.close());

describe('OpenAPI document', () => {
  it('derives readable, unique operation ids', () => {
    expect(operationIdFor('GET', '/v1/cases/:id/timeline')).toBe('getCasesByIdTimeline');
    expect(operationIdFor('POST', '/v1/me/mfa/totp/confirm')).toBe('postMeMfaTotpConfirm');
    const ids = ops.map(([, op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('every operation has an operationId, a summary, a description saying who may call it, and x-roles', () => {
    const missing = ops
      .filter(([name]) => !name.includes(' /docs') && !name.includes(' /admin/queues/'))
      .filter(
        ([, op]) =>
          !op.operationId ||
          !op.summary ||
          !/Who may call|Public:/.test(op.description ?? '') ||
          !op['x-roles']?.length,
      )
      .map(([name]) => name);
    expect(missing).toEqual([]);
  });

  it('errors are application/problem+json with the shared Problem schema; no "Default Response"', () => {
    expect(doc.components.schemas).toHaveProperty('Problem');
    for (const [name, op] of ops) {
      for (const [status, res] of Object.entries(op.responses)) {
        expect(res.description, `${name} ${status}`).not.toBe('Default Response');
        // /health/ready's 503 is its own status document, not a problem.
        if (Number(status) >= 400 && res.content && !name.includes(' /health/')) {
          expect(Object.keys(res.content), `${name} ${status}`).toEqual(['application/problem+json']);
          expect(res.content['application/problem+json'].schema?.$ref, `${name} ${status}`).toBe(
            '#/components/schemas/Problem',
          );
        }
        if (status === '429' || status === '503') {
          expect(res.headers, `${name} ${status}`).toHaveProperty('Retry-After');
        }
      }
    }
  });

  it('declares the real media type of answers that are not JSON', () => {
    const types = (path: string) => Object.keys(doc.paths[path].get.responses['200'].content ?? {});
    expect(types('/v1/stats/events/chart.svg')).toEqual(['image/svg+xml']);
    expect(types('/v1/calendar/{file}')).toEqual(['text/calendar']);
    expect(types('/v1/audit/checkpoint')).toEqual(['text/plain']);
    expect(types('/v1/exports/{id}/download')).toEqual(['text/csv', 'application/json']);
    expect(types('/v1/documents/{id}/content')).toEqual(['application/octet-stream']);
    expect(types('/v1/stats/events')).toEqual(['application/json', 'text/csv']);
  });

  it('documents Idempotency-Key on POSTs and roles on admin routes', () => {
    const createCase = doc.paths['/v1/cases'].post;
    expect(createCase.parameters?.map((p) => p.name)).toContain('Idempotency-Key');
    expect(doc.paths['/v1/users'].post['x-roles']).toEqual(['ADMIN']);
    expect(doc.paths['/v1/auth/login'].post['x-roles']).toEqual(['public']);
    expect(doc.paths['/v1/me'].get['x-roles']).toEqual(['signed in']);
  });
});
