// Every 4xx and 5xx leaves as application/problem+json (RFC 9457). Stack
// traces, SQL and driver messages never leave the server.
import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { AppError, problemType, type FieldError } from '../lib/app-error.ts';
import { loggablePath } from '../lib/loggable-path.ts';

type Problem = {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
};

export function sendProblem(reply: FastifyReply, req: FastifyRequest, p: Omit<Problem, 'instance'>) {
  return reply
    .code(p.status)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .send(JSON.stringify({ ...p, instance: loggablePath(req.url), requestId: req.id }));
}

function zodPath(instancePath: string, params: Record<string, unknown> | undefined, context: string): string {
  const base = instancePath.replace(/^\//, '').replace(/\//g, '.');
  const missing = params && typeof params.missingProperty === 'string' ? params.missingProperty : '';
  const joined = [base, missing].filter(Boolean).join('.');
  return joined || context;
}

/** ioredis and pg connection failures (and Prisma's "can't reach database"). */
export function isBackingServiceDown(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'MaxRetriesPerRequestError') return true;
  if (e.code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'P1001', 'P1017'].includes(e.code)) return true;
  return /Stream isn't writeable|Connection is closed|enableOfflineQueue options is false/.test(e.message ?? '');
}

export const errorsPlugin = fp(
  async (app) => {
    app.setErrorHandler((err: FastifyError | AppError | Error, req, reply) => {
      if (err instanceof AppError) {
        if (err.extra.retryAfterSeconds) reply.header('retry-after', String(err.extra.retryAfterSeconds));
        if (err.status >= 500) req.log.error({ code: err.code }, 'service error');
        return sendProblem(reply, req, {
          type: problemType(err.code),
          title: err.title,
          status: err.status,
          detail: err.detail ?? err.title,
          ...(err.extra.errors ? { errors: err.extra.errors } : {}),
        });
      }
      if (hasZodFastifySchemaValidationErrors(err)) {
        // Fastify sets validationContext on schema errors; the zod error type does not declare it.
        const context = (err as { validationContext?: string }).validationContext ?? 'body';
        // Ajv-style params are a plain object of strings and numbers.

        const errors = err.validation.map((v) => ({
          path: `${context}${zodPath(v.instancePath, v.params as Record<string, unknown>, '') ? '.' + zodPath(v.instancePath, v.params as Record<string, unknown>, '') : ''}`,
          message: v.message ?? 'invalid',
        }));
        return sendProblem(reply, req, {
          type: problemType('VALIDATION'),
          title: 'Invalid request',
          status: 400,
          detail: errors.map((e) => `${e.path}: ${e.message}`).join('; '),
          errors,
        });
      }
      if (isResponseSerializationError(err)) {
        req.log.error(
          { issues: err.cause.issues.map((i) => ({ path: i.path, code: i.code })) },
          'response failed its schema',
        );
        return sendProblem(reply, req, {
          type: problemType('INTERNAL'),
          title: 'Internal error',
          status: 500,
          detail: 'The server could not produce a valid response.',
        });
      }
      if (isBackingServiceDown(err)) {
        // Producers fail fast when Redis (or the database) is unreachable:
        // the client is told to retry instead of waiting on a hung request.
        req.log.error({ error: err.message }, 'backing service unavailable');
        reply.header('retry-after', '30');
        return sendProblem(reply, req, {
          type: problemType('UNAVAILABLE'),
          title: 'Service unavailable',
          status: 503,
          detail: 'A backing service is unavailable; retry shortly.',
        });
      }
      const prismaCode = (err as { code?: string }).code;
      if (prismaCode === 'P2002') {
        return sendProblem(reply, req, {
          type: problemType('CONFLICT'),
          title: 'Conflict',
          status: 409,
          detail: 'A record with these unique values already exists.',
        });
      }
      if (prismaCode === 'P2025') {
        return sendProblem(reply, req, {
          type: problemType('NOT_FOUND'),
          title: 'Not found',
          status: 404,
          detail: 'Not found.',
        });
      }
      // Anything Fastify throws itself is a FastifyError; other errors have no statusCode and fall through.
      const status = (err as FastifyError).statusCode;
      if (status && status >= 400 && status < 500) {
        // Fastify's own client errors (bad JSON, wrong media type, body too large).
        return sendProblem(reply, req, {
          type: problemType((err as FastifyError).code ?? 'BAD_REQUEST'),
          title: 'Bad request',
          status,
          detail: err.message,
        });
      }
      // Prisma's messages can echo query arguments: log their type and code only.
      const fromPrisma =
        err.name.startsWith('PrismaClient') || (typeof prismaCode === 'string' && /^P\d{4}$/.test(prismaCode));
      req.log.error(
        {
          err: {
            type: err.name,
            code: prismaCode,
            ...(fromPrisma
              ? {}
              : { message: err.message.slice(0, 300), stack: err.stack?.split('\n').slice(1, 8).join('\n') }),
          },
        },
        'unhandled error',
      );
      return sendProblem(reply, req, {
        type: problemType('INTERNAL'),
        title: 'Internal error',
        status: 500,
        detail: 'An unexpected error occurred; it has been logged with the request id.',
      });
    });

    app.setNotFoundHandler((req, reply) =>
      sendProblem(reply, req, {
        type: problemType('NOT_FOUND'),
        title: 'Not found',
        status: 404,
        detail: `No route ${req.method} ${loggablePath(req.url)}`,
      }),
    );
  },
  { name: 'errors' },
);
