import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { IdParams, problems } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import { SessionsService } from '../auth/sessions.service.ts';
import {
  CreateUserBody,
  LawyerProfileBody,
  LawyerProfileSchema,
  ListUsersQuery,
  UpdateUserBody,
  UserSchema,
} from './users.schemas.ts';
import { UsersService } from './users.service.ts';

export const userRoutes: FastifyPluginAsyncZod = async (app) => {
  const users = new UsersService(app);
  const sessions = new SessionsService(app);
  const adminStepUp = { roles: ['ADMIN' as const], recentAuth: true };
  const admin = { roles: ['ADMIN' as const] };

  app.post('/v1/users', {
    config: { ...adminStepUp, location: '/v1/users/:id' },
    schema: {
      tags: ['users'],
      summary: 'Create a user',
      body: CreateUserBody,
      response: { 201: UserSchema, ...problems(400, 401, 403, 409) },
    },
    handler: async (req, reply) => reply.code(201).send(await users.create(req.body, requireActor(req).userId, req.id)),
  });

  app.get('/v1/users', {
    config: admin,
    schema: {
      tags: ['users'],
      summary: 'List users, newest first',
      querystring: ListUsersQuery,
      response: {
        200: z.object({ items: z.array(UserSchema), nextCursor: z.string().nullable() }),
        ...problems(400, 401, 403),
      },
    },
    handler: async (req) => users.list(req.query),
  });

  app.get('/v1/users/:id', {
    config: admin,
    schema: {
      tags: ['users'],
      summary: 'One user',
      params: IdParams,
      response: { 200: UserSchema, ...problems(401, 403, 404) },
    },
    handler: async (req) => users.get(req.params.id),
  });

  app.patch('/v1/users/:id', {
    config: adminStepUp,
    schema: {
      tags: ['users'],
      summary: 'Change display name, role or active flag',
      params: IdParams,
      body: UpdateUserBody,
      response: { 200: UserSchema, ...problems(400, 401, 403, 404) },
    },
    handler: async (req) => users.update(req.params.id, req.body, requireActor(req).userId, req.id),
  });

  app.post('/v1/users/:id/revoke-sessions', {
    config: adminStepUp,
    schema: {
      tags: ['users'],
      summary: 'Sign the user out everywhere, effective immediately',
      description:
        "Ends every session of the user, turns the user's reminder webhook off (URL kept; pending webhook " +
        'reminders cancelled) and revokes their calendar feed tokens, in one transaction.',
      params: IdParams,
      response: { 204: z.null(), ...problems(400, 401, 403, 404) },
    },
    handler: async (req, reply) => {
      await sessions.endAll(req.params.id, requireActor(req).userId, 'admin_revoked', req.id);
      return reply.code(204).send(null);
    },
  });

  app.put('/v1/users/:id/lawyer-profile', {
    config: admin,
    schema: {
      tags: ['users'],
      summary: "Set a lawyer's profile (phone stored encrypted)",
      params: IdParams,
      body: LawyerProfileBody,
      response: { 200: LawyerProfileSchema, ...problems(400, 401, 403, 404, 422) },
    },
    handler: async (req) => users.putLawyerProfile(req.params.id, req.body, requireActor(req).userId, req.id),
  });

  app.get('/v1/users/:id/lawyer-profile', {
    config: admin,
    schema: {
      tags: ['users'],
      summary: "A lawyer's profile (the phone decrypted; the read is audited)",
      params: IdParams,
      response: { 200: LawyerProfileSchema, ...problems(401, 403, 404) },
    },
    handler: async (req) => users.getLawyerProfile(req.params.id, requireActor(req).userId, req.id),
  });
};
