import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import ical, { ICalAlarmType } from 'ical-generator';
import type { Prisma } from '../../generated/prisma/client.ts';
import { AppError } from '../../lib/app-error.ts';
import { assertWebhookTarget } from '../../lib/webhook-target.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { IdParams, iso, problems, Timestamp, Uuid } from '../../lib/http-schemas.ts';
import { expectedVersion } from '../../lib/pagination.ts';
import { authoriseCase } from '../../plugins/access.ts';
import { requireActor, type Actor } from '../../plugins/auth.ts';
import {
  CreateDeadlineBody,
  CreateRuleBody,
  DeadlineSchema,
  MyDeadlinesQuery,
  NotificationSettingsSchema,
  PutNotificationSettingsBody,
  RuleSchema,
  UpdateDeadlineBody,
  UpdateRuleBody,
} from './deadlines.schemas.ts';
import { DeadlinesService, myDeadlinesWhere, toDeadlineDto } from './deadlines.service.ts';

const withCase = { case: { select: { reference: true, hostCountry: true, person: { select: { pseudonym: true } } } } } as const;
const hashToken = (t: string) => createHash('sha256').update(t).digest('hex');

export const deadlineRoutes: FastifyPluginAsyncZod = async (app) => {
  const deadlines = new DeadlinesService({ db: app.db, config: app.config, clock: app.clock, log: app.log });
  const Rule = RuleSchema;
  const toRule = (r: Prisma.DeadlineRuleGetPayload<object>) => ({ ...r, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt) });

  app.post('/v1/cases/:id/deadlines', {
    schema: { tags: ['deadlines'], summary: 'Add a manual deadline (hearing, filing, …)', params: IdParams, body: CreateDeadlineBody, response: { 201: DeadlineSchema, ...problems(400, 401, 403, 404) } },
    handler: async (req, reply) => {
      const actor = requireActor(req);
      const row = await app.db.$transaction(async (tx) => {
        await authoriseCase(tx, actor, req.params.id, 'edit');
        const c = await tx.case.findUniqueOrThrow({ where: { id: req.params.id }, select: { hostCountry: true } });
        const d = await deadlines.createManual(tx, req.params.id, c.hostCountry, req.body, actor.userId, req.id);
        return tx.deadline.findUniqueOrThrow({ where: { id: d.id }, include: withCase });
      });
      return reply.code(201).send(toDeadlineDto(row));
    },
  });

  app.get('/v1/cases/:id/deadlines', {
    schema: { tags: ['deadlines'], summary: 'Rule-made and manual deadlines of a case', params: IdParams, response: { 200: z.object({ items: z.array(DeadlineSchema) }), ...problems(401, 404) } },
    handler: async (req) => {
      await authoriseCase(app.db, requireActor(req), req.params.id, 'see');
      const rows = await app.db.deadline.findMany({ where: { caseId: req.params.id }, orderBy: [{ dueAt: 'asc' }, { id: 'asc' }], include: withCase });
      return { items: rows.map(toDeadlineDto) };
    },
  });

  app.patch('/v1/deadlines/:id', {
    schema: {
      tags: ['deadlines'],
      summary: 'Mark done or cancelled, reopen, or reschedule (a rescheduled rule-made deadline keeps its date when the event changes); reminders follow',
      params: IdParams,
      headers: z.object({ 'if-match': z.string().max(40).optional() }),
      body: UpdateDeadlineBody,
      response: { 200: DeadlineSchema, ...problems(400, 401, 403, 404, 412) },
    },
    handler: async (req) => {
      const actor = requireActor(req);
      const row = await app.db.$transaction(async (tx) => {
        const d = await tx.deadline.findUnique({ where: { id: req.params.id }, include: withCase });
        if (!d) throw new AppError('NOT_FOUND', 'Deadline not found.');
        await authoriseCase(tx, actor, d.caseId, 'edit').catch((e) => {
          throw e instanceof AppError && e.code === 'NOT_FOUND' ? new AppError('NOT_FOUND', 'Deadline not found.') : e;
        });
        if (req.headers['if-match'] !== undefined && expectedVersion(req.headers['if-match'], undefined) !== d.version) {
          throw new AppError('PRECONDITION_FAILED', `The deadline has changed (current version ${d.version}).`);
        }
        await deadlines.update(tx, d, d.case.hostCountry, req.body, actor.userId, req.id);
        return tx.deadline.findUniqueOrThrow({ where: { id: d.id }, include: withCase });
      });
      return toDeadlineDto(row);
    },
  });

  app.get('/v1/deadlines/:id/history', {
    schema: {
      tags: ['deadlines'],
      summary: 'How a deadline was computed and changed',
      params: IdParams,
      response: { 200: z.object({ items: z.array(z.object({ at: Timestamp, actorId: Uuid.nullable(), reason: z.string(), changes: z.unknown() })) }), ...problems(401, 404) },
    },
    handler: async (req) => {
      const d = await app.db.deadline.findUnique({ where: { id: req.params.id }, select: { caseId: true } });
      if (!d) throw new AppError('NOT_FOUND', 'Deadline not found.');
      await authoriseCase(app.db, requireActor(req), d.caseId, 'see').catch(() => {
        throw new AppError('NOT_FOUND', 'Deadline not found.');
      });
      const rows = await app.db.deadlineChange.findMany({ where: { deadlineId: req.params.id }, orderBy: { id: 'asc' } });
      return { items: rows.map((r) => ({ at: iso(r.at), actorId: r.actorId, reason: r.reason, changes: r.changes })) };
    },
  });

  app.get('/v1/me/deadlines', {
    schema: { tags: ['deadlines'], summary: "The caller's deadlines, overdue first, then by due time", querystring: MyDeadlinesQuery, response: { 200: z.object({ items: z.array(DeadlineSchema) }), ...problems(400, 401) } },
    handler: async (req) => {
      const actor = requireActor(req);
      const statuses = (req.query.status ?? 'OPEN,MISSED').split(',') as ('OPEN' | 'DONE' | 'MISSED' | 'CANCELLED')[];
      const rows = await app.db.deadline.findMany({
        where: {
          AND: [
            myDeadlinesWhere(actor),
            { status: { in: statuses } },
            req.query.from ? { dueAt: { gte: new Date(req.query.from) } } : {},
            req.query.to ? { dueAt: { lte: new Date(req.query.to) } } : {},
          ],
        },
        orderBy: [{ dueAt: 'asc' }, { id: 'asc' }],
        take: req.query.limit,
        include: withCase,
      });
      const now = app.clock().getTime();
      const overdue = (d: (typeof rows)[number]) => d.status === 'MISSED' || (d.status === 'OPEN' && d.dueAt.getTime() < now);
      return { items: [...rows.filter(overdue), ...rows.filter((d) => !overdue(d))].map(toDeadlineDto) };
    },
  });

  // ---- rules ----
  app.get('/v1/deadline-rules', {
    schema: { tags: ['deadline rules'], summary: 'Deadline rules (data, editable by admins)', response: { 200: z.object({ items: z.array(Rule) }), ...problems(401) } },
    handler: async () => ({ items: (await app.db.deadlineRule.findMany({ orderBy: [{ jurisdiction: 'asc' }, { key: 'asc' }] })).map(toRule) }),
  });

  app.post('/v1/deadline-rules', {
    config: { roles: ['ADMIN'] },
    schema: { tags: ['deadline rules'], body: CreateRuleBody, response: { 201: Rule, ...problems(400, 401, 403, 409) } },
    handler: async (req, reply) => {
      const actor = requireActor(req);
      const now = app.clock();
      const row = await app.db.$transaction(async (tx) => {
        const r = await tx.deadlineRule.create({ data: { id: randomUUID(), ...req.body, timeZone: req.body.timeZone ?? null, cutoffTime: req.body.cutoffTime ?? null, holidayNote: req.body.holidayNote ?? null, createdAt: now } });
        await appendAudit(tx, { actorId: actor.userId, action: 'deadline_rule.create', entityType: 'deadline_rule', entityId: r.id, requestId: req.id, changes: { key: { new: r.key } } }, now);
        return r;
      });
      return reply.code(201).send(toRule(row));
    },
  });

  app.put('/v1/deadline-rules/:id', {
    config: { roles: ['ADMIN'] },
    schema: { tags: ['deadline rules'], summary: 'Edit a rule (applies to deadlines computed from now on)', params: IdParams, body: UpdateRuleBody, response: { 200: Rule, ...problems(400, 401, 403, 404) } },
    handler: async (req) => {
      const actor = requireActor(req);
      const now = app.clock();
      const row = await app.db.$transaction(async (tx) => {
        const before = await tx.deadlineRule.findUnique({ where: { id: req.params.id } });
        if (!before) throw new AppError('NOT_FOUND', 'Rule not found.');
        const r = await tx.deadlineRule.update({ where: { id: req.params.id }, data: { ...(req.body as Prisma.DeadlineRuleUpdateInput), version: { increment: 1 }, updatedAt: now } });
        const changes = Object.fromEntries(Object.entries(req.body).map(([k, v]) => [k, { old: (before as Record<string, unknown>)[k] ?? null, new: v }]));
        await appendAudit(tx, { actorId: actor.userId, action: 'deadline_rule.update', entityType: 'deadline_rule', entityId: r.id, requestId: req.id, changes }, now);
        return r;
      });
      return toRule(row);
    },
  });

  // ---- the caller's channels ----
  const secretRef = (userId: string) => ({ table: 'notification_settings', column: 'webhook_secret_enc', rowId: userId });
  const settingsDto = (s: { emailEnabled: boolean; webhookUrl: string | null; webhookEnabled: boolean; webhookSecretEnc: string | null } | null) => ({
    email: { enabled: s?.emailEnabled ?? true },
    webhook: { url: s?.webhookUrl ?? null, enabled: s?.webhookEnabled ?? false, secretSet: Boolean(s?.webhookSecretEnc) },
  });

  app.get('/v1/me/notification-settings', {
    schema: { tags: ['reminders'], summary: 'Your reminder channels (email on by default); the webhook secret is never returned', response: { 200: NotificationSettingsSchema, ...problems(401) } },
    handler: async (req) => settingsDto(await app.db.notificationSettings.findUnique({ where: { userId: requireActor(req).userId } })),
  });

  app.put('/v1/me/notification-settings', {
    schema: { tags: ['reminders'], body: PutNotificationSettingsBody, response: { 200: NotificationSettingsSchema, ...problems(400, 401) } },
    handler: async (req) => {
      const actor = requireActor(req);
      const now = app.clock();
      const w = req.body.webhook;
      const saved = await app.db.$transaction(async (tx) => {
        const prev = await tx.notificationSettings.findUnique({ where: { userId: actor.userId } });
        const secretEnc = w?.secret ? app.crypto.encrypt(w.secret, secretRef(actor.userId)) : (prev?.webhookSecretEnc ?? null);
        if (w?.url) {
          await assertWebhookTarget(w.url, app.config.webhooks.allowPrivate).catch((e: Error) => {
            throw new AppError('VALIDATION', `webhook.url: ${e.message}`, { errors: [{ path: 'body.webhook.url', message: e.message }] });
          });
        }
        if (w?.enabled && (!w.url || !secretEnc)) {
          throw new AppError('VALIDATION', 'an enabled webhook needs a url and a secret', { errors: [{ path: w.url ? 'body.webhook.secret' : 'body.webhook.url', message: 'required when the webhook is enabled' }] });
        }
        const data = {
          emailEnabled: req.body.email.enabled,
          webhookUrl: w ? w.url : (prev?.webhookUrl ?? null),
          webhookEnabled: w ? w.enabled : (prev?.webhookEnabled ?? false),
          webhookSecretEnc: secretEnc,
        };
        const s = await tx.notificationSettings.upsert({ where: { userId: actor.userId }, create: { userId: actor.userId, ...data }, update: data });
        await appendAudit(tx, { actorId: actor.userId, action: 'notification_settings.put', entityType: 'user', entityId: actor.userId, requestId: req.id, changes: { emailEnabled: { new: data.emailEnabled }, webhookUrl: { personal: true }, webhookEnabled: { new: data.webhookEnabled }, webhookSecret: { personal: true } } }, now);
        // Reminders follow the new channels: re-plan every open deadline the
        // user works on (not only those with pending reminders: with every
        // channel off there are none, and turning email back on must work).
        const open = await tx.deadline.findMany({ where: { AND: [myDeadlinesWhere(actor), { status: 'OPEN' }] }, select: { id: true } });
        for (const d of open) {
          await deadlines.cancelPendingReminders(tx, d.id, actor.userId);
          await deadlines.planReminders(tx, d.id, actor.userId);
        }
        return s;
      });
      return settingsDto(saved);
    },
  });

  // ---- calendar feed ----
  app.post('/v1/me/calendar-token', {
    schema: { tags: ['calendar'], summary: 'Create (or replace) your secret calendar feed URL', response: { 201: z.object({ url: z.string() }), ...problems(401) } },
    handler: async (req, reply) => {
      const actor = requireActor(req);
      const token = `cal_${randomBytes(32).toString('base64url')}`;
      const now = app.clock();
      await app.db.$transaction(async (tx) => {
        await tx.calendarToken.updateMany({ where: { userId: actor.userId, revokedAt: null }, data: { revokedAt: now } });
        await tx.calendarToken.create({ data: { id: randomUUID(), userId: actor.userId, tokenHash: hashToken(token), createdAt: now } });
        await appendAudit(tx, { actorId: actor.userId, action: 'calendar_token.create', entityType: 'user', entityId: actor.userId, requestId: req.id }, now);
      });
      return reply.code(201).send({ url: `${app.config.publicBaseUrl}/v1/calendar/${token}.ics` });
    },
  });

  app.delete('/v1/me/calendar-token', {
    schema: { tags: ['calendar'], summary: 'Revoke your calendar feed URL', response: { 204: z.null(), ...problems(401) } },
    handler: async (req, reply) => {
      const actor = requireActor(req);
      const now = app.clock();
      await app.db.$transaction(async (tx) => {
        const { count } = await tx.calendarToken.updateMany({ where: { userId: actor.userId, revokedAt: null }, data: { revokedAt: now } });
        if (count) await appendAudit(tx, { actorId: actor.userId, action: 'calendar_token.revoke', entityType: 'user', entityId: actor.userId, requestId: req.id }, now);
      });
      return reply.code(204).send(null);
    },
  });

  app.get('/v1/calendar/:file', {
    config: { public: true },
    schema: {
      tags: ['calendar'],
      summary: 'iCalendar feed (RFC 5545) of the token holder\'s deadlines; pseudonyms only, never legal names',
      security: [],
      params: z.object({ file: z.string().regex(/^cal_[A-Za-z0-9_-]{20,100}\.ics$/, 'not a calendar feed') }),
      response: { 200: z.string(), ...problems(404) },
    },
    handler: async (req, reply) => {
      const token = req.params.file.slice(0, -4);
      const row = await app.db.calendarToken.findUnique({ where: { tokenHash: hashToken(token) }, select: { userId: true, revokedAt: true } });
      const user = row && !row.revokedAt ? await app.db.user.findUnique({ where: { id: row.userId }, select: { id: true, role: true, active: true, memberships: { select: { teamId: true } } } }) : null;
      if (!user?.active) throw new AppError('NOT_FOUND', 'No such calendar.');
      const actor: Actor = { userId: user.id, role: user.role, teamIds: user.memberships.map((m) => m.teamId), sessionId: '' };
      const items = await app.db.deadline.findMany({
        where: { AND: [myDeadlinesWhere(actor), { status: { in: ['OPEN', 'MISSED', 'DONE'] } }, { dueAt: { gte: new Date(app.clock().getTime() - 90 * 86_400_000) } }] },
        orderBy: { dueAt: 'asc' },
        take: 2000,
        include: withCase,
      });
      const cal = ical({ name: 'Case deadlines', prodId: { company: 'exile-case-backend', product: 'deadlines', language: 'EN' }, ttl: 900 });
      for (const d of items) {
        const start = d.dueAt;
        const end = new Date(start.getTime() + 30 * 60_000);
        const prefix = d.status === 'DONE' ? '[done] ' : d.status === 'MISSED' ? '[MISSED] ' : '';
        cal.createEvent({
          id: `${d.id}@exile-case-backend`,
          start: d.hourBased || !d.dueDate ? start : new Date(start.getTime() - 30 * 60_000),
          end: d.hourBased || !d.dueDate ? end : start,
          stamp: d.updatedAt,
          sequence: d.version,
          summary: `${prefix}${d.case.reference} (${d.case.person.pseudonym}): ${d.title}`,
          description: [
            `Kind: ${d.kind}`,
            `Due: ${d.dueAt.toISOString()} (${d.timeZone}${d.dueDate ? `, end of ${d.dueDate}` : ''})`,
            d.citation ? `Source: ${d.citation}` : '',
            d.source === 'RULE' ? 'Computed, verify with counsel.' : '',
          ]
            .filter(Boolean)
            .join('\n'),
          alarms: d.status === 'OPEN' ? [{ type: ICalAlarmType.display, trigger: 86_400 }, { type: ICalAlarmType.display, trigger: 3_600 }] : [],
        });
      }
      return reply.header('content-type', 'text/calendar; charset=utf-8').send(cal.toString());
    },
  });
};
