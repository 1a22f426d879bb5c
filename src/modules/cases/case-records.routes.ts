import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { IdParams, IfMatchHeaders, problems, Uuid } from '../../lib/http-schemas.ts';
import { expectedVersion } from '../../lib/pagination.ts';
import { ListPageQuery, nextCursorField } from '../../lib/keyset.ts';
import { requireActor } from '../../plugins/auth.ts';
import {
  AssignmentSchema,
  ChargeSchema,
  CreateAssignmentBody,
  CreateChargeBody,
  CreateEventBody,
  CreatedEventSchema,
  EventSchema,
  TimelineItemSchema,
  UpdateChargeBody,
  UpdateEventBody,
} from './cases.schemas.ts';
import { AssignmentsService } from './assignments.service.ts';
import { ChargesService } from './charges.service.ts';
import { EventsService } from './events.service.ts';
import { TimelineService } from './timeline.service.ts';

export const caseRecordRoutes: FastifyPluginAsyncZod = async (app) => {
  const charges = new ChargesService(app);
  const events = new EventsService(app);
  const assignments = new AssignmentsService(app);
  const timeline = new TimelineService(app);

  app.post('/v1/cases/:id/charges', {
    config: { location: '/v1/charges/:id' },
    schema: {
      tags: ['charges'],
      summary: 'Record a charge (e.g. RU-CC 207.3) and how the person is wanted',
      params: IdParams,
      body: CreateChargeBody,
      response: { 201: ChargeSchema, ...problems(400, 401, 403, 404) },
    },
    handler: async (req, reply) =>
      reply.code(201).send(await charges.createCharge(requireActor(req), req.params.id, req.body, req.id)),
  });

  app.get('/v1/cases/:id/charges', {
    schema: {
      tags: ['charges'],
      summary: 'Charges of a case, oldest first (paged: cursor, limit)',
      params: IdParams,
      querystring: ListPageQuery,
      response: {
        200: z.object({ items: z.array(ChargeSchema), nextCursor: nextCursorField }),
        ...problems(400, 401, 404),
      },
    },
    handler: async (req) => charges.listCharges(requireActor(req), req.params.id, req.query),
  });

  app.get('/v1/charges/:id', {
    schema: {
      tags: ['charges'],
      summary: 'A charge (ETag: its version, for the If-Match of a PATCH)',
      params: IdParams,
      response: { 200: ChargeSchema, ...problems(401, 404) },
    },
    handler: async (req, reply) => {
      const c = await charges.getCharge(requireActor(req), req.params.id);
      return reply.header('etag', `"${c.version}"`).send(c);
    },
  });

  app.patch('/v1/charges/:id', {
    schema: {
      tags: ['charges'],
      summary: 'Edit a charge (If-Match: its version)',
      params: IdParams,
      headers: IfMatchHeaders,
      body: UpdateChargeBody,
      response: { 200: ChargeSchema, ...problems(400, 401, 403, 404, 412, 428) },
    },
    handler: async (req, reply) => {
      const { version, ...patch } = req.body;
      const c = await charges.updateCharge(
        requireActor(req),
        req.params.id,
        patch,
        expectedVersion(req.headers['if-match'], version),
        req.id,
      );
      return reply.header('etag', `"${c.version}"`).send(c);
    },
  });

  app.post('/v1/cases/:id/events', {
    config: { location: '/v1/events/:id' },
    schema: {
      tags: ['events'],
      summary: 'Record a host-country event (detention, travel ban, deportation order, …)',
      params: IdParams,
      body: CreateEventBody,
      response: { 201: CreatedEventSchema, ...problems(400, 401, 403, 404) },
    },
    handler: async (req, reply) =>
      reply.code(201).send(await events.createEvent(requireActor(req), req.params.id, req.body, req.id)),
  });

  app.get('/v1/cases/:id/events', {
    schema: {
      tags: ['events'],
      summary: 'Events of a case, oldest first (paged: cursor, limit)',
      params: IdParams,
      querystring: ListPageQuery,
      response: {
        200: z.object({ items: z.array(EventSchema), nextCursor: nextCursorField }),
        ...problems(400, 401, 404),
      },
    },
    handler: async (req) => events.listEvents(requireActor(req), req.params.id, req.query, req.id),
  });

  app.get('/v1/events/:id', {
    schema: {
      tags: ['events'],
      summary: 'An event (details only for those who may read them, and then audited; ETag: its version)',
      params: IdParams,
      response: { 200: EventSchema, ...problems(401, 404) },
    },
    handler: async (req, reply) => {
      const e = await events.getEvent(requireActor(req), req.params.id, req.id);
      return reply.header('etag', `"${e.version}"`).send(e);
    },
  });

  app.patch('/v1/events/:id', {
    schema: {
      tags: ['events'],
      summary: 'Edit an event (If-Match: its version); deadlines it made are recomputed',
      params: IdParams,
      headers: IfMatchHeaders,
      body: UpdateEventBody,
      response: { 200: EventSchema, ...problems(400, 401, 403, 404, 412, 428) },
    },
    handler: async (req, reply) => {
      const { version, ...patch } = req.body;
      const e = await events.updateEvent(
        requireActor(req),
        req.params.id,
        patch,
        expectedVersion(req.headers['if-match'], version),
        req.id,
      );
      return reply.header('etag', `"${e.version}"`).send(e);
    },
  });

  // No route-level role list on assignment management: authoriseCase answers
  // 404 first for a case the caller cannot see, then requireTeamMember 403.
  app.post('/v1/cases/:id/assignments', {
    config: { location: '/v1/cases/:caseId/assignments/:id' },
    schema: {
      tags: ['assignments'],
      summary: 'Assign a lawyer (LEAD or SUPPORTING)',
      params: IdParams,
      body: CreateAssignmentBody,
      response: { 201: AssignmentSchema, ...problems(400, 401, 403, 404, 409) },
    },
    handler: async (req, reply) =>
      reply.code(201).send(await assignments.assign(requireActor(req), req.params.id, req.body, req.id)),
  });

  app.get('/v1/cases/:id/assignments', {
    schema: {
      tags: ['assignments'],
      summary: 'Current and past assignments, oldest first (paged: cursor, limit)',
      params: IdParams,
      querystring: ListPageQuery,
      response: {
        200: z.object({ items: z.array(AssignmentSchema), nextCursor: nextCursorField }),
        ...problems(400, 401, 404),
      },
    },
    handler: async (req) => assignments.listAssignments(requireActor(req), req.params.id, req.query),
  });

  app.delete('/v1/cases/:id/assignments/:assignmentId', {
    schema: {
      tags: ['assignments'],
      summary: 'End an assignment (history is kept)',
      params: z.object({ id: Uuid, assignmentId: Uuid }),
      response: { 204: z.null(), ...problems(401, 403, 404) },
    },
    handler: async (req, reply) => {
      await assignments.endAssignment(requireActor(req), req.params.id, req.params.assignmentId, req.id);
      return reply.code(204).send(null);
    },
  });

  app.get('/v1/cases/:id/timeline', {
    schema: {
      tags: ['cases'],
      summary: "Charges, events, assignments, deadlines, documents and linked cases' events in time order (paged)",
      params: IdParams,
      querystring: ListPageQuery,
      response: {
        200: z.object({ items: z.array(TimelineItemSchema), nextCursor: nextCursorField }),
        ...problems(400, 401, 404),
      },
    },
    handler: async (req) => timeline.timeline(requireActor(req), req.params.id, req.query, req.id),
  });
};
