import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { IdParams, problems, Timestamp, Uuid } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import { ListPageQuery, nextCursorField } from '../../lib/keyset.ts';
import { CaseDeadlinesService } from './case-deadlines.service.ts';
import { DeadlineChangesService } from './deadline-changes.service.ts';
import { CreateDeadlineBody, DeadlineSchema, MyDeadlinesQuery, UpdateDeadlineBody } from './deadlines.schemas.ts';

const DeadlinePage = z.object({ items: z.array(DeadlineSchema), nextCursor: nextCursorField });
const HistoryItem = z.object({ at: Timestamp, actorId: Uuid.nullable(), reason: z.string(), changes: z.unknown() });

export const deadlineRoutes: FastifyPluginAsyncZod = async (app) => {
  const deps = { db: app.db, config: app.config, clock: app.clock, log: app.log };
  const deadlines = new CaseDeadlinesService(deps);
  const changes = new DeadlineChangesService(deps);

  app.post('/v1/cases/:id/deadlines', {
    config: { location: '/v1/deadlines/:id' },
    schema: {
      tags: ['deadlines'],
      summary: 'Add a manual deadline (hearing, filing, …)',
      params: IdParams,
      body: CreateDeadlineBody,
      response: { 201: DeadlineSchema, ...problems(400, 401, 403, 404) },
    },
    handler: async (req, reply) =>
      reply.code(201).send(await deadlines.create(requireActor(req), req.params.id, req.body, req.id)),
  });

  app.get('/v1/cases/:id/deadlines', {
    schema: {
      tags: ['deadlines'],
      summary: 'Rule-made and manual deadlines of a case, by due time (paged: cursor, limit)',
      params: IdParams,
      querystring: ListPageQuery,
      response: { 200: DeadlinePage, ...problems(400, 401, 404) },
    },
    handler: async (req) => deadlines.listForCase(requireActor(req), req.params.id, req.query),
  });

  app.get('/v1/deadlines/:id', {
    schema: {
      tags: ['deadlines'],
      summary: 'A deadline (ETag: its version, for the If-Match of a PATCH)',
      params: IdParams,
      response: { 200: DeadlineSchema, ...problems(401, 404) },
    },
    handler: async (req, reply) => {
      const d = await deadlines.get(requireActor(req), req.params.id);
      return reply.header('etag', `"${d.version}"`).send(d);
    },
  });

  app.patch('/v1/deadlines/:id', {
    schema: {
      tags: ['deadlines'],
      summary:
        'Mark done or cancelled, reopen, or reschedule ' +
        '(a rescheduled rule-made deadline keeps its date when the event changes); reminders follow. ' +
        'If-Match is required (428 without, 412 when stale); a status or date change of a rule-made or hearing ' +
        'deadline needs `reason`; cancelling one keeps the overdue escalation until confirm-cancel',
      params: IdParams,
      headers: z.object({ 'if-match': z.string().max(40).optional().describe('the version last read; required') }),
      body: UpdateDeadlineBody,
      response: { 200: DeadlineSchema, ...problems(400, 401, 403, 404, 412, 428) },
    },
    handler: async (req) => changes.update(requireActor(req), req.params.id, req.body, req.headers['if-match'], req.id),
  });

  app.post('/v1/deadlines/:id/confirm-cancel', {
    schema: {
      tags: ['deadlines'],
      summary:
        "Confirm another member's cancellation of a rule-made or hearing deadline: only then the coordinators' " +
        'overdue escalation stops (403 for the person who cancelled; 409 when none awaits confirmation)',
      params: IdParams,
      response: { 200: DeadlineSchema, ...problems(401, 403, 404, 409) },
    },
    handler: async (req) => changes.confirmCancel(requireActor(req), req.params.id, req.id),
  });

  app.get('/v1/deadlines/:id/history', {
    schema: {
      tags: ['deadlines'],
      summary: 'How a deadline was computed and changed, oldest first (paged: cursor, limit)',
      params: IdParams,
      querystring: ListPageQuery,
      response: {
        200: z.object({ items: z.array(HistoryItem), nextCursor: nextCursorField }),
        ...problems(400, 401, 404),
      },
    },
    handler: async (req) => deadlines.history(requireActor(req), req.params.id, req.query),
  });

  app.get('/v1/me/deadlines', {
    schema: {
      tags: ['deadlines'],
      summary: "The caller's deadlines, overdue first, then by due time (paged: cursor, limit)",
      description:
        '`from` and `to` take an instant or a date (a date `from` starts at 00:00 UTC, a date `to` ends at 24:00 UTC); ' +
        '`from` after `to` is a 400 naming `from`. Pages follow the due time; within a page overdue deadlines come first.',
      querystring: MyDeadlinesQuery,
      response: { 200: DeadlinePage, ...problems(400, 401) },
    },
    handler: async (req) => deadlines.mine(requireActor(req), req.query),
  });
};
