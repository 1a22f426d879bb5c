// Data protection: field encryption at rest (AAD binding, key rotation),
// blind indexes, log redaction, the tamper-evident audit log, idempotent
// POSTs and optimistic concurrency. Everything runs against a real database.
import { createHash, createHmac, randomBytes, randomInt } from 'node:crypto';
import { Writable } from 'node:stream';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { sealAndVerify } from './audit-support.ts';
import { appendAudit } from '../src/modules/audit/audit.log.ts';
import { FieldCrypto, normaliseName } from '../src/lib/field-crypto.ts';
import { rotateKeys } from '../src/lib/key-rotation.ts';
import {
  chargeBody,
  clientFor,
  createTeam,
  createUser,
  DEFAULT_PASSWORD,
  eventBody,
  expectProblem,
  login,
  personBody as personBodyWith,
  setupTestEnv,
  uniq,
  writeSnapshot,
  type Client,
  type TestEnv,
} from './helpers.ts';
import { readSummary } from '../src/modules/cases/case-summary.ts';

let env: TestEnv;
/** Every personal value or credential used in this file: none may ever reach the logs. */
const sensitive: string[] = [];
const secret = <T extends string>(v: T): T => {
  sensitive.push(v);
  return v;
};

beforeAll(async () => {
  env = await setupTestEnv();
});
afterAll(async () => {
  // Every value any test above marked secret() — not only the logs test's own.
  if (env) expectNoSensitiveInLogs();
  await env?.close();
});

/** None of the secret() values, in any of the forms a log line could hold it, is in the app's log. */
function expectNoSensitiveInLogs() {
  const text = env.logs.join('');
  const forms = (s: string) => [
    s,
    encodeURIComponent(s),
    new URLSearchParams({ x: s }).toString().slice(2),
    JSON.stringify(s).slice(1, -1),
  ];
  for (const s of sensitive) {
    for (const f of forms(s)) expect(text.includes(f), `log contains ${JSON.stringify(f)}`).toBe(false);
  }
}

// ---------------------------------------------------------------- helpers

const letters = () =>
  Array.from(randomBytes(6))
    .map((b) => String.fromCharCode(97 + (b % 26)))
    .join('');

/** A person body with this legal name and no date of birth unless given (the rotation counts depend on it). */
const personBody = (legalName: string, over: Record<string, unknown> = {}) =>
  personBodyWith({ legalName, dateOfBirth: undefined, ...over });

async function newPerson(
  cw: Client,
  legalName: string,
  over: Record<string, unknown> = {},
  headers?: Record<string, string>,
) {
  const res = await cw.post('/v1/people', personBody(legalName, over), headers);
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; pseudonym: string; legalName: string };
}

