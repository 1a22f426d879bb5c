// Reauthentication (step-up), password change and an admin's password reset.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { IdParams, problems } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import type { AuthService } from './auth.service.ts';
import { CredentialsService } from './credentials.service.ts';
import { PASSWORD_MAX_LENGTH } from './password-policy.ts';

type ZodApp = Parameters<FastifyPluginAsyncZod>[0];

export function registerCredentialRoutes(app: ZodApp, auth: AuthService): void {
  const credentials = new CredentialsService(app, auth);

  app.post('/v1/auth/reauth', {
    schema: {
      tags: ['auth'],
      summary: 'Prove it is you again: a fresh access token for step-up actions',
      description:
        `Step-up routes (changing reminder channels, second factors, exports, user administration) need a ` +
        `sign-in or reauth within REAUTH_MAX_AGE_SECONDS (default 600) and answer 401 reauthentication-required ` +
        'otherwise. `code` (TOTP or recovery code) is required when your account has a second factor. Counts ' +
        'toward the sign-in lockout.',
      body: z.strictObject({ password: z.string().min(1).max(200), code: z.string().min(6).max(40).optional() }),
      response: {
        200: z.object({ accessToken: z.string(), expiresIn: z.number().int(), tokenType: z.literal('Bearer') }),
        ...problems(400, 401, 429, 503),
      },
    },
    handler: async (req) => credentials.reauth(requireActor(req), req.body.password, req.body.code, req.id),
  });

  app.post('/v1/me/password', {
    config: { allowWhile: ['passwordChange'] },
    schema: {
      tags: ['auth'],
      summary: 'Change your password; every other session ends',
      description:
        'The new password needs at least 12 characters and must not be a common password, a keyboard run, or ' +
        'contain your email or name (NIST SP 800-63B; no composition rules). You get a security notice by email.',
      body: z.strictObject({
        currentPassword: z.string().min(1).max(200),
        newPassword: z.string().min(1).max(PASSWORD_MAX_LENGTH),
      }),
      response: { 204: z.null().describe('changed'), ...problems(400, 401, 429, 503) },
    },
    handler: async (req, reply) => {
      await credentials.changePassword(requireActor(req), req.body.currentPassword, req.body.newPassword, req.id);
      return reply.code(204).send(null);
    },
  });

  app.post('/v1/users/:id/reset-password', {
    config: { roles: ['ADMIN'], recentAuth: true },
    schema: {
      tags: ['users'],
      summary: 'ADMIN (recent authentication): a one-time temporary password for a user',
      description:
        'Shown once. Every session of the user ends (webhook channel off, calendar feeds revoked, as with ' +
        'revoke-sessions); the user must choose a new password before anything else and gets a security notice.',
      params: IdParams,
      response: { 200: z.object({ temporaryPassword: z.string() }), ...problems(400, 401, 403, 404, 422) },
    },
    handler: async (req) => ({
      temporaryPassword: await credentials.resetPassword(requireActor(req), req.params.id, req.id),
    }),
  });
}
