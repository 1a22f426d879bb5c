import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { IdParams, problems, Timestamp } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import { UserSchema } from '../users/users.schemas.ts';
import { UsersService } from '../users/users.service.ts';
import { AuthService } from './auth.service.ts';
import { registerMfaRoutes } from '../mfa/mfa.routes.ts';
import { registerCredentialRoutes } from './credentials.routes.ts';
import { startAuthRetention } from './retention.ts';
import { SessionsService, USER_AGENT_MAX } from './sessions.service.ts';
import { ListPageQuery, nextCursorField } from '../../lib/keyset.ts';
import { rateLimitSink } from '../../lib/rate-limit-headers.ts';

export const TokenPairSchema = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  expiresIn: z.number().int().describe('access token lifetime in seconds'),
  tokenType: z.literal('Bearer'),
  user: UserSchema,
});

export const SignInFlags = {
  mfaEnrolmentRequired: z
    .literal(true)
    .optional()
    .describe('your role must enrol a second factor: these tokens reach only /v1/me, /v1/me/mfa/* and logout'),
  passwordChangeRequired: z
    .literal(true)
    .optional()
    .describe('an admin reset your password: these tokens reach only /v1/me, /v1/me/password and logout'),
};

const LoginResponseSchema = z.union([
  TokenPairSchema.extend(SignInFlags),
  z.object({
    mfaRequired: z.literal(true),
    mfaToken: z.string().describe('complete the sign-in with POST /v1/auth/mfa within 5 minutes; single use'),
    methods: z.array(z.enum(['totp', 'webauthn', 'recovery'])),
  }),
]);

const SessionSchema = z.object({
  id: z.uuid(),
  createdAt: Timestamp.describe('sign-in time'),
  lastUsedAt: Timestamp.describe('last token refresh or login (not every request)'),
  ip: z.string().nullable().describe('client address at sign-in'),
  userAgent: z.string().nullable().describe(`User-Agent at sign-in (at most ${USER_AGENT_MAX} characters)`),
  current: z.boolean().describe('the session of the access token of this request'),
});

export const authRoutes: FastifyPluginAsyncZod = async (app) => {
  const auth = new AuthService(app);
  const users = new UsersService(app);
  const sessions = new SessionsService(app);
  auth.warmUp();
  auth.startPruning();
  const stopRetention = startAuthRetention(app);
  app.addHook('onClose', async () => {
    auth.stopPruning();
    stopRetention();
  });

  registerMfaRoutes(app, auth);
  registerCredentialRoutes(app, auth);

  app.post('/v1/auth/login', {
    config: { public: true },
    schema: {
      tags: ['auth'],
      summary: 'Sign in with email and password',
      security: [],
      body: z.strictObject({ email: z.string().min(3).max(254), password: z.string().min(1).max(200) }),
      description:
        'With a second factor enrolled the answer is `{mfaRequired: true, mfaToken, methods}` and no tokens: ' +
        'complete with POST /v1/auth/mfa within 5 minutes. When your role must enrol a second factor and has ' +
        'none, the tokens come with `mfaEnrolmentRequired: true` and reach only /v1/me, /v1/me/mfa/* and logout ' +
        '(403 mfa-enrolment-required elsewhere); after an admin reset, `passwordChangeRequired: true` and only ' +
        '/v1/me, /v1/me/password and logout. 401 on bad credentials; 429 with Retry-After when this address or ' +
        'this email is throttled (the same for an email without an account); 503 with Retry-After when too many ' +
        'sign-ins are already being checked. The per-address window is announced in RateLimit-Policy/RateLimit ' +
        '(and RateLimit-Limit/-Remaining/-Reset).',
      response: { 200: LoginResponseSchema, ...problems(400, 401, 429, 503) },
    },
    handler: async (req, reply) => {
      const result = await auth.login(
        req.body.email,
        req.body.password,
        req.ip,
        req.id,
        req.headers['user-agent'],
        rateLimitSink(reply, app.clock),
      );
      if (result.kind === 'mfa') {
        return { mfaRequired: true as const, mfaToken: result.mfaToken, methods: result.methods };
      }
      return {
        ...result.pair,
        user: await users.get(result.userId),
        ...(result.mfaEnrolmentRequired ? { mfaEnrolmentRequired: true as const } : {}),
        ...(result.passwordChangeRequired ? { passwordChangeRequired: true as const } : {}),
      };
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
    config: { allowWhile: ['mfaEnrolment', 'passwordChange'] },
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
    config: { allowWhile: ['mfaEnrolment', 'passwordChange'] },
    schema: {
      tags: ['auth'],
      summary: 'The signed-in user, with role and team ids',
      response: { 200: UserSchema, ...problems(401) },
    },
    handler: async (req) => users.get(requireActor(req).userId),
  });

  app.get('/v1/me/sessions', {
    schema: {
      tags: ['auth'],
      summary: 'Your signed-in sessions, newest first',
      description:
        'Sessions not revoked and not expired, paged (cursor, limit). lastUsedAt is the last token ' +
        'refresh or sign-in, not the last request. ip and userAgent are those of the sign-in.',
      querystring: ListPageQuery,
      response: {
        200: z.object({ items: z.array(SessionSchema), nextCursor: nextCursorField }),
        ...problems(400, 401),
      },
    },
    handler: async (req) => {
      const actor = requireActor(req);
      return sessions.list(actor.userId, actor.sessionId, req.query);
    },
  });

  app.delete('/v1/me/sessions/:id', {
    schema: {
      tags: ['auth'],
      summary: 'End one of your sessions',
      description:
        'Its access tokens are refused from the next request on and its refresh tokens stop working. Ending the ' +
        "current session signs you out. 404 for an unknown id or another user's session; a session of yours " +
        'that already ended answers 204.',
      params: IdParams,
      response: { 204: z.null().describe('session ended'), ...problems(400, 401, 404) },
    },
    handler: async (req, reply) => {
      await sessions.endOne(requireActor(req).userId, req.params.id, req.id);
      return reply.code(204).send(null);
    },
  });

  app.post('/v1/me/revoke-sessions', {
    schema: {
      tags: ['auth'],
      summary: 'After a compromise: end every other session, disable your webhook, revoke your calendar feed',
      description:
        'Ends all your sessions except the current one, turns your reminder webhook off (URL and secret are kept: ' +
        're-enable it with PUT /v1/me/notification-settings after checking it; pending webhook reminders are ' +
        'cancelled) and revokes your calendar feed token (create a new one with POST /v1/me/calendar-token), in ' +
        'one transaction.',
      response: { 204: z.null().describe('done'), ...problems(401, 404) },
    },
    handler: async (req, reply) => {
      const actor = requireActor(req);
      await sessions.endOthers(actor.userId, actor.sessionId, req.id);
      return reply.code(204).send(null);
    },
  });
};