async function newCase(cw: Client, personId: string, teamId: string) {
  const res = await cw.post('/v1/cases', {
    personId,
    teamId,
    hostCountry: 'AM',
    summary: 'Detained on a CIS interstate search',
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; version: number; reference: string };
}

async function rowTexts(table: string, where = 'TRUE', params: unknown[] = []): Promise<string[]> {
  const rows = await env.sql<{ r: string }>(`SELECT t::text AS r FROM ${table} t WHERE ${where}`, params);
  return rows.map((x) => x.r);
}

function expectNoneContains(texts: string[], needles: string[]) {
  for (const t of texts) {
    const lower = t.toLowerCase();
    for (const n of needles) {
      expect(lower.includes(n.toLowerCase()), `found ${JSON.stringify(n)} in ${t.slice(0, 300)}`).toBe(false);
    }
  }
}

async function auditChain(admin: Client, caseId: string) {
  const res = await admin.get(`/v1/audit?caseId=${caseId}&limit=500`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items as {
    id: string;
    leafIndex: number | null;
    seq: number | null;
    action: string;
    entityType: string;
    entityId: string | null;
    caseId: string | null;
    changes: Record<string, unknown> | null;
    prevHash: string | null;
    hash: string | null;
    actorId: string | null;
  }[];
}

async function auditCount(caseId: string) {
  const [{ n }] = await env.sql<{ n: number }>('SELECT count(*)::int AS n FROM audit_entries WHERE chain = $1', [
    caseId,
  ]);
  return n;
}

/** A case of a fresh team whose audit chain holds exactly n entries (the create and n-1 charges). */
async function freshChain(n: number) {
  const team = await createTeam(env);
  const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
  const p = await newPerson(cw, secret(`Chain Personov${letters()}`));
  const c = await newCase(cw, p.id, team);
  for (let i = 1; i < n; i++) {
    expect((await cw.post(`/v1/cases/${c.id}/charges`, chargeBody({ article: `20${i}` }))).statusCode).toBe(201);
  }
  expect(await auditCount(c.id)).toBe(n);
  return c.id;
}

// ------------------------------------------------------------ 1. at rest

describe('personal data is only ciphertext in the raw tables', () => {
  it('people, events, lawyer profiles, idempotency keys and audit rows never hold the plaintext', async () => {
    const team = await createTeam(env);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const admin = await clientFor(env, 'ADMIN');
    const sfx = letters();
    const legalName = secret(`Zinovia Kvartskhava${sfx}`);
    const dob = '1961-07-23';
    const phoneContact = secret(`+99555${randomInt(100000, 999999)}`);
    const telegram = secret(`@kvarts_${sfx}`);
    const notes = secret(`Crossed at the Upper Lars checkpoint ${sfx}`);
    const details = secret(`Held in ITT cell seven pending extradition ${sfx}`);
    const lawyerPhone = secret(`+374 77 ${randomInt(100000, 999999)}`);
    const idemName = secret(`Ostap Yarmolenkov${sfx}`);

    const person = await newPerson(cw, legalName, {
      dateOfBirth: dob,
      contacts: [
        { kind: 'PHONE', value: phoneContact },
        { kind: 'TELEGRAM', value: telegram, note: 'evenings only' },
      ],
      notes,
    });
    expect(person.legalName).toBe(legalName);
    const kase = await newCase(cw, person.id, team);
    const ev = await cw.post(`/v1/cases/${kase.id}/events`, eventBody({ details }));
    expect(ev.statusCode, ev.body).toBe(201);
    expect(ev.json().details).toBe(details);

    const lawyer = await createUser(env, 'LAWYER');
    const lp = await admin.put(`/v1/users/${lawyer.id}/lawyer-profile`, {
      jurisdictions: ['AM'],
      languages: ['ru', 'hy'],
      organisation: 'Free Bar',
      phone: lawyerPhone,
    });
    expect(lp.statusCode, lp.body).toBe(200);
    expect(lp.json().phone).toBe(lawyerPhone);

    const idemKey = `idem-${uniq()}-people`;
    const ip = await cw.post('/v1/people', personBody(idemName, { dateOfBirth: '1970-01-31', notes }), {
      'idempotency-key': idemKey,
    });
    expect(ip.statusCode, ip.body).toBe(201);
    expect(ip.json().legalName).toBe(idemName);
    // Reading it back (the reveal is audited) must not put values in the audit rows either.
    expect((await cw.get(`/v1/cases/${kase.id}`)).statusCode).toBe(200);
    expect((await cw.get(`/v1/cases/${kase.id}/events`)).json().items[0].details).toBe(details);
    expect((await admin.get(`/v1/users/${lawyer.id}/lawyer-profile`)).json().phone).toBe(lawyerPhone);

    const needles = [
      legalName,
      `Kvartskhava${sfx}`,
      dob,
      phoneContact,
      telegram,
      notes,
      details,
      lawyerPhone,
      idemName,
      `Yarmolenkov${sfx}`,
      '1970-01-31',
    ];
    const texts = [
      ...(await rowTexts('people')),
      ...(await rowTexts('events')),
      ...(await rowTexts('lawyer_profiles')),
      ...(await rowTexts('idempotency_keys')),
      ...(await rowTexts('audit_entries')),
      ...(await rowTexts('cases')),
    ];
    // The scan really covers the rows just written.
    expect(texts.some((t) => t.includes(person.id))).toBe(true);
    expect(texts.some((t) => t.includes(idemKey))).toBe(true);
    expectNoneContains(texts, needles);

    // Stored form: v1.<keyId>.<nonce>.<ct>, bound to table/column/row.
    const kid = env.config.crypto.currentKeyId;
    const shape = new RegExp(`^v1\\.${kid}\\.[A-Za-z0-9_-]{16}\\.[A-Za-z0-9_-]{22,}$`);
    const [p] = await env.sql<{
      legal_name_enc: string;
      date_of_birth_enc: string;
      contacts_enc: string;
      notes_enc: string;
    }>('SELECT legal_name_enc, date_of_birth_enc, contacts_enc, notes_enc FROM people WHERE id = $1', [person.id]);
    for (const v of Object.values(p)) expect(v).toMatch(shape);
    const ref = (column: string) => ({ table: 'people', column, rowId: person.id });
    expect(env.app.crypto.decrypt(p.legal_name_enc, ref('legal_name_enc'))).toBe(legalName);
    expect(env.app.crypto.decrypt(p.date_of_birth_enc, ref('date_of_birth_enc'))).toBe(dob);
    expect(JSON.parse(env.app.crypto.decrypt(p.contacts_enc, ref('contacts_enc')))).toEqual([
      { kind: 'PHONE', value: phoneContact },
      { kind: 'TELEGRAM', value: telegram, note: 'evenings only' },
    ]);
    expect(env.app.crypto.decrypt(p.notes_enc, ref('notes_enc'))).toBe(notes);

    const [e] = await env.sql<{ details_enc: string }>('SELECT details_enc FROM events WHERE id = $1', [ev.json().id]);
    expect(e.details_enc).toMatch(shape);
    const [l] = await env.sql<{ phone_enc: string }>('SELECT phone_enc FROM lawyer_profiles WHERE user_id = $1', [
      lawyer.id,
    ]);
    expect(l.phone_enc).toMatch(shape);
    const [k] = await env.sql<{ response_body: string; status_code: number }>(
      'SELECT response_body, status_code FROM idempotency_keys WHERE user_id = $1 AND key = $2',
      [cw.userId, idemKey],
    );
    expect(k.status_code).toBe(201);
    expect(k.response_body).toMatch(shape);

    // A random nonce per value: the same name twice gives two different ciphertexts.
    const twin = await newPerson(cw, legalName);
    const [t] = await env.sql<{ legal_name_enc: string }>('SELECT legal_name_enc FROM people WHERE id = $1', [twin.id]);
    expect(t.legal_name_enc).not.toBe(p.legal_name_enc);
  });
});

// ---------------------------------------------------------- 2. AAD binding

describe('ciphertexts are bound to their table, column and row', () => {
  const keys = new Map([['k1', randomBytes(32)]]);
  const fc = new FieldCrypto(keys, 'k1', randomBytes(32));
  const ref = { table: 'people', column: 'legal_name_enc', rowId: '11111111-1111-4111-8111-111111111111' };

  it('decrypts only with the same table, column and row id', () => {
    const ct = fc.encrypt('Arkady Moskvin', ref);
    expect(fc.decrypt(ct, ref)).toBe('Arkady Moskvin');
    expect(() => fc.decrypt(ct, { ...ref, rowId: '22222222-2222-4222-8222-222222222222' })).toThrow();
    expect(() => fc.decrypt(ct, { ...ref, column: 'notes_enc' })).toThrow();
    expect(() => fc.decrypt(ct, { ...ref, table: 'events' })).toThrow();
  });

  it('rejects tampered, truncated, malformed or unknown-key ciphertexts', () => {
    const ct = fc.encrypt('Arkady Moskvin', ref);
    const [v, kid, nonce, body] = ct.split('.');
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    expect(() => fc.decrypt([v, kid, nonce, flip(body, 0)].join('.'), ref)).toThrow();
    expect(() => fc.decrypt([v, kid, nonce, flip(body, body.length - 2)].join('.'), ref)).toThrow(); // auth tag
    expect(() => fc.decrypt([v, kid, flip(nonce, 3), body].join('.'), ref)).toThrow();
    expect(() => fc.decrypt([v, kid, nonce, body.slice(0, 10)].join('.'), ref)).toThrow();
    expect(() => fc.decrypt([v, 'k9', nonce, body].join('.'), ref)).toThrow(/unknown encryption key/);
    expect(() => fc.decrypt(['v2', kid, nonce, body].join('.'), ref)).toThrow(/malformed/);
    expect(() => fc.decrypt('Arkady Moskvin', ref)).toThrow(/malformed/);
    // Another key with the same id does not open it either.
    const other = new FieldCrypto(new Map([['k1', randomBytes(32)]]), 'k1', randomBytes(32));
    expect(() => other.decrypt(ct, ref)).toThrow();
  });

  it('a legal name copied into another person row is not revealed by the API (500 problem, no leak)', async () => {
    const team = await createTeam(env);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const nameA = secret(`Arkady Moskvinov${letters()}`);
    const nameB = secret(`Boris Lebedevsky${letters()}`);
    const a = await newPerson(cw, nameA, { dateOfBirth: '1980-02-02' });
    const b = await newPerson(cw, nameB, { dateOfBirth: '1981-03-03' });
    const [orig] = await env.sql<{ legal_name_enc: string; date_of_birth_enc: string }>(
      'SELECT legal_name_enc, date_of_birth_enc FROM people WHERE id = $1',
      [b.id],
    );
    try {
      await env.sql(
        'UPDATE people SET legal_name_enc = (SELECT legal_name_enc FROM people WHERE id = $1) WHERE id = $2',
        [a.id, b.id],
      );
      const res = await cw.get(`/v1/people/${b.id}`);
      const body = expectProblem(res, 500);
      expect(body.requestId).toBeTruthy();
      expect(res.body).not.toContain(nameA);
      expect(res.body).not.toContain(nameB);
      expect(res.body).not.toMatch(/authenticate|decipher|Unsupported state/i);
      // The source row still reads fine.
      const okA = await cw.get(`/v1/people/${a.id}`);
      expect(okA.statusCode).toBe(200);
      expect(okA.json().legalName).toBe(nameA);

      // Same row, other column: the legal-name ciphertext moved into date_of_birth_enc.
      await env.sql('UPDATE people SET legal_name_enc = $1, date_of_birth_enc = $1 WHERE id = $2', [
        orig.legal_name_enc,
        b.id,
      ]);
      const res2 = await cw.get(`/v1/people/${b.id}`);
      expectProblem(res2, 500);
      expect(res2.body).not.toContain(nameB);
    } finally {
      await env.sql('UPDATE people SET legal_name_enc = $1, date_of_birth_enc = $2 WHERE id = $3', [
        orig.legal_name_enc,
        orig.date_of_birth_enc,
        b.id,
      ]);
    }
    const back = await cw.get(`/v1/people/${b.id}`);
    expect(back.statusCode).toBe(200);
    expect(back.json()).toMatchObject({ legalName: nameB, dateOfBirth: '1981-03-03' });
  });
});

// --------------------------------------------------------- 4. blind index

describe('duplicate detection through the keyed blind index', () => {
  it('matches across case, spacing and word order, narrowed by date of birth', async () => {
    const team = await createTeam(env);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const outsider = await clientFor(env, 'CASEWORKER', { teamIds: [await createTeam(env)] });
    const admin = await clientFor(env, 'ADMIN');
    secret('Ivan Petrov');
    const ivan = await newPerson(cw, 'Ivan Petrov', { dateOfBirth: '1985-05-05' });
    const ivanCase = await newCase(cw, ivan.id, team);
    const other = await newPerson(cw, 'Ivana Petrova', { dateOfBirth: '1985-05-05' });

    const dup = (c: Client, q: Record<string, string>) =>
      c.get(`/v1/people/duplicates?${new URLSearchParams(q).toString()}`);

    const withDob = await dup(cw, { legalName: '  PETROV   ivan ', dateOfBirth: '1985-05-05' });
    expect(withDob.statusCode, withDob.body).toBe(200);
    expect(withDob.json().items).toEqual([
      {
        id: ivan.id,
        pseudonym: ivan.pseudonym,
        score: 1,
        sameDateOfBirth: true,
        cases: [{ id: ivanCase.id, reference: ivanCase.reference, teamId: team }],
      },
    ]);
    expect(withDob.body).not.toMatch(/legalName|Ivan/);

    const noDob = await dup(cw, { legalName: 'petrov, IVAN' });
    expect(noDob.statusCode).toBe(200);
    expect(noDob.json().items.map((i: { id: string }) => i.id)).toEqual([ivan.id]);
    expect(noDob.json().items[0].sameDateOfBirth).toBeNull();

    const wrongDob = await dup(cw, { legalName: 'Ivan Petrov', dateOfBirth: '1985-05-06' });
    expect(wrongDob.statusCode).toBe(200);
    expect(wrongDob.json().items).toEqual([]);

    const otherName = await dup(cw, { legalName: 'Ivan Petrova' });
    expect(otherName.json().items).toEqual([]);

    // Only people the caller may see.
    expect((await dup(outsider, { legalName: 'Ivan Petrov' })).json().items).toEqual([]);
    expect((await dup(admin, { legalName: 'ivan petrov' })).json().items.map((i: { id: string }) => i.id)).toEqual([
      ivan.id,
    ]);

    // Cyrillic ё/е and accents are folded too.
    secret('Пётр Семёнов');
    const piotr = await newPerson(cw, 'Пётр Семёнов');
    expect((await dup(cw, { legalName: 'СЕМЕНОВ петр' })).json().items.map((i: { id: string }) => i.id)).toEqual([
      piotr.id,
    ]);

    // The stored index is a keyed HMAC of the normalised name: no name, not an unkeyed hash.
    const rows = await env.sql<{ id: string; legal_name_bidx: string; dob_bidx: string | null }>(
      'SELECT id, legal_name_bidx, dob_bidx FROM people WHERE id = ANY($1::uuid[])',
      [[ivan.id, other.id]],
    );
    const ivanRow = rows.find((r) => r.id === ivan.id)!;
    const otherRow = rows.find((r) => r.id === other.id)!;
    expect(ivanRow.legal_name_bidx).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(ivanRow.legal_name_bidx.toLowerCase()).not.toMatch(/ivan|petrov/);
    expect(ivanRow.dob_bidx).not.toContain('1985');
    expect(ivanRow.legal_name_bidx).not.toBe(otherRow.legal_name_bidx);
    expect(ivanRow.dob_bidx).toBe(otherRow.dob_bidx);
    expect(ivanRow.dob_bidx).not.toBe(ivanRow.legal_name_bidx);
    const norm = normaliseName('Ivan Petrov');
    expect(norm).toBe('ivan petrov');
    expect(ivanRow.legal_name_bidx).not.toBe(createHash('sha256').update(norm).digest('base64url'));
    expect(ivanRow.legal_name_bidx).not.toBe(
      createHash('sha256').update(`person.legal_name\u0000${norm}`).digest('base64url'),
    );
    expect(ivanRow.legal_name_bidx).toBe(
      createHmac('sha256', env.config.crypto.blindIndexKey)
        .update(`person.legal_name\u0000${norm}`)
        .digest('base64url'),
    );

    // The duplicate check is audited by count only (5 lookups, and the check of each of the 3 people registered).
    const checks = await env.sql<{ r: string }>(
      "SELECT t::text AS r FROM audit_entries t WHERE action = 'person.duplicate_check' AND actor_id = $1",
      [cw.userId],
    );
    expect(checks.length).toBe(8);
    expectNoneContains(
      checks.map((c) => c.r),
      ['ivan', 'petrov', 'петр', 'семен', '1985'],
    );
  });
});

// --------------------------------------------------------- 7. idempotency

describe('Idempotency-Key on POST', () => {
  let team: string;
  let cw: Client;
  let caseId: string;
  let personId: string;
  const countEvents = async (id: string) =>
    (await env.sql<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE case_id = $1', [id]))[0].n;

  beforeAll(async () => {
    team = await createTeam(env);
    cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const p = await newPerson(cw, secret(`Idem Personov${letters()}`));
    personId = p.id;
    caseId = (await newCase(cw, p.id, team)).id;
  });

  it('a replay returns the first response and writes nothing', async () => {
    // A case of its own: the event count below is absolute.
    const caseId = (await newCase(cw, (await newPerson(cw, secret(`Replay Personov${letters()}`))).id, team)).id;
    const key = `evt-${uniq()}-${uniq()}`;
    const body = eventBody({ details: secret(`Detained at the border post ${letters()}`) });
    const auditBefore = await auditCount(caseId);
    const first = await cw.post(`/v1/cases/${caseId}/events`, body, { 'idempotency-key': key });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const second = await cw.post(`/v1/cases/${caseId}/events`, body, { 'idempotency-key': key });
    expect(second.statusCode).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.headers['idempotency-replayed']).toBe('true');
    expect(second.json()).toEqual(first.json());
    expect(second.headers['content-type']).toMatch(/^application\/json/);
    expect(await countEvents(caseId)).toBe(1);
    expect(await auditCount(caseId)).toBe(auditBefore + 1);
  });

  it('concurrent identical requests create exactly one row', async () => {
    const p = await newPerson(cw, secret(`Concurrent Personov${letters()}`));
    const c2 = (await newCase(cw, p.id, team)).id;
    const key = `conc-${uniq()}-${uniq()}`;
    const body = eventBody({ type: 'TRAVEL_BAN', details: 'flagged at the airport' });
    const results = await Promise.all(
      Array.from({ length: 5 }, () => cw.post(`/v1/cases/${c2}/events`, body, { 'idempotency-key': key })),
    );
    const statuses = results.map((r) => r.statusCode);
    for (const s of statuses) expect([201, 409]).toContain(s);
    const fresh = results.filter((r) => r.statusCode === 201 && r.headers['idempotent-replayed'] === undefined);
    expect(fresh.length).toBe(1);
    for (const r of results.filter((x) => x.statusCode === 201)) expect(r.json()).toEqual(fresh[0].json());
    for (const r of results.filter((x) => x.statusCode === 409)) expectProblem(r, 409);
    expect(await countEvents(c2)).toBe(1);
    // Once the first has finished, a retry replays it.
    const again = await cw.post(`/v1/cases/${c2}/events`, body, { 'idempotency-key': key });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(fresh[0].json());
    expect(await countEvents(c2)).toBe(1);
  });

  it('the same key with a different body or path is 422 and writes nothing', async () => {
    const key = `diff-${uniq()}-${uniq()}`;
    const n0 = await countEvents(caseId);
    const first = await cw.post(`/v1/cases/${caseId}/events`, eventBody({ type: 'THREAT' }), {
      'idempotency-key': key,
    });
    expect(first.statusCode).toBe(201);
    const changed = await cw.post(`/v1/cases/${caseId}/events`, eventBody({ type: 'ATTACK' }), {
      'idempotency-key': key,
    });
    expectProblem(changed, 422);
    expect(changed.headers['idempotent-replayed']).toBeUndefined();
    const otherPath = await cw.post(`/v1/cases/${caseId}/charges`, eventBody({ type: 'THREAT' }), {
      'idempotency-key': key,
    });
    expect(otherPath.statusCode).toBeGreaterThanOrEqual(400);
    expectProblem(otherPath, otherPath.statusCode);
    const otherPathValid = await cw.post(`/v1/cases/${caseId}/charges`, chargeBody(), { 'idempotency-key': key });
    expectProblem(otherPathValid, 422);
    expect(await countEvents(caseId)).toBe(n0 + 1);
    expect(
      (await env.sql<{ n: number }>('SELECT count(*)::int AS n FROM charges WHERE case_id = $1', [caseId]))[0].n,
    ).toBe(0);
  });

  it('rejects malformed keys with 400 before writing', async () => {
    const n0 = await countEvents(caseId);
    for (const bad of ['short', 'has space in it', 'x'.repeat(201), 'clé-clé-clé-clé']) {
      const res = await cw.post(`/v1/cases/${caseId}/events`, eventBody(), { 'idempotency-key': bad });
      const body = expectProblem(res, 400);
      expect(body.errors).toEqual([{ path: 'headers.idempotency-key', message: expect.any(String) }]);
    }
    expect(await countEvents(caseId)).toBe(n0);
    // 8 and 200 characters are the bounds.
    expect((await cw.post(`/v1/cases/${caseId}/events`, eventBody(), { 'idempotency-key': uniq() })).statusCode).toBe(
      201,
    );
    expect(
      (await cw.post(`/v1/cases/${caseId}/events`, eventBody(), { 'idempotency-key': `${uniq()}${'y'.repeat(192)}` }))
        .statusCode,
    ).toBe(201);
  });

  it("a failed attempt frees its key; keys are per user (never another user's response)", async () => {
    const key = `free-${uniq()}-${uniq()}`;
    const body = eventBody({ type: 'SURVEILLANCE' });
    const missing = await cw.post(`/v1/cases/00000000-0000-4000-8000-000000000000/events`, body, {
      'idempotency-key': key,
    });
    expectProblem(missing, 404);
    expect(
      (await env.sql('SELECT 1 FROM idempotency_keys WHERE user_id = $1 AND key = $2', [cw.userId, key])).length,
    ).toBe(0);
    const n0 = await countEvents(caseId);
    const ok = await cw.post(`/v1/cases/${caseId}/events`, body, { 'idempotency-key': key });
    expect(ok.statusCode).toBe(201);
    expect(ok.headers['idempotent-replayed']).toBeUndefined();

    const cw2 = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const theirs = await cw2.post(`/v1/cases/${caseId}/events`, body, { 'idempotency-key': key });
    expect(theirs.statusCode).toBe(201);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect(theirs.json().id).not.toBe(ok.json().id);
    expect(await countEvents(caseId)).toBe(n0 + 2);
  });

  it('a rejected request with an Idempotency-Key leaves no key behind', async () => {
    const before = await writeSnapshot(env);
    const key = `idem-${uniq()}-key`;
    expectProblem(
      await cw.post('/v1/cases', { personId, teamId: team, hostCountry: 'FR' }, { 'idempotency-key': key }),
      400,
      'body.hostCountry',
    );
    expect(await writeSnapshot(env)).toEqual(before);
    // the key is free again: a corrected request with it succeeds
    const ok = await cw.post('/v1/cases', { personId, teamId: team, hostCountry: 'GE' }, { 'idempotency-key': key });
    expect(ok.statusCode, ok.body).toBe(201);
  });
});

// ------------------------------------------------ 8. optimistic concurrency

describe('optimistic concurrency with If-Match', () => {
  let team: string;
  let cw: Client;
  let caseId: string;

  beforeAll(async () => {
    team = await createTeam(env);
    cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const p = await newPerson(cw, secret(`Version Personov${letters()}`));
    caseId = (await newCase(cw, p.id, team)).id;
  });

  /** The stored (encrypted) summary of the case, decrypted. */
  const storedSummary = (row: { summary: string | null; summaryEnc: string }, id = caseId) =>
    readSummary(env.app.crypto, { id, ...row });

  it('PATCH /v1/cases/:id: current version 200, stale 412 (nothing changed), missing 428', async () => {
    // A case of its own: the versions below start from 1.
    const caseId = (await newCase(cw, (await newPerson(cw, secret(`Fresh Versionov${letters()}`))).id, team)).id;
    const got = await cw.get(`/v1/cases/${caseId}`);
    expect(got.headers.etag).toBe('"1"');
    const ok = await cw.patch(`/v1/cases/${caseId}`, { riskLevel: 'HIGH' }, { 'if-match': '"1"' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ version: 2, riskLevel: 'HIGH' });
    expect(ok.headers.etag).toBe('"2"');

    const audit0 = await auditCount(caseId);
    const stale = await cw.patch(
      `/v1/cases/${caseId}`,
      { riskLevel: 'LOW', summary: 'overwritten' },
      { 'if-match': '"1"' },
    );
    expectProblem(stale, 412);
    const [row] = await env.sql<{ version: number; risk_level: string; summary: string | null; summaryEnc: string }>(
      'SELECT version, risk_level, summary, summary_enc AS "summaryEnc" FROM cases WHERE id = $1',
      [caseId],
    );
    expect({ ...row, summary: storedSummary(row, caseId), summaryEnc: undefined }).toEqual({
      version: 2,
      risk_level: 'HIGH',
      summary: 'Detained on a CIS interstate search',
      summaryEnc: undefined,
    });
    expect(await auditCount(caseId)).toBe(audit0);

    expectProblem(await cw.patch(`/v1/cases/${caseId}`, { riskLevel: 'LOW' }), 428);
    expectProblem(await cw.patch(`/v1/cases/${caseId}`, { riskLevel: 'LOW' }, { 'if-match': 'banana' }), 400);
    expect((await env.sql<{ version: number }>('SELECT version FROM cases WHERE id = $1', [caseId]))[0].version).toBe(
      2,
    );

    // body.version is the alternative; weak and unquoted forms are accepted.
    const viaBody = await cw.patch(`/v1/cases/${caseId}`, { riskLevel: 'CRITICAL', version: 2 });
    expect(viaBody.statusCode, viaBody.body).toBe(200);
    expect(viaBody.json().version).toBe(3);
    expectProblem(await cw.patch(`/v1/cases/${caseId}`, { riskLevel: 'LOW', version: 2 }), 412);
    expect(
      (await cw.patch(`/v1/cases/${caseId}`, { status: 'MONITORING' }, { 'if-match': 'W/"3"' })).json().version,
    ).toBe(4);
  });

  it('concurrent PATCHes with the same If-Match: exactly one wins', async () => {
    const v = (await env.sql<{ version: number }>('SELECT version FROM cases WHERE id = $1', [caseId]))[0].version;
    const results = await Promise.all(
      ['a', 'b', 'c', 'd'].map((s) =>
        cw.patch(`/v1/cases/${caseId}`, { summary: `writer ${s}` }, { 'if-match': `"${v}"` }),
      ),
    );
    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, 412, 412, 412]);
    const winner = results.find((r) => r.statusCode === 200)!.json();
    const [row] = await env.sql<{ version: number; summary: string | null; summaryEnc: string }>(
      'SELECT version, summary, summary_enc AS "summaryEnc" FROM cases WHERE id = $1',
      [caseId],
    );
    expect({ version: row.version, summary: storedSummary(row) }).toEqual({ version: v + 1, summary: winner.summary });
  });

  it('PATCH /v1/charges/:id', async () => {
    const ch = await cw.post(`/v1/cases/${caseId}/charges`, chargeBody());
    expect(ch.statusCode, ch.body).toBe(201);
    const id = ch.json().id;
    expect(ch.json().version).toBe(1);
    const ok = await cw.patch(`/v1/charges/${id}`, { status: 'CONVICTED_IN_ABSENTIA' }, { 'if-match': '"1"' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ version: 2, status: 'CONVICTED_IN_ABSENTIA' });
    expect(ok.headers.etag).toBe('"2"');
    expectProblem(await cw.patch(`/v1/charges/${id}`, { status: 'DROPPED' }, { 'if-match': '"1"' }), 412);
    expectProblem(await cw.patch(`/v1/charges/${id}`, { status: 'DROPPED' }), 428);
    const [row] = await env.sql<{ version: number; status: string }>(
      'SELECT version, status FROM charges WHERE id = $1',
      [id],
    );
    expect(row).toEqual({ version: 2, status: 'CONVICTED_IN_ABSENTIA' });
    expect((await cw.patch(`/v1/charges/${id}`, { article: '280.3', version: 2 })).json().version).toBe(3);
  });

  it('PATCH /v1/events/:id', async () => {
    const ev = await cw.post(
      `/v1/cases/${caseId}/events`,
      eventBody({ details: secret(`first account ${letters()}`) }),
    );
    expect(ev.statusCode, ev.body).toBe(201);
    const id = ev.json().id;
    const newDetails = secret(`second account ${letters()}`);
    const ok = await cw.patch(`/v1/events/${id}`, { details: newDetails, termDays: 60 }, { 'if-match': '"1"' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ version: 2, details: newDetails, termDays: 60 });
    expect(ok.headers.etag).toBe('"2"');
    expectProblem(
      await cw.patch(`/v1/events/${id}`, { details: 'stale overwrite', termDays: 1 }, { 'if-match': '"1"' }),
      412,
    );
    expectProblem(await cw.patch(`/v1/events/${id}`, { termDays: 1 }), 428);
    const [row] = await env.sql<{ version: number; term_days: number; details_enc: string }>(
      'SELECT version, term_days, details_enc FROM events WHERE id = $1',
      [id],
    );
    expect(row.version).toBe(2);
    expect(row.term_days).toBe(60);
    expect(env.app.crypto.decrypt(row.details_enc, { table: 'events', column: 'details_enc', rowId: id })).toBe(
      newDetails,
    );
  });
});

