import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { problems } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import { UserSchema } from '../users/users.schemas.ts';
import { UsersService } from '../users/users.service.ts';
import { AuthService } from './auth.service.ts';

const TokenPairSchema = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  expiresIn: z.number().int().describe('access token lifetime in seconds'),
  tokenType: z.literal('Bearer'),
  user: UserSchema,
});

export const authRoutes: FastifyPluginAsyncZod = async (app) => {
  const auth = new AuthService(app);
  const users = new UsersService(app);
  auth.warmUp();
  auth.startPruning();
  app.addHook('onClose', async () => auth.stopPruning());

  app.post('/v1/auth/login', {
    config: { public: true },
    schema: {
      tags: ['auth'],
      summary: 'Sign in with email and password',
      security: [],
      body: z.strictObject({ email: z.string().min(3).max(254), password: z.string().min(1).max(200) }),
      description:
        '401 on bad credentials; 429 with Retry-After when this address or this email is throttled (the same for ' +
        'an email without an account); 503 with Retry-After when too many sign-ins are already being checked.',
      response: { 200: TokenPairSchema, ...problems(400, 401, 429, 503) },
    },
    handler: async (req) => {
      const pair = await auth.login(req.body.email, req.body.password, req.ip, req.id);
      return { ...pair, user: await users.get(pair.userId) };
    },
  });

  app.post('/v1/auth/refresh', {
    config: { public: true },
    schema: {
      tags: ['auth'],
      summary: 'Exchange a refresh token for a new pair (the old one stops working)',
      security: [],
      body: z.strictObject({ refreshToken: z.string().min(1).max(200) }),
      response: { 200: TokenPairSchema, ...problems(400, 401) },
    },
    handler: async (req) => {
      const pair = await auth.refresh(req.body.refreshToken, req.id);
      return { ...pair, user: await users.get(pair.userId) };
    },
  });

  app.post('/v1/auth/logout', {
    schema: {
      tags: ['auth'],
      summary: 'End the session of the given refresh token (or the current one)',
      body: z.strictObject({ refreshToken: z.string().min(1).max(200).optional() }).nullish(),
      response: { 204: z.null().describe('signed out'), ...problems(401) },
    },
    handler: async (req, reply) => {
      const actor = requireActor(req);
      await auth.logout(actor.userId, actor.sessionId, req.body?.refreshToken, req.id);
      return reply.code(204).send(null);
    },
  });

  app.get('/v1/me', {
    schema: {
      tags: ['auth'],
      summary: 'The signed-in user, with role and team ids',
      response: { 200: UserSchema, ...problems(401) },
    },
    handler: async (req) => users.get(requireActor(req).userId),
  });
};
