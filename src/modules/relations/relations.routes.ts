import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IdParams, problems } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import { CaseLinksService } from './case-links.service.ts';
import { RelationsService } from './relations.service.ts';
import { CaseLinkSchema, CreateCaseLinkBody, CreateRelationBody, RelationSchema } from './relations.schemas.ts';
import { ListPageQuery, nextCursorField } from '../../lib/keyset.ts';

export const relationRoutes: FastifyPluginAsyncZod = async (app) => {
  const relations = new RelationsService(app);
  const links = new CaseLinksService(app);
  const editors = { roles: ['CASEWORKER' as const, 'LAWYER' as const, 'ADMIN' as const] };

  app.post('/v1/people/:id/relations', {
    config: { ...editors, location: '/v1/relations/:id' },
    schema: {
      tags: ['relations'],
      summary: 'Relate two people the caller may both see (audited; the note is encrypted)',
      params: IdParams,
      body: CreateRelationBody,
      response: { 201: RelationSchema, ...problems(400, 401, 403, 404) },
    },
    handler: async (req, reply) =>
      reply.code(201).send(await relations.create(requireActor(req), req.params.id, req.body, req.id)),
  });

  app.get('/v1/people/:id/relations', {
    schema: {
      tags: ['relations'],
      summary:
        "A person's relations, both ways, to people the caller may see (notes not for coordinators); paged: cursor, limit",
      params: IdParams,
      querystring: ListPageQuery,
      response: {
        200: z.object({ items: z.array(RelationSchema), nextCursor: nextCursorField }),
        ...problems(400, 401, 404),
      },
    },
    handler: async (req) => relations.list(requireActor(req), req.params.id, req.id, req.query),
  });

  app.delete('/v1/relations/:id', {
    config: editors,
    schema: {
      tags: ['relations'],
      summary: 'Remove a relation (the caller must see both people)',
      params: IdParams,
      response: { 204: z.null(), ...problems(401, 403, 404) },
    },
    handler: async (req, reply) => {
      await relations.remove(requireActor(req), req.params.id, req.id);
      return reply.code(204).send(null);
    },
  });

  app.post('/v1/cases/:id/links', {
    config: { ...editors, location: '/v1/case-links/:id' },
    schema: {
      tags: ['relations'],
      summary: 'Link this case (may edit) to another the caller may see; two-way, audited in both cases',
      params: IdParams,
      body: CreateCaseLinkBody,
      response: { 201: CaseLinkSchema, ...problems(400, 401, 403, 404, 409) },
    },
    handler: async (req, reply) =>
      reply.code(201).send(await links.create(requireActor(req), req.params.id, req.body, req.id)),
  });

  app.get('/v1/cases/:id/links', {
    schema: {
      tags: ['relations'],
      summary: "A case's links, both ways, to cases the caller may see (paged: cursor, limit)",
      params: IdParams,
      querystring: ListPageQuery,
      response: {
        200: z.object({ items: z.array(CaseLinkSchema), nextCursor: nextCursorField }),
        ...problems(400, 401, 404),
      },
    },
    handler: async (req) => links.list(requireActor(req), req.params.id, req.query),
  });

  app.delete('/v1/case-links/:id', {
    config: editors,
    schema: {
      tags: ['relations'],
      summary: 'Remove a case link (may see both cases, may edit one)',
      params: IdParams,
      response: { 204: z.null(), ...problems(401, 403, 404) },
    },
    handler: async (req, reply) => {
      await links.remove(requireActor(req), req.params.id, req.id);
      return reply.code(204).send(null);
    },
  });
};