// -------------------------------------------------------------- 6. audit

describe('tamper-evident audit log', () => {
  let team: string;
  let cw: Client;
  let admin: Client;
  let coordinator: Client;

  beforeAll(async () => {
    team = await createTeam(env);
    cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    admin = await clientFor(env, 'ADMIN');
    coordinator = await clientFor(env, 'COORDINATOR');
  });

  it('every write appends to the case chain; personal values never in clear; reveals are audited', async () => {
    const sfx = letters();
    const name1 = secret(`Audit Firstname${sfx}`);
    const name2 = secret(`Audit Renamed${sfx}`);
    const details = secret(`Beaten during arrest ${sfx}`);
    const details2 = secret(`Hospitalised afterwards ${sfx}`);
    const notes = secret(`Family still in Belgorod ${sfx}`);
    const person = await newPerson(cw, name1, { dateOfBirth: '1979-09-09', notes });
    const personId = person.id;

    const created = await env.sql<{ chain: string; case_id: string | null; changes: Record<string, unknown> }>(
      "SELECT chain, case_id, changes FROM audit_entries WHERE action = 'person.create' AND entity_id = $1",
      [personId],
    );
    expect(created.length).toBe(1);
    expect(created[0].chain).toBe('global');
    expect(created[0].changes).toMatchObject({
      legalName: { personal: true },
      dateOfBirth: { personal: true },
      notes: { personal: true },
      pseudonym: { new: person.pseudonym },
    });

    const kase = await newCase(cw, personId, team);
    const caseId = kase.id;
    const ch = await cw.post(`/v1/cases/${caseId}/charges`, chargeBody());
    expect(ch.statusCode).toBe(201);
    const ev = await cw.post(`/v1/cases/${caseId}/events`, eventBody({ details }));
    expect(ev.statusCode).toBe(201);
    const lawyer = await createUser(env, 'LAWYER');
    const as = await cw.post(`/v1/cases/${caseId}/assignments`, { lawyerId: lawyer.id, role: 'LEAD' });
    expect(as.statusCode, as.body).toBe(201);
    const pc = await cw.patch(`/v1/cases/${caseId}`, { riskLevel: 'CRITICAL' }, { 'if-match': '"1"' });
    expect(pc.statusCode).toBe(200);
    const pe = await cw.patch(`/v1/events/${ev.json().id}`, { details: details2 }, { 'if-match': '"1"' });
    expect(pe.statusCode).toBe(200);
    const pp = await cw.patch(`/v1/people/${personId}`, { legalName: name2 }, { 'if-match': '"1"' });
    expect(pp.statusCode, pp.body).toBe(200);
    expect(pp.json().legalName).toBe(name2);

    // A coordinator's read shows no legal data and is not a reveal.
    const n0 = await auditCount(caseId);
    const coordRead = await coordinator.get(`/v1/cases/${caseId}`);
    expect(coordRead.statusCode).toBe(200);
    expect(coordRead.json().person.legalDataVisible).toBe(false);
    expect(coordRead.json().person.legalName).toBeUndefined();
    expect(coordRead.body).not.toContain(name2);
    expect(await auditCount(caseId)).toBe(n0);
    // A caseworker's read reveals and is audited.
    const cwRead = await cw.get(`/v1/cases/${caseId}`);
    expect(cwRead.json().person.legalName).toBe(name2);
    expect(await auditCount(caseId)).toBe(n0 + 1);

    const items = await auditChain(admin, caseId);
    expect(items.map((i) => i.action)).toEqual([
      'case.create',
      'charge.create',
      'event.create',
      'assignment.create',
      'case.update',
      'event.update',
      'person.update',
      'person.read_personal',
    ]);
    // Oldest first; written after the Merkle log, so no legacy chain fields.
    const ids = items.map((i) => BigInt(i.id));
    for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1]).toBe(true);
    expect(items.every((i) => i.seq === null && i.prevHash === null && i.hash === null)).toBe(true);
    for (const i of items) {
      expect(i.caseId).toBe(caseId);
      expect(i.actorId).toBe(cw.userId);
    }
    const by = (a: string) => items.find((i) => i.action === a)!;
    expect(by('case.update').changes).toEqual({ riskLevel: { old: 'MEDIUM', new: 'CRITICAL' } });
    expect(by('event.create').changes).toMatchObject({ details: { personal: true }, type: { new: 'DETENTION' } });
    expect(by('event.update').changes).toEqual({ details: { personal: true } });
    expect(by('person.update').changes).toEqual({ legalName: { personal: true } });
    expect(by('person.update').entityId).toBe(personId);
    expect(by('person.read_personal').entityId).toBe(personId);
    expect(by('assignment.create').changes).toMatchObject({ lawyerId: { new: lawyer.id }, role: { new: 'LEAD' } });

    // Raw rows: no value of a personal field, old or new (besides the chain: person.create and its duplicate check).
    const raw = await rowTexts('audit_entries', 'chain = $1 OR entity_id = $2', [caseId, personId]);
    expect(raw.length).toBe(items.length + 2);
    expectNoneContains(raw, [name1, name2, `Firstname${sfx}`, `Renamed${sfx}`, details, details2, notes, '1979-09-09']);
  });

  it('an admin reads a case chain; other roles get 403', async () => {
    const caseId = await freshChain(8);
    expect((await admin.get(`/v1/audit?caseId=${caseId}`)).statusCode).toBe(200);
    for (const c of [cw, coordinator]) expectProblem(await c.get(`/v1/audit?caseId=${caseId}`), 403);
    const lawyer = await clientFor(env, 'LAWYER');
    expectProblem(await lawyer.get('/v1/audit'), 403);
    expectProblem(await env.app.inject({ url: `/v1/audit?caseId=${caseId}` }), 401);
    expectProblem(await admin.get('/v1/audit?caseId=00000000-0000-4000-8000-000000000000'), 404);
    const all = (await admin.get(`/v1/audit?caseId=${caseId}`)).json().items.map((i: { id: string }) => i.id);
    expect(all).toHaveLength(8);
    const first = (await admin.get(`/v1/audit?caseId=${caseId}&limit=3`)).json();
    expect(first.items.map((i: { id: string }) => i.id)).toEqual(all.slice(0, 3));
    const second = (await admin.get(`/v1/audit?caseId=${caseId}&limit=3&cursor=${first.nextCursor}`)).json();
    expect(second.items.map((i: { id: string }) => i.id)).toEqual(all.slice(3, 6));
    expectProblem(await admin.get(`/v1/audit?caseId=${caseId}&cursor=not-a-cursor`), 400, 'querystring.cursor');
  });

  it('the log verifies, and the table refuses UPDATE (but the one leaf assignment), DELETE and TRUNCATE', async () => {
    const caseId = await freshChain(6);
    const v = await sealAndVerify(env);
    expect(v.problems).toEqual([]);
    expect(v.ok).toBe(true);

    const before = await rowTexts('audit_entries', 'chain = $1', [caseId]);
    const [{ id }] = await env.sql<{ id: string }>('SELECT min(id)::text AS id FROM audit_entries WHERE chain = $1', [
      caseId,
    ]);
    await expect(env.sql("UPDATE audit_entries SET action = 'case.forged' WHERE id = $1", [id])).rejects.toThrow(
      /append-only/,
    );
    // A leaf index is given once, and never together with another change.
    await expect(
      env.sql('UPDATE audit_entries SET leaf_index = leaf_index + 1000000 WHERE id = $1', [id]),
    ).rejects.toThrow(/append-only/);
    await appendAudit(env.db, { actorId: null, action: 'test.unsequenced', entityType: 'system' });
    const [{ id: fresh }] = await env.sql<{ id: string }>(
      "SELECT id::text AS id FROM audit_entries WHERE action = 'test.unsequenced'",
    );
    await expect(
      env.sql("UPDATE audit_entries SET leaf_index = 99999999, action = 'x' WHERE id = $1", [fresh]),
    ).rejects.toThrow(/append-only/);
    await expect(env.sql('DELETE FROM audit_entries WHERE id = $1', [id])).rejects.toThrow(/append-only/);
    for (const table of ['audit_tree_nodes', 'audit_checkpoints']) {
      await expect(env.sql(`DELETE FROM ${table}`)).rejects.toThrow(/append-only/);
    }
    const c = new pg.Client({ connectionString: env.url });
    await c.connect();
    try {
      await c.query('BEGIN');
      await expect(c.query('TRUNCATE audit_entries')).rejects.toThrow(/append-only/);
      await c.query('ROLLBACK');
    } finally {
      await c.end();
    }
    expect(await rowTexts('audit_entries', 'chain = $1', [caseId])).toEqual(before);
  });
});

