// Case summaries encrypted at rest, searchable by whole words through a keyed
// index, hidden from coordinators (issue 11, "stored data that leaks").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptLegacySummaries } from '../src/modules/cases/case-summary.ts';
import { clientFor, createCase, createTeam, setupTestEnv, uniq, type Client, type TestEnv } from './helpers.ts';

let env: TestEnv;
let cw: Client;
let coord: Client;
let teamId: string;

beforeAll(async () => {
  env = await setupTestEnv();
  teamId = await createTeam(env);
  cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
  coord = await clientFor(env, 'COORDINATOR');
});
afterAll(async () => env?.close());

describe('case summary at rest', () => {
  it('is stored encrypted (no plain text, no plain words), readable by the team, hidden from coordinators', async () => {
    const marker = `Gyumri${uniq()}`;
    const { caseId } = await createCase(cw, teamId);
    const patched = await cw.patch(`/v1/cases/${caseId}`, { summary: `Held in ${marker} after a raid`, version: 1 });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json().summary).toBe(`Held in ${marker} after a raid`);
    const [raw] = await env.sql<Record<string, unknown>>('SELECT * FROM cases WHERE id = $1', [caseId]);
    expect(raw.summary).toBeNull();
    expect(JSON.stringify(raw).toLowerCase()).not.toContain(marker.toLowerCase());
    expect((await cw.get(`/v1/cases/${caseId}`)).json().summary).toContain(marker);
    expect((await coord.get(`/v1/cases/${caseId}`)).json().summary).toBeNull();
    const listed = (await coord.get('/v1/cases?limit=100')).json().items.find((c: { id: string }) => c.id === caseId);
    expect(listed.summary).toBeNull();
    // The audit entry names the field, never the text.
    const audit = await env.sql<{ changes: unknown }>(
      `SELECT changes FROM audit_entries WHERE action = 'case.update' AND entity_id = $1`,
      [caseId],
    );
    expect(JSON.stringify(audit)).toContain('summary');
    expect(JSON.stringify(audit)).not.toContain(marker);
  });

  it('is found by whole words (any case, accents folded), not by fragments', async () => {
    const word = `Šiauliai${uniq()}`;
    const { caseId } = await createCase(cw, teamId);
    await cw.patch(`/v1/cases/${caseId}`, { summary: `Transferred via ${word} checkpoint`, version: 1 });
    const ids = async (q: string) =>
      (await cw.get(`/v1/cases?q=${encodeURIComponent(q)}`)).json().items.map((c: { id: string }) => c.id);
    expect(await ids(word.toUpperCase())).toEqual([caseId]);
    expect(await ids(word.replace('Š', 'S'))).toEqual([caseId]);
    expect(await ids(`${word} checkpoint`)).toEqual([caseId]);
    expect(await ids(word.slice(0, 6))).toEqual([]);
  });

  it('legacy plain summaries are encrypted by the start-up pass and stay readable', async () => {
    const { caseId } = await createCase(cw, teamId);
    await env.sql(`UPDATE cases SET summary = 'legacy plain words', summary_enc = NULL WHERE id = $1`, [caseId]);
    expect((await cw.get(`/v1/cases/${caseId}`)).json().summary).toBe('legacy plain words');
    expect(await encryptLegacySummaries(env.app)).toBeGreaterThanOrEqual(1);
    const [raw] = await env.sql<{ summary: string | null; summary_enc: string | null }>(
      'SELECT summary, summary_enc FROM cases WHERE id = $1',
      [caseId],
    );
    expect(raw.summary).toBeNull();
    expect(raw.summary_enc).toMatch(/^v1\./);
    expect((await cw.get(`/v1/cases/${caseId}`)).json().summary).toBe('legacy plain words');
    expect(await encryptLegacySummaries(env.app)).toBe(0);
  });
});
