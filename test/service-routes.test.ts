// Service routes that need no token: liveness, readiness (PostgreSQL and, when
// configured, Redis) and the OpenAPI 3.1 document.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await setupTestEnv();
});
afterAll(async () => env?.close());

describe('service routes', () => {
  it('GET /health/live -> 200 {status: ok} without a token', async () => {
    const res = await env.app.inject({ url: '/health/live' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('GET /health/ready -> 200 with checks.postgres ok', async () => {
    const res = await env.app.inject({ url: '/health/ready' });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.status).toBe('ok');
    expect(body.checks.postgres).toBe('ok');
    expect(['ok', 'not-configured']).toContain(body.checks.redis);
  });

  it('GET /docs/json is an OpenAPI 3.1 document with the contract paths', async () => {
    const res = await env.app.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/cases/{id}',
        '/v1/people/duplicates',
        '/v1/auth/login',
        '/v1/cases',
        '/v1/people',
        '/v1/cases/{id}/timeline',
      ]),
    );
    expect(doc.paths['/v1/cases/{id}']).toHaveProperty('get');
    expect(doc.paths['/v1/cases/{id}']).toHaveProperty('patch');
    expect(doc.paths['/v1/auth/login']).toHaveProperty('post');
  });
});
