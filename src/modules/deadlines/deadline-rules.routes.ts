import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { IdParams, problems } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import { DeadlineRulesService } from './deadline-rules.service.ts';
import { CreateRuleBody, RuleSchema, UpdateRuleBody } from './deadlines.schemas.ts';

export const deadlineRuleRoutes: FastifyPluginAsyncZod = async (app) => {
  const rules = new DeadlineRulesService({ db: app.db, clock: app.clock });

  app.get('/v1/deadline-rules', {
    schema: {
      tags: ['deadline rules'],
      summary: 'Deadline rules (data, editable by admins)',
      response: { 200: z.object({ items: z.array(RuleSchema) }), ...problems(401) },
    },
    handler: async () => rules.list(),
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
      summary: 'Edit a rule (applies to deadlines computed from now on)',
      params: IdParams,
      body: UpdateRuleBody,
      response: { 200: RuleSchema, ...problems(400, 401, 403, 404) },
    },
    handler: async (req) => rules.update(requireActor(req).userId, req.params.id, req.body, req.id),
  });
};
