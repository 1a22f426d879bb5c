// Intake around the report: the covering team's caseworkers are emailed of a
// new report (outbox in the report's transaction, mailed by the worker through
// a real SMTP server; no personal data; nobody else is told; a mail server that
// is down loses nothing), the vetting queue shows likely duplicates (visible
// ones with their score, hidden ones only counted), "ask that team" notifies
// the teams holding hidden matches, and INTAKE_RETENTION_DAYS is configuration.
import net from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solveAltcha, type AltchaChallenge } from '../src/modules/intake/altcha.ts';
import { IntakeService } from '../src/modules/intake/intake.service.ts';
import { sendSecurityNotices } from '../src/workers/reminders/security-notices.ts';
import {
  clientFor,
  countRows,
  createCase,
  createTeam,
  createUser,
  expectProblem,
  setupTestEnv,
  uniq,
  type Client,
  type TestEnv,
} from './helpers.ts';
import { startSmtpSink } from './reminder-sinks.ts';

let env: TestEnv;
let now = Date.now();
let kzTeam: string;
let kzTeam2: string;
let amTeam: string;
let cwKz: Client;
let cwKzBoth: Client;
let cwAm: Client;
let admin: Client;
let coordinator: { id: string; email: string };
let inactive: { id: string; email: string };
let lawyer: Client;

beforeAll(async () => {
  env = await setupTestEnv({ clock: () => new Date(now), env: { INTAKE_RETENTION_DAYS: '3' } });
  kzTeam = await createTeam(env, ['KZ']);
  kzTeam2 = await createTeam(env, ['KZ', 'KG']);
  amTeam = await createTeam(env, ['AM']);
  cwKz = await clientFor(env, 'CASEWORKER', { teamIds: [kzTeam] });
  cwKzBoth = await clientFor(env, 'CASEWORKER', { teamIds: [kzTeam, kzTeam2] });
  cwAm = await clientFor(env, 'CASEWORKER', { teamIds: [amTeam] });
  admin = await clientFor(env, 'ADMIN');
  lawyer = await clientFor(env, 'LAWYER');
  coordinator = await createUser(env, 'COORDINATOR', { teamIds: [kzTeam] });
  inactive = await createUser(env, 'CASEWORKER', { teamIds: [kzTeam] });
  await env.sql('UPDATE users SET active = false WHERE id = $1', [inactive.id]);
});
afterAll(async () => env?.close());

let ipSeq = 0;
const reportBody = (subjectName: string, country = 'KZ') => ({
  language: 'ru',
  subject: { name: subjectName, dateOfBirth: '1979-02-03' },
  event: { type: 'DETENTION', country, city: 'Шымкент', description: 'Задержан по запросу МВД' },
  reporter: { name: 'Гульнара', contact: 'Telegram @gulnara_test' },
  consent: true,
});
async function submit(subjectName: string, country = 'KZ') {
  const c: AltchaChallenge = (await env.app.inject({ url: '/v1/intake/challenge' })).json();
  const altcha = Buffer.from(JSON.stringify({ ...c, number: solveAltcha(c) })).toString('base64');
  const res = await env.app.inject({
    method: 'POST',
    url: '/v1/intake',
    remoteAddress: `203.0.113.${++ipSeq}`,
    payload: { altcha, ...reportBody(subjectName, country) },
  });
  expect(res.statusCode, res.body).toBe(202);
  const [row] = await env.sql<{ id: string }>('SELECT id FROM intake_submissions WHERE receipt = $1', [
    res.json().receipt,
  ]);
  return { id: row.id, receipt: res.json().receipt as string };
}

const noticesOf = (kind: string) =>
  env.sql<{ user_id: string; detail: Record<string, string>; sent_at: Date | null; attempts: number }>(
    'SELECT user_id, detail, sent_at, attempts FROM security_notices WHERE kind = $1 ORDER BY created_at',
    [kind],
  );
