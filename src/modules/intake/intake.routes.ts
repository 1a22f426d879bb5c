import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IdParams, problems } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import {
  AcceptedSchema,
  AcceptIntakeBody,
  AltchaChallengeSchema,
  AskTeamBody,
  AskTeamResponse,
  IntakeLanguage,
  IntakeSubmissionSchema,
  ListIntakeQuery,
  ReceiptSchema,
  RejectIntakeBody,
  SubmitIntakeBody,
} from './intake.schemas.ts';
import { INTAKE_ERASE_INTERVAL_MS, IntakeService } from './intake.service.ts';
import { FORM_CSP, renderIntakeForm } from './intake-form.ts';
import { IntakeVettingService } from './intake-vetting.service.ts';
import { DuplicateAskService } from './duplicate-ask.service.ts';
import { rateLimitSink } from '../../lib/rate-limit-headers.ts';

export const intakeRoutes: FastifyPluginAsyncZod = async (app) => {
  const intake = new IntakeService(app);
  const vetting = new IntakeVettingService(app);
  const asks = new DuplicateAskService(app);
  const vetters = { roles: ['CASEWORKER' as const, 'ADMIN' as const] };

  // Unvetted reports are erased after INTAKE_RETENTION_DAYS (config.intake; an unref'd timer
  // in every API instance; the UPDATE is idempotent, so instances may overlap).
  let eraseTimer: NodeJS.Timeout | null = null;
  app.addHook('onReady', async () => {
    eraseTimer = setInterval(() => {
      intake
        .eraseStale()
        .catch((err: unknown) =>
          app.log.warn({ err: { type: err instanceof Error ? err.name : typeof err } }, 'intake erasure failed'),
        );
    }, INTAKE_ERASE_INTERVAL_MS);
    eraseTimer.unref();
  });
  app.addHook('onClose', async () => {
    if (eraseTimer) clearInterval(eraseTimer);
  });

  app.get('/intake', {
    config: { public: true },
    schema: {
      tags: ['intake'],
      security: [],
      // /intake and /v1/intake would both derive getIntake.
      operationId: 'getIntakeForm',
      summary: 'The public intake form (HTML, one page, strict CSP, no third-party assets)',
      querystring: z.strictObject({ lang: IntakeLanguage.default('ru') }),
      response: { 200: z.string(), ...problems(400) },
    },
    handler: async (req, reply) =>
      reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('content-security-policy', FORM_CSP)
        .header('referrer-policy', 'no-referrer')
        .header('x-frame-options', 'DENY')
        .send(renderIntakeForm(req.query.lang)),
  });

  app.get('/v1/intake/challenge', {
    config: { public: true },
    schema: {
      tags: ['intake'],
      security: [],
      summary: 'A proof-of-work challenge (ALTCHA v1 format) to solve before POST /v1/intake',
      response: { 200: AltchaChallengeSchema },
    },
    handler: async () => intake.challenge(),
  });

  app.post('/v1/intake', {
    config: { public: true },
    schema: {
      tags: ['intake'],
      security: [],
      summary: 'Report a detention or another event, without an account (quarantined until vetted)',
      description:
        'Answers 202 with a receipt and nothing else. A failed, expired or replayed proof of work answers 400 naming body.altcha only: nothing was stored, resend the same report with a newly solved challenge. 429 when too many reports come from one address or from everywhere at once.',
      body: SubmitIntakeBody,
      response: { 202: ReceiptSchema, ...problems(400, 429) },
    },
    handler: async (req, reply) =>
      reply.code(202).send(await intake.submit(req.body, req.ip, req.id, rateLimitSink(reply, app.clock))),
  });

  app.get('/v1/intake', {
    config: vetters,
    schema: {
      tags: ['intake'],
      summary: "The vetting queue: submissions about the caller's teams' countries (all for admins), decrypted",
      querystring: ListIntakeQuery,
      response: {
        200: z.object({ items: z.array(IntakeSubmissionSchema), nextCursor: z.string().nullable() }),
        ...problems(400, 401, 403),
      },
    },
    handler: async (req) => intake.list(requireActor(req), req.query, req.id),
  });

  app.post('/v1/intake/:id/accept', {
    config: vetters,
    schema: {
      tags: ['intake'],
      summary: 'Accept a submission: creates the person, the case and the event in one transaction',
      params: IdParams,
      body: AcceptIntakeBody,
      response: { 201: AcceptedSchema, ...problems(400, 401, 403, 404, 409) },
    },
    handler: async (req, reply) =>
      reply.code(201).send(await vetting.accept(requireActor(req), req.params.id, req.body, req.id)),
  });

  app.post('/v1/intake/:id/reject', {
    config: vetters,
    schema: {
      tags: ['intake'],
      summary: 'Reject a submission: its content is erased, the reason kept (encrypted)',
      params: IdParams,
      body: RejectIntakeBody,
      response: { 204: z.null(), ...problems(400, 401, 403, 404, 409) },
    },
    handler: async (req, reply) => {
      await vetting.reject(requireActor(req), req.params.id, req.body.reason, req.id);
      return reply.code(204).send(null);
    },
  });

  app.post('/v1/people/duplicates/ask-team', {
    config: vetters,
    schema: {
      tags: ['people'],
      summary: 'Ask the teams holding hidden duplicate matches of a name to get in touch (a notice, audited)',
      description:
        "Emails the caseworkers of the teams whose cases hold people matching this name that the caller may not see (hiddenMatches of GET /v1/people/duplicates and of the intake queue): who asks and the recipients' own case references, nothing to the caller.",
      body: AskTeamBody,
      response: { 202: AskTeamResponse, ...problems(400, 401, 403, 429) },
    },
    handler: async (req, reply) =>
      reply
        .code(202)
        .send(
          await asks.ask(
            requireActor(req),
            req.body.legalName,
            req.body.dateOfBirth,
            req.id,
            rateLimitSink(reply, app.clock),
          ),
        ),
  });
};