// ---------------------------------------------------------------- 5. logs

describe('logs', () => {
  it('never hold legal names, passwords or tokens', async () => {
    const sensitiveBefore = sensitive.length;
    const team = await createTeam(env);
    const u = await createUser(env, 'CASEWORKER', { teamIds: [team] });
    const wrongPassword = secret(`Wrong-${letters()}-passphrase`);
    const bad = await env.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: u.email, password: wrongPassword },
    });
    expectProblem(bad, 401);
    const t1 = await login(env, u.email);
    secret(DEFAULT_PASSWORD);
    secret(t1.accessToken);
    secret(t1.refreshToken);
    const auth = { authorization: `Bearer ${t1.accessToken}` };
    const name = secret(`Logov Sekretny${letters()}`);
    const p = await env.app.inject({
      method: 'POST',
      url: '/v1/people',
      headers: { ...auth, 'idempotency-key': `log-${uniq()}` },
      payload: personBody(name, { dateOfBirth: '1966-06-16', notes: secret(`log note ${letters()}`) }),
    });
    expect(p.statusCode).toBe(201);
    const badPerson = await env.app.inject({
      method: 'POST',
      url: '/v1/people',
      headers: auth,
      payload: { ...personBody(name), bogus: true },
    });
    expectProblem(badPerson, 400);
    const dup = await env.app.inject({
      method: 'GET',
      url: `/v1/people/duplicates?${new URLSearchParams({ legalName: name, dateOfBirth: '1966-06-16' })}`,
      headers: auth,
    });
    expect(dup.statusCode).toBe(200);
    expect(dup.json().items.length).toBe(1);
    const refreshed = await env.app.inject({
      method: 'POST',
      url: '/v1/auth/refresh',
      payload: { refreshToken: t1.refreshToken },
    });
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    const t2 = refreshed.json() as { accessToken: string; refreshToken: string };
    secret(t2.accessToken);
    secret(t2.refreshToken);
    expect(
      (await env.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${t2.accessToken}` } })).statusCode,
    ).toBe(200);
    // A rejected token is not logged either.
    expectProblem(
      await env.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${t1.accessToken}x` } }),
      401,
    );
    expect(
      (
        await env.app.inject({
          method: 'POST',
          url: '/v1/auth/logout',
          headers: { authorization: `Bearer ${t2.accessToken}` },
          payload: { refreshToken: t2.refreshToken },
        })
      ).statusCode,
    ).toBe(204);

    // Tokens are not stored in clear either.
    const sessionRows = [...(await rowTexts('refresh_tokens')), ...(await rowTexts('sessions'))];
    expectNoneContains(sessionRows, [t1.refreshToken, t2.refreshToken, t1.accessToken, t2.accessToken]);

    const text = env.logs.join('');
    const lines = text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg?: string; req?: { path?: string; url?: string } });
    // The requests above really were logged (so absence means redaction, not silence).
    expect(lines.some((l) => l.req?.path === '/v1/people/duplicates')).toBe(true);
    expect(lines.some((l) => l.req?.path === '/v1/auth/refresh')).toBe(true);
    // This test's own values (password, tokens, name, note) at least; whatever other tests
    // marked so far too. The afterAll hook repeats the check over every test's values.
    expect(sensitive.length - sensitiveBefore).toBeGreaterThanOrEqual(8);
    expectNoSensitiveInLogs();
    // JWT signatures alone are secrets too.
    for (const t of [t1.accessToken, t2.accessToken]) expect(text.includes(t.split('.')[2])).toBe(false);
    expect(text).not.toMatch(/Bearer\s+ey/);
    expect(text).not.toContain('legalName=');
  });
});

