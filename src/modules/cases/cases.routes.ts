import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { IdParams, IfMatchHeaders, problems } from '../../lib/http-schemas.ts';
import { expectedVersion } from '../../lib/pagination.ts';
import { requireActor } from '../../plugins/auth.ts';
import { CaseSchema, CreateCaseBody, ListCasesQuery, UpdateCaseBody } from './cases.schemas.ts';
import { encryptLegacySummaries } from './case-summary.ts';
import { encryptLegacySourceUrls } from './event-sources.ts';
import { CasesService } from './cases.service.ts';

export const caseRoutes: FastifyPluginAsyncZod = async (app) => {
  const cases = new CasesService(app);
  // Summaries and source links stored before they were encrypted: encrypted once the server is up
  // (idempotent, batched).
  app.addHook('onReady', async () => {
    encryptLegacySummaries(app)
      .then((n) => n && app.log.info({ cases: n }, 'encrypted legacy case summaries'))
      .then(() => encryptLegacySourceUrls(app))
      .then((n) => n && app.log.info({ events: n }, 'encrypted legacy event source links'))
      .catch((err: unknown) =>
        app.log.error({ err: { type: err instanceof Error ? err.name : typeof err } }, 'legacy summary pass failed'),
      );
  });

  app.post('/v1/cases', {
    config: { roles: ['CASEWORKER', 'ADMIN'], location: '/v1/cases/:id' },
    schema: {
      tags: ['cases'],
      summary: "Open a case for a person in one of the team's host countries",
      body: CreateCaseBody,
      response: { 201: CaseSchema, ...problems(400, 401, 403) },
    },
    handler: async (req, reply) => {
      const c = await cases.create(requireActor(req), req.body, req.id);
      return reply.code(201).header('etag', `"${c.version}"`).send(c);
    },
  });

  app.get('/v1/cases', {
    schema: {
      tags: ['cases'],
      summary: 'Cases the caller may see, newest first',
      querystring: ListCasesQuery,
      response: {
        200: z.object({
          items: z.array(CaseSchema.extend({ pseudonym: z.string() })),
          nextCursor: z.string().nullable(),
        }),
        ...problems(400, 401),
      },
    },
    handler: async (req) => cases.list(requireActor(req), req.query),
  });

  app.get('/v1/cases/:id', {
    schema: {
      tags: ['cases'],
      summary: 'A case with its person (legal data only for those allowed)',
      params: IdParams,
      response: { 200: CaseSchema, ...problems(401, 404) },
    },
    handler: async (req, reply) => {
      const c = await cases.get(requireActor(req), req.params.id, req.id);
      return reply.header('etag', `"${c.version}"`).send(c);
    },
  });

  app.patch('/v1/cases/:id', {
    schema: {
      tags: ['cases'],
      summary: 'Change a case; send If-Match with the version you read',
      params: IdParams,
      headers: IfMatchHeaders,
      body: UpdateCaseBody,
      response: { 200: CaseSchema, ...problems(400, 401, 403, 404, 412, 428) },
    },
    handler: async (req, reply) => {
      const { version, ...patch } = req.body;
      const c = await cases.update(
        requireActor(req),
        req.params.id,
        patch,
        expectedVersion(req.headers['if-match'], version),
        req.id,
      );
      return reply.header('etag', `"${c.version}"`).send(c);
    },
  });
};
