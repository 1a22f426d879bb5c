import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { IdParams, problems } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import { nextCursorField } from '../../lib/keyset.ts';
import { DeadlineRulesService } from './deadline-rules.service.ts';
import {
  CreateRuleBody,
  ListRulesQuery,
  RuleImpactQuery,
  RuleImpactSchema,
  RuleSchema,
  UpdateRuleBody,
} from './deadlines.schemas.ts';
import { RuleImpactService } from './rule-impact.service.ts';

export const deadlineRuleRoutes: FastifyPluginAsyncZod = async (app) => {
  const deps = { db: app.db, config: app.config, clock: app.clock, log: app.log };
  const rules = new DeadlineRulesService(deps);
  const impact = new RuleImpactService(deps);

  app.get('/v1/deadline-rules', {
    schema: {
      tags: ['deadline rules'],
      summary:
        'Deadline rules (data, editable by admins) by jurisdiction and key; ?stale=true: not verified for a year ' +
        '(paged: cursor, limit)',
      querystring: ListRulesQuery,
      response: { 200: z.object({ items: z.array(RuleSchema), nextCursor: nextCursorField }), ...problems(400, 401) },
    },
    handler: async (req) => rules.list(req.query.stale === 'true', req.query),
  });

  app.post('/v1/deadline-rules', {
    config: { roles: ['ADMIN'] },
    schema: {
      tags: ['deadline rules'],
      summary: 'ADMIN: add a deadline rule (data: country, trigger, offset, citation, confidence)',
      body: CreateRuleBody,
      response: { 201: RuleSchema, ...problems(400, 401, 403, 409) },
    },
    handler: async (req, reply) => reply.code(201).send(await rules.create(requireActor(req).userId, req.body, req.id)),
  });

  app.put('/v1/deadline-rules/:id', {
    config: { roles: ['ADMIN'] },
    schema: {
      tags: ['deadline rules'],
      summary:
        'Edit a rule; the open deadlines it made move with it (not those a person rescheduled), each audited. ' +
        'Dry-run first with GET /v1/deadline-rules/:id/impact',
      params: IdParams,
      body: UpdateRuleBody,
      response: { 200: RuleSchema, ...problems(400, 401, 403, 404) },
    },
    handler: async (req) => rules.update(requireActor(req).userId, req.params.id, req.body, req.id),
  });

  app.get('/v1/deadline-rules/:id/impact', {
    config: { roles: ['ADMIN'] },
    schema: {
      tags: ['deadline rules'],
      summary:
        'Dry run of an edit (the query holds the proposed values): how many open deadlines would move, and by how much',
      params: IdParams,
      querystring: RuleImpactQuery,
      response: { 200: RuleImpactSchema, ...problems(400, 401, 403, 404) },
    },
    handler: async (req) => impact.impact(req.params.id, req.query),
  });
};