// Tampering with the audit log (altered, deleted, cut, recomputed, forged
// checkpoints) is covered by test/audit-log.test.ts.

// ---------------------------------------------------------- 3. key rotation

describe('key rotation', () => {
  // beforeAll writes data under key t1, rotates to t2 once (and once more, to see it
  // do nothing), and builds an app that holds only t2; each test checks one outcome.
  let renv: TestEnv;
  let app2: FastifyInstance | null = null;
  let cw: Client;
  let admin: Client;
  let newCrypto: FieldCrypto;
  const newKey = randomBytes(32);
  const plain = new Map<string, string>(); // "<table>.<column>.<id>" -> plaintext
  let idem: { key: string; body: Record<string, unknown>; response: unknown; personId: string };
  let eventId: string;
  let lawyerId: string;
  let personId: string;
  let bare: { id: string };

  beforeAll(async () => {
    renv = await setupTestEnv();
    const team = await createTeam(renv);
    cw = await clientFor(renv, 'CASEWORKER', { teamIds: [team] });
    admin = await clientFor(renv, 'ADMIN');
    const name = `Rotov Keyman${letters()}`;
    const contacts = [{ kind: 'SIGNAL', value: '+7 900 000 11 22' }];
    const pr = await cw.post(
      '/v1/people',
      personBody(name, { dateOfBirth: '1990-10-10', contacts, notes: 'rotation notes' }),
    );
    expect(pr.statusCode).toBe(201);
    personId = pr.json().id;
    plain.set(`people.legal_name_enc.${personId}`, name);
    plain.set(`people.date_of_birth_enc.${personId}`, '1990-10-10');
    plain.set(`people.contacts_enc.${personId}`, JSON.stringify(contacts));
    plain.set(`people.notes_enc.${personId}`, 'rotation notes');
    const br = await cw.post('/v1/people', personBody('Bare Minimumov'));
    bare = br.json();
    plain.set(`people.legal_name_enc.${bare.id}`, 'Bare Minimumov');
    const c = await cw.post('/v1/cases', { personId, teamId: team, hostCountry: 'AM', summary: 'rotated summary' });
    const ev = await cw.post(
      `/v1/cases/${c.json().id}/events`,
      eventBody({ details: 'rotated details', sourceUrls: ['https://news.example.org/rotated'] }),
    );
    eventId = ev.json().id;
    plain.set(`events.details_enc.${eventId}`, 'rotated details');
    lawyerId = (await createUser(renv, 'LAWYER')).id;
    expect(
      (
        await admin.put(`/v1/users/${lawyerId}/lawyer-profile`, {
          jurisdictions: ['GE'],
          languages: ['ka'],
          phone: '+995 32 2 000000',
        })
      ).statusCode,
    ).toBe(200);
    plain.set(`lawyer_profiles.phone_enc.${lawyerId}`, '+995 32 2 000000');
    const body = personBody(`Idem Rotov${letters()}`);
    const key = `rot-${uniq()}-${uniq()}`;
    const ir = await cw.post('/v1/people', body, { 'idempotency-key': key });
    expect(ir.statusCode).toBe(201);
    idem = { key, body, response: ir.json(), personId: ir.json().id };
    plain.set(`people.legal_name_enc.${idem.personId}`, body.legalName);

    const oldKey = renv.config.crypto.keys.get('t1')!;
    expect(renv.config.crypto.currentKeyId).toBe('t1');
    newCrypto = new FieldCrypto(
      new Map([
        ['t1', oldKey],
        ['t2', newKey],
      ]),
      't2',
      renv.config.crypto.blindIndexKey,
    );

    rotation.before = await encValues();
    rotation.bidxBefore = await renv.sql('SELECT id, legal_name_bidx, dob_bidx FROM people ORDER BY id');
    rotation.counts = await rotateKeys(renv.db, newCrypto, 1);
    rotation.after = await encValues();
    rotation.bidxAfter = await renv.sql('SELECT id, legal_name_bidx, dob_bidx FROM people ORDER BY id');
    rotation.second = await rotateKeys(renv.db, newCrypto);

    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    app2 = await buildApp(
      {
        ...renv.config,
        crypto: {
          keys: new Map([['t2', newKey]]),
          currentKeyId: 't2',
          blindIndexKey: renv.config.crypto.blindIndexKey,
        },
      },
      { db: renv.db, logStream: sink },
    );
    await app2.ready();
  });
  afterAll(async () => {
    await app2?.close();
    await renv?.close();
  });

  type EncRow = { id: string; table: string; column: string; value: string | null };
  type Counts = Awaited<ReturnType<typeof rotateKeys>>;
  const rotation = {} as {
    before: EncRow[];
    after: EncRow[];
    bidxBefore: unknown[];
    bidxAfter: unknown[];
    counts: Counts;
    second: Counts;
  };
  async function encValues(): Promise<EncRow[]> {
    const out: EncRow[] = [];
    for (const r of await renv.sql<{
      id: string;
      legal_name_enc: string;
      date_of_birth_enc: string | null;
      contacts_enc: string | null;
      notes_enc: string | null;
    }>('SELECT id::text, legal_name_enc, date_of_birth_enc, contacts_enc, notes_enc FROM people')) {
      for (const col of ['legal_name_enc', 'date_of_birth_enc', 'contacts_enc', 'notes_enc'] as const) {
        out.push({ id: r.id, table: 'people', column: col, value: r[col] });
      }
    }
    for (const r of await renv.sql<{ id: string; details_enc: string | null }>(
      'SELECT id::text, details_enc FROM events',
    )) {
      out.push({ id: r.id, table: 'events', column: 'details_enc', value: r.details_enc });
    }
    for (const r of await renv.sql<{ id: string; phone_enc: string | null }>(
      'SELECT user_id::text AS id, phone_enc FROM lawyer_profiles',
    )) {
      out.push({ id: r.id, table: 'lawyer_profiles', column: 'phone_enc', value: r.phone_enc });
    }
    return out;
  }

  it('re-encrypts every *_enc value under the new key, keeping plaintext and blind indexes; a second run does nothing', async () => {
    const { before, after } = rotation;
    const nonNull = before.filter((r) => r.value !== null);
    expect(nonNull.length).toBe(plain.size);
    for (const r of nonNull) expect(r.value!.startsWith('v1.t1.')).toBe(true);

    expect(rotation.counts).toEqual({
      people: 3,
      events: 1,
      cases: 1,
      user_totp: 0,
      refresh_tokens: 0,
      lawyer_profiles: 1,
      notification_settings: 0,
      idempotency_keys: 1,
      documents: 0,
    });

    expect(after.length).toBe(before.length);
    for (const r of after) {
      const was = before.find((b) => b.id === r.id && b.column === r.column)!;
      if (was.value === null) {
        expect(r.value).toBeNull();
        continue;
      }
      expect(r.value!.startsWith('v1.t2.'), `${r.table}.${r.column}`).toBe(true);
      expect(r.value).not.toBe(was.value);
      expect(newCrypto.decrypt(r.value!, { table: r.table, column: r.column, rowId: r.id })).toBe(
        plain.get(`${r.table}.${r.column}.${r.id}`),
      );
    }
    expect(rotation.bidxAfter).toEqual(rotation.bidxBefore);

    expect(rotation.second).toEqual({
      people: 0,
      events: 0,
      cases: 0,
      user_totp: 0,
      refresh_tokens: 0,
      lawyer_profiles: 0,
      notification_settings: 0,
      idempotency_keys: 0,
      documents: 0,
    });
  });

  it('after the run, an app holding only the new key reads everything', async () => {
    const auth = { authorization: `Bearer ${cw.token}` };
    const p = await app2!.inject({ url: `/v1/people/${personId}`, headers: auth });
    expect(p.statusCode, p.body).toBe(200);
    expect(p.json()).toMatchObject({
      legalName: plain.get(`people.legal_name_enc.${personId}`),
      dateOfBirth: '1990-10-10',
      notes: 'rotation notes',
      contacts: [{ kind: 'SIGNAL', value: '+7 900 000 11 22' }],
    });
    const lp = await app2!.inject({
      url: `/v1/users/${lawyerId}/lawyer-profile`,
      headers: { authorization: `Bearer ${admin.token}` },
    });
    expect(lp.json().phone).toBe('+995 32 2 000000');
    const dup = await app2!.inject({
      url: `/v1/people/duplicates?${new URLSearchParams({ legalName: 'minimumov bare' })}`,
      headers: auth,
    });
    expect(dup.json().items.map((i: { id: string }) => i.id)).toEqual([bare.id]);
  });

  it('after the run, an idempotent replay still works with only the new key (stored responses are rotated too)', async () => {
    const replay = await app2!.inject({
      method: 'POST',
      url: '/v1/people',
      payload: idem.body,
      headers: { authorization: `Bearer ${cw.token}`, 'idempotency-key': idem.key },
    });
    expect(replay.statusCode, replay.body).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json()).toEqual(idem.response);
    const [row] = await renv.sql<{ response_body: string }>(
      'SELECT response_body FROM idempotency_keys WHERE key = $1',
      [idem.key],
    );
    expect(row.response_body.startsWith('v1.t2.')).toBe(true);
  });

  it('a new key id that differs from the old one only where the old has "_" is still rotated to', async () => {
    const oldKey = randomBytes(32);
    const kenv = await setupTestEnv({ env: { ENCRYPTION_KEYS: `key-1:${oldKey.toString('base64')}` } });
    try {
      const team = await createTeam(kenv);
      const kcw = await clientFor(kenv, 'CASEWORKER', { teamIds: [team] });
      const p = await kcw.post('/v1/people', personBody('Underscore Likeov'));
      expect(p.statusCode).toBe(201);
      const crypto2 = new FieldCrypto(
        new Map([
          ['key-1', oldKey],
          ['key_1', randomBytes(32)],
        ]),
        'key_1',
        kenv.config.crypto.blindIndexKey,
      );
      const counts = await rotateKeys(kenv.db, crypto2);
      const [row] = await kenv.sql<{ legal_name_enc: string }>('SELECT legal_name_enc FROM people WHERE id = $1', [
        p.json().id,
      ]);
      expect(
        row.legal_name_enc.startsWith('v1.key_1.'),
        `still ${row.legal_name_enc.slice(0, 10)} after ${JSON.stringify(counts)}`,
      ).toBe(true);
      expect(counts.people).toBe(1);
    } finally {
      await kenv.close();
    }
  });
});
