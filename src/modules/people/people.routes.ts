import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { IdParams, IfMatchHeaders, problems } from '../../lib/http-schemas.ts';
import { expectedVersion } from '../../lib/pagination.ts';
import { requireActor } from '../../plugins/auth.ts';
import {
  CreatePersonBody,
  CreatedPersonSchema,
  DuplicatesQuery,
  DuplicatesResponse,
  ListPeopleQuery,
  PersonSchema,
  UpdatePersonBody,
} from './people.schemas.ts';
import { PeopleService } from './people.service.ts';
import { backfillNameTokens } from './duplicates.service.ts';

export const peopleRoutes: FastifyPluginAsyncZod = async (app) => {
  const people = new PeopleService(app);
  const writers = { roles: ['CASEWORKER' as const, 'ADMIN' as const] };
  // People written before the cross-script index existed get theirs at start.
  // (In the background, idempotent and batched, as the legacy summary pass.)
  app.addHook('onReady', async () => {
    backfillNameTokens(app)
      .then((n) => n && app.log.info({ people: n }, 'indexed legal names for cross-script duplicate checks'))
      .catch((err: unknown) =>
        app.log.error({ err: { type: err instanceof Error ? err.name : typeof err } }, 'name token backfill failed'),
      );
  });

  app.post('/v1/people', {
    config: { ...writers, location: '/v1/people/:id' },
    schema: {
      tags: ['people'],
      summary: 'Register a person (legal data is encrypted at rest); the answer lists likely duplicates',
      body: CreatePersonBody,
      response: { 201: CreatedPersonSchema, ...problems(400, 401, 403, 409, 422) },
    },
    handler: async (req, reply) => reply.code(201).send(await people.create(requireActor(req), req.body, req.id)),
  });

  app.get('/v1/people/duplicates', {
    config: writers,
    schema: {
      tags: ['people'],
      summary: 'Likely duplicates of a legal name, across scripts (Иванов, Ivanov, İvanov, Iwanow), ranked by score',
      description:
        'Matching uses keyed blind indexes of the normalised name and of the tokens of its transliterated skeleton: the database never holds the names in clear. Matches the caller may not see are only counted (hiddenMatches).',
      querystring: DuplicatesQuery,
      response: { 200: DuplicatesResponse, ...problems(400, 401, 403) },
    },
    handler: async (req) => people.duplicates(requireActor(req), req.query, req.id),
  });

  app.get('/v1/people', {
    schema: {
      tags: ['people'],
      summary: 'People the caller may see (pseudonyms only)',
      querystring: ListPeopleQuery,
      response: {
        200: z.object({ items: z.array(PersonSchema), nextCursor: z.string().nullable() }),
        ...problems(400, 401),
      },
    },
    handler: async (req) => people.list(requireActor(req), req.query),
  });

  app.get('/v1/people/:id', {
    schema: {
      tags: ['people'],
      summary: 'One person (legal data only for those who may see it; the read is audited)',
      params: IdParams,
      response: { 200: PersonSchema, ...problems(401, 404) },
    },
    handler: async (req, reply) => {
      const person = await people.get(requireActor(req), req.params.id, req.id);
      return reply.header('etag', `"${person.version}"`).send(person);
    },
  });

  app.patch('/v1/people/:id', {
    config: { roles: ['CASEWORKER', 'LAWYER', 'ADMIN'] },
    schema: {
      tags: ['people'],
      summary:
        'Edit a person; send If-Match with the version you read (428 without, 412 when stale). ' +
        'Changed personal fields are named, not valued, in the audit log',
      params: IdParams,
      headers: IfMatchHeaders,
      body: UpdatePersonBody,
      response: { 200: PersonSchema, ...problems(400, 401, 403, 404, 412, 428) },
    },
    handler: async (req, reply) => {
      const { version, ...patch } = req.body;
      const p = await people.update(
        requireActor(req),
        req.params.id,
        patch,
        expectedVersion(req.headers['if-match'], version),
        req.id,
      );
      return reply.header('etag', `"${p.version}"`).send(p);
    },
  });
};