const workerDeps = (mailer: Transporter) => ({
  db: env.db,
  config: env.config,
  clock: () => new Date(now),
  log: env.app.log,
  mailer,
});
/** A local port nobody listens on: a mail server that is down. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('a new report notifies the covering team', () => {
  it('emails each active caseworker of a covering team once, with no personal data; nobody else', async () => {
    await env.sql('DELETE FROM security_notices');
    const name = `Сапаров Ерлан ${uniq()}`;
    const s = await submit(name);
    const queued = await noticesOf('intake_submitted');
    expect(queued.map((n) => n.user_id).sort()).toEqual([cwKz.userId, cwKzBoth.userId].sort());
    expect(queued[0].detail).toEqual({ submissionId: s.id, country: 'KZ' });
    const smtp = await startSmtpSink();
    try {
      expect(await sendSecurityNotices(workerDeps(nodemailer.createTransport(smtp.url)))).toBe(2);
      const to = smtp.messages.flatMap((m) => m.rcpt);
      expect(to.sort()).toEqual([cwKz.email, cwKzBoth.email].map((e) => e.toLowerCase()).sort());
      // Negative: other teams' caseworkers, coordinators (even in the team), admins, lawyers, inactive users.
      for (const other of [cwAm.email, coordinator.email, admin.email, lawyer.email, inactive.email]) {
        expect(to).not.toContain(other.toLowerCase());
      }
      const mail = smtp.messages[0];
      expect(mail.subject).toBe('A new report awaits vetting');
      expect(mail.text).toContain(`${env.config.publicBaseUrl}/v1/intake?status=NEW`);
      expect(mail.text).toContain(s.id);
      for (const secret of [name, 'Сапаров', 'Шымкент', 'Задержан', 'gulnara', 'Гульнара', '1979', s.receipt]) {
        expect(mail.raw).not.toContain(secret);
      }
      // Sent once.
      expect(await sendSecurityNotices(workerDeps(nodemailer.createTransport(smtp.url)))).toBe(0);
    } finally {
      await smtp.close();
    }
  });

  it('a report about a country no team covers notifies nobody (admins see it in the queue)', async () => {
    await env.sql('DELETE FROM security_notices');
    const s = await submit(`Никто Никтоев ${uniq()}`, 'TR');
    expect(await noticesOf('intake_submitted')).toEqual([]);
    const ids = ((await admin.get('/v1/intake?limit=100')).json().items as { id: string }[]).map((i) => i.id);
    expect(ids).toContain(s.id);
  });

  it('a mail server that is down loses nothing: the report is stored and the notice mailed later', async () => {
    await env.sql('DELETE FROM security_notices');
    const s = await submit(`Омаров Бахыт ${uniq()}`);
    const down = nodemailer.createTransport({ host: '127.0.0.1', port: await closedPort(), connectionTimeout: 2000 });
    expect(await sendSecurityNotices(workerDeps(down))).toBe(0);
    expect(await countRows(env, 'intake_submissions', "id = $1 AND status = 'NEW'", [s.id])).toBe(1);
    expect((await noticesOf('intake_submitted')).map((n) => [n.sent_at, n.attempts])).toEqual([
      [null, 1],
      [null, 1],
    ]);
    const smtp = await startSmtpSink();
    try {
      now += 2 * 60_000; // past the first backoff
      expect(await sendSecurityNotices(workerDeps(nodemailer.createTransport(smtp.url)))).toBe(2);
      expect(smtp.messages.map((m) => m.text).join('\n')).toContain(s.id);
    } finally {
      await smtp.close();
    }
  });

  it('two reports at once: both stored, each with its own notices', async () => {
    await env.sql('DELETE FROM security_notices');
    const [a, b] = await Promise.all([submit(`Первый ${uniq()}`), submit(`Второй ${uniq()}`)]);
    const ids = (await noticesOf('intake_submitted')).map((n) => n.detail.submissionId).sort();
    expect(ids).toEqual([a.id, a.id, b.id, b.id].sort());
  });
});

describe('duplicates in the vetting queue, and asking the other team', () => {
  const latin = 'Kuanyshbekov Marat Serikovich';
  const cyrillic = 'Куанышбеков Марат Серикович';
  let visible: Awaited<ReturnType<typeof createCase>>;
  let hidden: Awaited<ReturnType<typeof createCase>>;
  let sub: { id: string; receipt: string };
  beforeAll(async () => {
    visible = await createCase(cwKz, kzTeam, 'KZ', latin);
    hidden = await createCase(cwAm, amTeam, 'AM', 'KUANYSHBEKOV MARAT SERIKOVICH');
    sub = await submit(cyrillic);
  });

  type Item = {
    id: string;
    duplicates: {
      items: { id: string; pseudonym: string; score: number; cases: { reference: string }[] }[];
      hiddenMatches: number;
      askTeam: boolean;
    } | null;
  };
  const itemOf = async (c: Client) =>
    ((await c.get('/v1/intake?limit=100')).json().items as Item[]).find((i) => i.id === sub.id)!;

  it('a queue item carries the candidates the vetter may see, with their score; hidden ones only counted', async () => {
    const res = await cwKz.get('/v1/intake?limit=100');
    expect(res.statusCode, res.body).toBe(200);
    const item = (res.json().items as Item[]).find((i) => i.id === sub.id)!;
    expect(item.duplicates).toEqual({
      items: [
        expect.objectContaining({
          id: visible.personId,
          score: 0.95,
          cases: [expect.objectContaining({ reference: visible.reference })],
        }),
      ],
      hiddenMatches: 1,
      askTeam: true,
    });
    // Nothing of the hidden person: no id, no case reference.
    expect(res.body).not.toContain(hidden.personId);
    expect(res.body).not.toContain(hidden.reference);
    // An admin sees both, nothing hidden.
    const all = await itemOf(admin);
    expect(all.duplicates!.items.map((d) => d.id).sort()).toEqual([visible.personId, hidden.personId].sort());
    expect(all.duplicates).toMatchObject({ hiddenMatches: 0, askTeam: false });
    // The list's one audit entry counts the checks; no separate duplicate-check entries.
    const [audit] = await env.sql<{ changes: { duplicateChecks: number } }>(
      "SELECT changes FROM audit_entries WHERE action = 'intake.read_content' AND actor_id = $1",
      [cwKz.userId],
    );
    expect(audit.changes.duplicateChecks).toBeGreaterThanOrEqual(1);
  });

  it('vetted reports carry no duplicates', async () => {
    const s = await submit(`Отклонённый ${uniq()}`);
    expect((await cwKz.post(`/v1/intake/${s.id}/reject`, { reason: 'test' })).statusCode).toBe(204);
    const res = await cwKz.get('/v1/intake?status=REJECTED&limit=100');
    expect((res.json().items as Item[]).find((i) => i.id === s.id)!.duplicates).toBeNull();
  });

  it('ask-team: the hidden team’s caseworkers are emailed who asks and their own case, nothing to the asker', async () => {
    await env.sql('DELETE FROM security_notices');
    const res = await cwKz.post('/v1/people/duplicates/ask-team', { legalName: cyrillic });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ asked: true });
    expect(res.body).not.toContain(hidden.reference);
    const queued = await noticesOf('duplicate_ask');
    expect(queued.map((n) => n.user_id)).toEqual([cwAm.userId]);
    const smtp = await startSmtpSink();
    try {
      expect(await sendSecurityNotices(workerDeps(nodemailer.createTransport(smtp.url)))).toBe(1);
      const [mail] = smtp.messages;
      expect(mail.rcpt).toEqual([cwAm.email.toLowerCase()]);
      expect(mail.text).toContain(hidden.reference);
      expect(mail.text).toContain(cwKz.email);
      expect(mail.raw).not.toMatch(/Kuanyshbekov|KUANYSHBEKOV|Куанышбеков|Marat/i);
      expect(mail.raw).not.toContain(visible.reference);
    } finally {
      await smtp.close();
    }
    const [audit] = await env.sql<{ changes: { hiddenMatches: number; teamsAsked: string[] } }>(
      "SELECT changes FROM audit_entries WHERE action = 'person.duplicate_ask' AND actor_id = $1",
      [cwKz.userId],
    );
    expect(audit.changes).toEqual({ hiddenMatches: 1, teamsAsked: [amTeam] });
  });

  it('ask-team: nobody is notified without a hidden match; other roles are refused; parallel asks both succeed', async () => {
    await env.sql('DELETE FROM security_notices');
    expect((await cwKz.post('/v1/people/duplicates/ask-team', { legalName: `Нет Такого ${uniq()}` })).json()).toEqual({
      asked: false,
    });
    // The admin sees every match: nothing is hidden, so nothing to ask.
    expect((await admin.post('/v1/people/duplicates/ask-team', { legalName: cyrillic })).json()).toEqual({
      asked: false,
    });
    expect(await countRows(env, 'security_notices')).toBe(0);
    expectProblem(await lawyer.post('/v1/people/duplicates/ask-team', { legalName: cyrillic }), 403);
    expectProblem(await cwKz.post('/v1/people/duplicates/ask-team', { legalName: '' }), 400, 'body.legalName');
    const [a, b] = await Promise.all([
      cwKz.post('/v1/people/duplicates/ask-team', { legalName: cyrillic }),
      cwKzBoth.post('/v1/people/duplicates/ask-team', { legalName: latin }),
    ]);
    expect([a.statusCode, b.statusCode]).toEqual([202, 202]);
    expect((await noticesOf('duplicate_ask')).map((n) => n.user_id)).toEqual([cwAm.userId, cwAm.userId]);
  });
});

describe('INTAKE_RETENTION_DAYS', () => {
  it('is configuration: a report older than the configured days is erased, a younger one kept', async () => {
    expect(env.config.intake.retentionDays).toBe(3);
    const old = await submit(`Старый ${uniq()}`);
    const young = await submit(`Молодой ${uniq()}`);
    const day = 86_400_000;
    await env.sql('UPDATE intake_submissions SET created_at = $2 WHERE id = $1', [
      old.id,
      new Date(now - 3 * day - 60_000),
    ]);
    await env.sql('UPDATE intake_submissions SET created_at = $2 WHERE id = $1', [young.id, new Date(now - 2 * day)]);
    expect(await new IntakeService(env.app).eraseStale()).toBeGreaterThanOrEqual(1);
    const rows = await env.sql<{ id: string; status: string; content_enc: string | null }>(
      'SELECT id, status, content_enc FROM intake_submissions WHERE id = ANY($1::uuid[])',
      [[old.id, young.id]],
    );
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(byId[old.id]).toMatchObject({ status: 'EXPIRED', content_enc: null });
    expect(byId[young.id]).toMatchObject({ status: 'NEW' });
    expect(byId[young.id].content_enc).toMatch(/^v1\./);
    const [audit] = await env.sql<{ changes: { days: number } }>(
      "SELECT changes FROM audit_entries WHERE action = 'intake.expire' ORDER BY id DESC LIMIT 1",
    );
    expect(audit.changes.days).toBe(3);
  });

  it('and so are the throttle limits', async () => {
    const other = await setupTestEnv({ env: { INTAKE_IP_MAX: '2', INTAKE_WINDOW_MINUTES: '5' } });
    try {
      expect(other.config.intake).toMatchObject({ ipMax: 2, windowMinutes: 5, globalMax: 2000, retentionDays: 30 });
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await other.app.inject({
          method: 'POST',
          url: '/v1/intake',
          remoteAddress: '192.0.2.7',
          payload: { altcha: 'x', ...reportBody('Тест') },
        });
        codes.push(r.statusCode);
      }
      expect(codes).toEqual([400, 400, 429]);
    } finally {
      await other.close();
    }
  });
});
