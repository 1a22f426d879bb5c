// Case summaries and event source links encrypted at rest (summaries searchable by whole words through a keyed
// index, hidden from coordinators (issue 11, "stored data that leaks").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptLegacySummaries } from '../src/modules/cases/case-summary.ts';
import { encryptLegacySourceUrls } from '../src/modules/cases/event-sources.ts';
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

describe('event source links at rest', () => {
  it('are encrypted, shown with the details only (never to coordinators), and named-not-valued in the audit log', async () => {
    const slug = `ivan-petrov-${uniq()}-detained`;
    const url = `https://news.example.org/2026/${slug}`;
    const { caseId } = await createCase(cw, teamId);
    const created = await cw.post(`/v1/cases/${caseId}/events`, {
      type: 'DETENTION',
      country: 'AM',
      occurredAt: '2026-03-01',
      sourceUrls: [url],
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().sourceUrls).toEqual([url]);
    const [raw] = await env.sql<Record<string, unknown>>('SELECT * FROM events WHERE id = $1', [created.json().id]);
    expect(JSON.stringify(raw)).not.toContain(slug);
    expect((await cw.get(`/v1/cases/${caseId}/events`)).json().items[0].sourceUrls).toEqual([url]);
    const seen = (await coord.get(`/v1/cases/${caseId}/events`)).json().items[0];
    expect(seen.sourceUrls).toEqual([]);
    const timeline = JSON.stringify((await coord.get(`/v1/cases/${caseId}/timeline`)).json());
    expect(timeline).not.toContain(slug);
    const audit = await env.sql('SELECT changes FROM audit_entries WHERE entity_id = $1', [created.json().id]);
    expect(JSON.stringify(audit)).toContain('sourceUrls');
    expect(JSON.stringify(audit)).not.toContain(slug);
  });

  it('legacy plain links are encrypted by the start-up pass', async () => {
    const { caseId } = await createCase(cw, teamId);
    const e = (
      await cw.post(`/v1/cases/${caseId}/events`, { type: 'DETENTION', country: 'AM', occurredAt: '2026-03-02' })
    ).json();
    await env.sql(`UPDATE events SET source_urls = ARRAY['https://old.example.org/a'] WHERE id = $1`, [e.id]);
    expect(await encryptLegacySourceUrls(env.app)).toBeGreaterThanOrEqual(1);
    const [raw] = await env.sql<{ source_urls: string[]; source_urls_enc: string }>(
      'SELECT source_urls, source_urls_enc FROM events WHERE id = $1',
      [e.id],
    );
    expect(raw.source_urls).toEqual([]);
    expect(raw.source_urls_enc).toMatch(/^v1\./);
    expect((await cw.get(`/v1/cases/${caseId}/events`)).json().items[0].sourceUrls).toEqual([
      'https://old.example.org/a',
    ]);
  });
});
