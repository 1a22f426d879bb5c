// Issue 12, one name per concept in statistics and exports: hostCountry and
// teamId as on cases, the earlier country/team kept as deprecated aliases
// (400 when both disagree), k only at the top level of an export; and CSV
// statistics with their metadata inline (?metadata=inline).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clientFor, createTeam, expectProblem, setupTestEnv, uniq, type Client, type TestEnv } from './helpers.ts';
import { seedEvents } from './stats-fixture.ts';

let env: TestEnv;
let coord: Client;
let teamId: string;

beforeAll(async () => {
  env = await setupTestEnv({ queues: true, env: { STATS_DEFAULT_K: '3', STATS_EPSILON_BUDGET: '1000' } });
  teamId = await createTeam(env, ['AM', 'GE', 'KZ']);
  const cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
  coord = await clientFor(env, 'COORDINATOR');
  await seedEvents(cw, teamId, uniq());
}, 120_000);
afterAll(async () => env?.close());
// Each test reads tables on its own (the cross-request audit has its own suite).
beforeEach(async () => {
  await env.sql('DELETE FROM stats_query_log');
  await env.sql('DELETE FROM stats_epsilon_spend');
});

const ALL = 'AM,GE,KZ';

describe('statistics filters: hostCountry and teamId, country and team as deprecated aliases', () => {
  it('hostCountry and its alias country give the same table; metadata names hostCountry', async () => {
    const a = await coord.get(`/v1/stats/events?groupBy=hostCountry&hostCountry=${ALL}`);
    const b = await coord.get(`/v1/stats/events?groupBy=hostCountry&country=${ALL}`);
    expect(a.statusCode, a.body).toBe(200);
    expect(b.statusCode, b.body).toBe(200);
    expect(a.json().cells).toEqual(b.json().cells);
    expect(a.json().total).toMatchObject({ events: 21, cases: 13 });
    for (const r of [a, b]) expect(r.json().metadata.filters).toEqual({ hostCountry: ['AM', 'GE', 'KZ'] });
  });

  it('teamId and its alias team; metadata names teamId', async () => {
    const a = await coord.get(`/v1/stats/events?teamId=${teamId}`);
    const b = await coord.get(`/v1/stats/events?team=${teamId}`);
    expect(a.json().total).toMatchObject({ events: 21, cases: 13 });
    expect(b.json().total).toEqual(a.json().total);
    for (const r of [a, b]) expect(r.json().metadata.filters).toEqual({ teamId: [teamId] });
  });

  it('both names with the same values (any order) are accepted; with different values 400 naming the alias', async () => {
    const same = await coord.get(
      `/v1/stats/events?hostCountry=${ALL}&country=KZ,GE,AM&teamId=${teamId}&team=${teamId}`,
    );
    expect(same.statusCode, same.body).toBe(200);
    const country = await coord.get(`/v1/stats/events?hostCountry=${ALL}&country=AM`);
    expect(expectProblem(country, 400, 'querystring.country').detail).toMatch(/deprecated alias of hostCountry/);
    expectProblem(await coord.get(`/v1/stats/events?teamId=${teamId}&team=${randomUUID()}`), 400, 'querystring.team');
    const chart = await coord.get(`/v1/stats/events/chart.svg?groupBy=year&hostCountry=AM&country=GE`);
    expectProblem(chart, 400, 'querystring.country');
  });

  it('a refused filter is named as the client sent it', async () => {
    // AM,GE leaves out the 2 KZ cases, fewer than k = 3.
    expectProblem(await coord.get('/v1/stats/events?hostCountry=AM,GE'), 422, 'querystring.hostCountry');
    expectProblem(await coord.get('/v1/stats/events?country=AM,GE'), 422, 'querystring.country');
  });

  it('bad values are refused under either name', async () => {
    expectProblem(await coord.get('/v1/stats/events?hostCountry=Armenia'), 400, 'querystring.hostCountry');
    expectProblem(await coord.get('/v1/stats/events?teamId=not-a-uuid'), 400, 'querystring.teamId');
  });

  it('the OpenAPI document marks the aliases deprecated', async () => {
    const doc = (await env.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const params = doc.paths['/v1/stats/events'].get.parameters as {
      name: string;
      deprecated?: boolean;
      description?: string;
    }[];
    const byName = Object.fromEntries(params.map((p) => [p.name, p]));
    expect(byName.country.deprecated).toBe(true);
    expect(byName.team.deprecated).toBe(true);
    expect(byName.country.description).toMatch(/deprecated alias of hostCountry/);
    expect(byName.hostCountry.deprecated).toBeUndefined();
    expect(byName.teamId.deprecated).toBeUndefined();
    const chartParams = doc.paths['/v1/stats/events/chart.svg'].get.parameters as {
      name: string;
      deprecated?: boolean;
    }[];
    expect(chartParams.find((p) => p.name === 'country')?.deprecated).toBe(true);
    const body = JSON.stringify(doc.paths['/v1/exports'].post.requestBody);
    expect(body).toMatch(/"deprecated":true/);
    expect(body).toContain('hostCountry');
  });
});

describe('export filters: the same names; k at the top level only', () => {
  const create = (body: object) => coord.post('/v1/exports', { kind: 'events-anonymised', ...body });

  it('hostCountry/teamId are stored and echoed as sent; k is top-level, never inside filters', async () => {
    const res = await create({ k: 4, filters: { hostCountry: ['AM', 'GE', 'KZ'], teamId: [teamId] } });
    expect(res.statusCode, res.body).toBe(202);
    const got = (await coord.get(`/v1/exports/${res.json().id}`)).json();
    expect(got.k).toBe(4);
    expect(got.filters).toEqual({ hostCountry: ['AM', 'GE', 'KZ'], teamId: [teamId] });
  });

  it('the aliases country/team are accepted and echoed under the new names', async () => {
    const res = await create({ filters: { country: ['AM', 'GE', 'KZ'], team: [teamId] } });
    expect(res.statusCode, res.body).toBe(202);
    const got = (await coord.get(`/v1/exports/${res.json().id}`)).json();
    expect(got.k).toBe(3);
    expect(got.filters).toEqual({ hostCountry: ['AM', 'GE', 'KZ'], teamId: [teamId] });
  });

  it('both names with different values: 400 naming the alias; filters.k refused', async () => {
    expectProblem(
      await create({ filters: { hostCountry: ['AM', 'GE', 'KZ'], country: ['KZ'] } }),
      400,
      'body.filters.country',
    );
    expectProblem(await create({ filters: { teamId: [teamId], team: [randomUUID()] } }), 400, 'body.filters.team');
    // k lives at the top level, as the answer shows it: inside filters it is an unknown field.
    const k = expectProblem(await create({ filters: { k: 5 } }), 400);
    expect(JSON.stringify(k.errors)).toContain('body.filters');
  });

  it('a refused export filter is named as the client sent it', async () => {
    // An unfiltered table first: an export leaving out only the 2 KZ cases would then isolate them.
    expect((await coord.get('/v1/stats/events')).statusCode).toBe(200);
    expectProblem(await create({ filters: { hostCountry: ['AM', 'GE'] } }), 422, 'body.filters.hostCountry');
    expectProblem(await create({ filters: { country: ['AM', 'GE'] } }), 422, 'body.filters.country');
  });
});

describe('CSV statistics: ?metadata=inline', () => {
  const url = '/v1/stats/events?groupBy=hostCountry&k=3&format=csv';

  it('by default the CSV starts with its header row and the metadata is in x-stats-metadata only', async () => {
    const res = await coord.get(url);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body.startsWith('hostCountry,events,cases,suppressed,suppression,row\r\n')).toBe(true);
    expect(res.body).not.toContain('#');
    expect(JSON.parse(String(res.headers['x-stats-metadata'])).k).toBe(3);
  });

  it('inline: the header metadata as leading "# key: value" lines, then the same CSV', async () => {
    const plain = await coord.get(url);
    const res = await coord.get(`${url}&metadata=inline&epsilon=1`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const header = JSON.parse(String(res.headers['x-stats-metadata']));
    const lines = res.body.split('\r\n');
    const comments = lines.filter((l) => l.startsWith('#'));
    // Every comment line leads; the first line after them is the CSV header row.
    expect(lines.slice(0, comments.length)).toEqual(comments);
    expect(lines[comments.length]).toBe('hostCountry,events,cases,suppressed,suppression,row');
    const meta = Object.fromEntries(
      comments.map((l) => {
        const m = /^# ([A-Za-z0-9.]+): (.*)$/.exec(l);
        expect(m, l).not.toBeNull();
        return [m![1], m![2]];
      }),
    );
    expect(meta.k).toBe('3');
    expect(meta.kFloor).toBe('3');
    expect(meta.epsilon).toBe('1');
    expect(meta['noise.epsilon']).toBe('1');
    expect(meta['noise.bound95']).toBe(String(header.noise.bound95));
    expect(meta['suppressedCells.total']).toBe(String(header.suppressedCells.total));
    expect(meta['suppressedTotals.primary']).toBe(String(header.suppressedTotals.primary));
    expect(meta.groupBy).toBe('hostCountry');
    expect(meta.generatedAt).toBe(header.generatedAt);
    expect(meta.note).toBe(header.note);
    expect(meta.filters).toBe('(none)');
    // Without noise, the rest is the default CSV byte for byte.
    const noNoise = await coord.get(`${url}&metadata=inline`);
    const rest = noNoise.body.split('\r\n').filter((l) => !l.startsWith('#'));
    expect(rest.join('\r\n')).toBe(plain.body);
    expect(noNoise.body).toContain('# noise: null\r\n');
  });

  it('metadata takes header or inline only', async () => {
    expectProblem(await coord.get(`${url}&metadata=body`), 400, 'querystring.metadata');
  });
});
