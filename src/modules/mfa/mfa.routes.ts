// Second factors: completing a sign-in (/v1/auth/mfa*) and enrolling or
// removing factors (/v1/me/mfa*). Registered from the auth routes so that
// they share the AuthService (one argon2 queue, one throttle).
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { IdParams, problems, Timestamp } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import type { AuthService } from '../auth/auth.service.ts';
import { UserSchema } from '../users/users.schemas.ts';
import { UsersService } from '../users/users.service.ts';
import { MfaEnrolment } from './enrolment.service.ts';

type ZodApp = Parameters<FastifyPluginAsyncZod>[0];

const B64 = z
  .string()
  .max(16_384)
  .regex(/^[A-Za-z0-9_-]*={0,2}$/, 'base64url');
const ClientExtensions = z.record(z.string(), z.unknown()).default({});

const AssertionSchema = z
  .object({
    id: B64,
    rawId: B64,
    type: z.literal('public-key'),
    response: z.object({
      clientDataJSON: B64,
      authenticatorData: B64,
      signature: B64,
      userHandle: B64.optional(),
    }),
    clientExtensionResults: ClientExtensions,
    authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  })
  .describe('the JSON of navigator.credentials.get() (e.g. @simplewebauthn/browser startAuthentication)');

const AttestationSchema = z
  .object({
    id: B64,
    rawId: B64,
    type: z.literal('public-key'),
    response: z.object({
      clientDataJSON: B64,
      attestationObject: B64,
      authenticatorData: B64.optional(),
      transports: z.array(z.string().max(32)).max(10).optional(),
      publicKeyAlgorithm: z.number().int().optional(),
      publicKey: B64.optional(),
    }),
    clientExtensionResults: ClientExtensions,
    authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  })
  .describe('the JSON of navigator.credentials.create() (e.g. @simplewebauthn/browser startRegistration)');

const WebauthnOptions = z.record(z.string(), z.unknown()).describe('PublicKeyCredential*OptionsJSON');
const RecoveryCodes = z.array(z.string()).describe('ten single-use recovery codes: shown once, store them offline');
const MfaToken = z.string().min(1).max(200);
const Code = z.string().min(6).max(40).describe('a 6-digit TOTP code or a recovery code');

const ALLOW_ENROLMENT = { allowWhile: ['mfaEnrolment' as const] };

