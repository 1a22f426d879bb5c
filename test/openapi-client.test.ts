// A front-end's afternoon (issue 12): generate TypeScript types from the
// served /docs/json with openapi-typescript, type-check a small client
// against them with the TypeScript compiler (a misspelt field must not
// compile), then run that same client against the real API over HTTP: sign
// in, list cases, read a timeline.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor, createCase, createTeam, DEFAULT_PASSWORD, setupTestEnv, type TestEnv } from './helpers.ts';

// The client a front-end developer would write: every type comes from the
// generated schema.d.ts (paths and components), none is written by hand.
const CLIENT = `
import type { components, paths } from './schema';

type LoginBody = paths['/v1/auth/login']['post']['requestBody']['content']['application/json'];
type LoginAnswer = paths['/v1/auth/login']['post']['responses'][200]['content']['application/json'];
type CaseQuery = NonNullable<paths['/v1/cases']['get']['parameters']['query']>;
type CasePage = components['schemas']['CaseListItemPage'];
type Timeline = paths['/v1/cases/{id}/timeline']['get']['responses'][200]['content']['application/json'];
export type Problem = components['schemas']['Problem'];

async function call<T>(url: string, init: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) {
    const problem = (await res.json()) as Problem;
    throw new Error(problem.type + ': ' + problem.detail);
  }
  return (await res.json()) as T;
}

export async function signIn(base: string, body: LoginBody): Promise<string> {
  const answer = await call<LoginAnswer>(base + '/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!('accessToken' in answer)) throw new Error('a second factor is needed');
  return answer.accessToken;
}

export async function listCases(base: string, token: string, query: CaseQuery): Promise<CasePage> {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  return call<CasePage>(base + '/v1/cases?' + qs, { headers: { authorization: 'Bearer ' + token } });
}

export async function timeline(base: string, token: string, id: string): Promise<Timeline> {
  return call<Timeline>(base + '/v1/cases/' + id + '/timeline', { headers: { authorization: 'Bearer ' + token } });
}

export function firstCase(page: CasePage): { id: string; reference: string; hostCountry: string } {
  const c = page.items[0];
  return { id: c.id, reference: c.reference, hostCountry: c.hostCountry };
}
`;

let env: TestEnv;
let dir: string;
let base: string;

/** Type errors of `files` (name → source) compiled together in `dir`, as "file: message". */
function typeErrors(files: Record<string, string>): string[] {
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  const program = ts.createProgram(
    Object.keys(files)
      .filter((n) => n.endsWith('.ts'))
      .map((n) => path.join(dir, n)),
    {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
      types: [],
      skipLibCheck: true,
    },
  );
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => `${path.basename(d.file?.fileName ?? '')}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

beforeAll(async () => {
  env = await setupTestEnv();
  dir = mkdtempSync(path.join(os.tmpdir(), 'openapi-client-'));
  base = await env.app.listen({ host: '127.0.0.1', port: 0 });
  const doc = (await env.app.inject({ url: '/docs/json' })).json();
  writeFileSync(path.join(dir, 'schema.d.ts'), astToString(await openapiTS(doc)));
});
afterAll(async () => {
  await env?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a client generated with openapi-typescript', () => {
  it('names the main resources and compiles a client that signs in, lists cases and reads a timeline', () => {
    expect(typeErrors({ 'client.ts': CLIENT })).toEqual([]);
  });

  it('does not compile a misspelt field, a wrong enum value or a missing required field', () => {
    const misspelt = CLIENT.replace('reference: c.reference', 'reference: c.refrence');
    expect(typeErrors({ 'client.ts': misspelt }).join('\n')).toMatch(/refrence/);
    const wrongBody = `
      import type { paths } from './schema';
      type NewCase = paths['/v1/cases']['post']['requestBody']['content']['application/json'];
      export const a: NewCase = { personId: 'p', teamId: 't', hostCountry: 'DE', riskLevel: 'EXTREME' };
      export const b: NewCase = { personId: 'p', hostCountry: 'DE' };
    `;
    const errors = typeErrors({ 'bad.ts': wrongBody }).join('\n');
    expect(errors).toMatch(/EXTREME/);
    expect(errors).toMatch(/teamId/);
  });

  it('the compiled client works against the real API over HTTP', async () => {
    const team = await createTeam(env, ['DE']);
    const caseworker = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const made = await createCase(caseworker, team, 'DE');
    // The very client that compiled above, transpiled to JavaScript and run.
    const js = ts.transpileModule(CLIENT, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    }).outputText;
    writeFileSync(path.join(dir, 'client.mjs'), js);
    const client = (await import(pathToFileURL(path.join(dir, 'client.mjs')).href)) as {
      signIn: (base: string, body: { email: string; password: string }) => Promise<string>;
      listCases: (base: string, token: string, q: Record<string, unknown>) => Promise<{ items: unknown[] }>;
      timeline: (base: string, token: string, id: string) => Promise<{ items: unknown[] }>;
      firstCase: (page: { items: unknown[] }) => { id: string; reference: string; hostCountry: string };
    };
    const token = await client.signIn(base, { email: caseworker.email, password: DEFAULT_PASSWORD });
    const page = await client.listCases(base, token, { limit: 10 });
    expect(client.firstCase(page)).toEqual({ id: made.caseId, reference: made.reference, hostCountry: 'DE' });
    const events = await client.timeline(base, token, made.caseId);
    expect(Array.isArray(events.items)).toBe(true);
    await expect(client.signIn(base, { email: caseworker.email, password: 'wrong password' })).rejects.toThrow(
      /invalid-credentials|401|credentials/,
    );
  });
});