export function registerMfaRoutes(app: ZodApp, auth: AuthService): void {
  const enrolment = new MfaEnrolment(app, auth);
  const users = new UsersService(app);

  app.post('/v1/auth/mfa', {
    config: { public: true },
    schema: {
      tags: ['auth'],
      summary: 'Complete a sign-in with a second factor',
      description:
        'Send the mfaToken from POST /v1/auth/login with a TOTP code, a recovery code, or a passkey assertion ' +
        '(challenge from POST /v1/auth/mfa/webauthn-options). Each attempt counts toward the same lockout as ' +
        'passwords (429 with Retry-After while blocked). A code is accepted once.',
      security: [],
      body: z.union([
        z.strictObject({ mfaToken: MfaToken, code: Code }),
        z.strictObject({ mfaToken: MfaToken, webauthn: AssertionSchema }),
      ]),
      response: {
        200: z.object({
          accessToken: z.string(),
          refreshToken: z.string(),
          expiresIn: z.number().int(),
          tokenType: z.literal('Bearer'),
          user: UserSchema,
          passwordChangeRequired: z.literal(true).optional(),
        }),
        ...problems(400, 401, 429),
      },
    },
    handler: async (req) => {
      const body = req.body;
      const proof =
        'code' in body ? { code: body.code } : { webauthn: body.webauthn as unknown as AuthenticationResponseJSON };
      const done = await auth.mfaLogin.complete(body.mfaToken, proof, req.ip, req.headers['user-agent'], req.id);
      return {
        ...done.pair,
        user: await users.get(done.userId),
        ...(done.passwordChangeRequired ? { passwordChangeRequired: true as const } : {}),
      };
    },
  });

  app.post('/v1/auth/mfa/webauthn-options', {
    config: { public: true },
    schema: {
      tags: ['auth'],
      summary: 'Passkey request options for a pending sign-in',
      security: [],
      body: z.strictObject({ mfaToken: MfaToken }),
      response: { 200: WebauthnOptions, ...problems(400, 401, 409) },
    },
    handler: async (req) => ({ ...(await auth.mfaLogin.webauthnOptions(req.body.mfaToken)) }),
  });

  app.get('/v1/me/mfa', {
    config: ALLOW_ENROLMENT,
    schema: {
      tags: ['auth'],
      summary: 'Your second factors (never their secrets)',
      response: {
        200: z.object({
          totp: z.object({ enrolled: z.boolean(), pending: z.boolean(), enrolledAt: Timestamp.nullable() }),
          passkeys: z.array(
            z.object({ id: z.uuid(), name: z.string(), createdAt: Timestamp, lastUsedAt: Timestamp.nullable() }),
          ),
          recoveryCodesLeft: z.number().int(),
          required: z.boolean().describe('whether some roles must enrol (MFA_REQUIRED_ROLES is set)'),
        }),
        ...problems(401),
      },
    },
    handler: async (req) => enrolment.status(requireActor(req).userId),
  });

  app.post('/v1/me/mfa/totp', {
    config: ALLOW_ENROLMENT,
    schema: {
      tags: ['auth'],
      summary: 'Start enrolling an authenticator app',
      description:
        'Needs your password. Returns the secret and an otpauth:// URL (show it as a QR code); the app is active ' +
        'once confirmed with a first code. 409 when one is already enrolled.',
      body: z.strictObject({ password: z.string().min(1).max(200) }),
      response: { 201: z.object({ secret: z.string(), otpauthUrl: z.string() }), ...problems(400, 401, 409, 429) },
    },
    handler: async (req, reply) => {
      const started = await enrolment.startTotp(requireActor(req), req.body.password, req.id);
      return reply.code(201).send(started);
    },
  });

  app.post('/v1/me/mfa/totp/confirm', {
    config: ALLOW_ENROLMENT,
    schema: {
      tags: ['auth'],
      summary: 'Confirm the authenticator app with a first code; returns new recovery codes',
      body: z.strictObject({ code: z.string().regex(/^\d{6}$/, '6 digits') }),
      response: { 200: z.object({ recoveryCodes: RecoveryCodes }), ...problems(400, 401, 409) },
    },
    handler: async (req) => enrolment.confirmTotp(requireActor(req), req.body.code, req.id),
  });

  app.delete('/v1/me/mfa/totp', {
    config: { ...ALLOW_ENROLMENT, recentAuth: true },
    schema: {
      tags: ['auth'],
      summary: 'Remove the authenticator app (recent authentication)',
      response: { 204: z.null().describe('removed'), ...problems(401, 404) },
    },
    handler: async (req, reply) => {
      await enrolment.removeTotp(requireActor(req), req.id);
      return reply.code(204).send(null);
    },
  });

  app.post('/v1/me/mfa/webauthn/options', {
    config: { ...ALLOW_ENROLMENT, recentAuth: true },
    schema: {
      tags: ['auth'],
      summary: 'Passkey registration options (recent authentication)',
      response: { 200: WebauthnOptions, ...problems(401) },
    },
    handler: async (req) => ({ ...(await enrolment.passkeyOptions(requireActor(req))) }),
  });

  app.post('/v1/me/mfa/webauthn', {
    config: { ...ALLOW_ENROLMENT, recentAuth: true },
    schema: {
      tags: ['auth'],
      summary: 'Register a passkey (recent authentication)',
      description: 'The first second factor also returns ten recovery codes (shown once).',
      body: z.strictObject({ response: AttestationSchema, name: z.string().trim().min(1).max(100) }),
      response: {
        201: z.object({
          id: z.uuid(),
          name: z.string(),
          createdAt: Timestamp,
          recoveryCodes: RecoveryCodes.optional(),
        }),
        ...problems(400, 401, 409, 422),
      },
    },
    handler: async (req, reply) => {
      const response = req.body.response as unknown as RegistrationResponseJSON;
      const created = await enrolment.registerPasskey(requireActor(req), response, req.body.name, req.id);
      return reply.code(201).send(created);
    },
  });

  app.delete('/v1/me/mfa/webauthn/:id', {
    config: { ...ALLOW_ENROLMENT, recentAuth: true },
    schema: {
      tags: ['auth'],
      summary: 'Remove a passkey (recent authentication)',
      params: IdParams,
      response: { 204: z.null().describe('removed'), ...problems(400, 401, 404) },
    },
    handler: async (req, reply) => {
      await enrolment.removePasskey(requireActor(req), req.params.id, req.id);
      return reply.code(204).send(null);
    },
  });
}
