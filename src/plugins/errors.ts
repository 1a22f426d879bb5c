// Every 4xx and 5xx leaves as application/problem+json (RFC 9457). Stack
// traces, SQL and driver messages never leave the server.
import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { AppError, problemType, type FieldError } from '../lib/app-error.ts';
import { loggablePath } from '../lib/loggable-path.ts';
import { FASTIFY_CLIENT_ERRORS, friendlyMessage } from '../lib/validation-messages.ts';

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

/** Seconds a client is told to wait when a backing service is down: a database restart takes a few. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

// Socket-level failures (Node's codes), as pg and ioredis report them.
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);
// PostgreSQL SQLSTATEs of a server that is going away, coming back or full:
// 57P01 admin_shutdown (fast shutdown terminates sessions), 57P02
// crash_shutdown, 57P03 cannot_connect_now ("the database system is starting
// up" / "shutting down"), 53300 too_many_connections; and class 08, connection
// exception (08000, 08001, 08003, 08004, 08006, 08P01).
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300']);
// Prisma: P1001 can't reach the server, P1002 timed out reaching it, P1008
// socket timeout, P1017 server closed the connection, P2024 timed out waiting
// for a pooled connection. (P2028, transaction API errors, only when a
// transaction could not start within maxWait: matched by its message below.)
const PRISMA_UNAVAILABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
// Driver adapter error kinds (@prisma/driver-adapter-utils) that mean the same.
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
// Messages without a code: pg's client and pool, Prisma's transaction start, ioredis.
const UNAVAILABLE_MESSAGE =
  /^(Connection terminated( unexpectedly| due to connection timeout)?|Client has encountered a connection error and is not queryable|timeout exceeded when trying to connect)$|Unable to start a transaction in the given time|Stream isn't writeable|Connection is closed|enableOfflineQueue options is false/;

type ErrorLike = {
  name?: unknown;
  code?: unknown;
  kind?: unknown;
  originalCode?: unknown;
  message?: unknown;
  cause?: unknown;
  meta?: { driverAdapterError?: unknown };
};

/** The error, the errors it wraps (cause, Prisma's meta.driverAdapterError) and their adapter cause objects. */
function errorChain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  const queue: unknown[] = [err];
  while (queue.length && out.length < 8) {
    const e = queue.shift();
    // Any object is read as a possible error: only its optional fields (code, kind, cause…) are looked at.
    if (!e || typeof e !== 'object' || out.includes(e as ErrorLike)) continue;
    const el = e as ErrorLike;
    out.push(el);
    queue.push(el.cause, el.meta?.driverAdapterError);
  }
  return out;
}

function isUnavailableCode(code: unknown): boolean {
  if (typeof code !== 'string') return false;
  return (
    SOCKET_CODES.has(code) || PG_UNAVAILABLE.has(code) || /^08[0-9A-Z]{3}$/.test(code) || PRISMA_UNAVAILABLE.has(code)
  );
}

/**
 * The database (pg, directly or through Prisma's driver adapter) or Redis
 * (ioredis) cannot be reached right now: refused, reset or closed connections,
 * a server shutting down or starting up, pool and transaction-start timeouts.
 * These answer 503 with Retry-After; anything else stays a 500.
 */
export function isBackingServiceDown(err: unknown): boolean {
  return errorChain(err).some((e) => {
    if (e.name === 'MaxRetriesPerRequestError') return true;
    if (isUnavailableCode(e.code) || isUnavailableCode(e.originalCode)) return true;
    if (typeof e.kind === 'string' && ADAPTER_KINDS.has(e.kind)) return true;
    return typeof e.message === 'string' && UNAVAILABLE_MESSAGE.test(e.message);
  });
}

/** What to log about an outage error: its type and codes, never a Prisma message (it can echo query arguments). */
function outageSummary(err: Error): Record<string, unknown> {
  const chain = errorChain(err);
  const codes = [...new Set(chain.flatMap((e) => [e.code, e.originalCode]).filter((c) => typeof c === 'string'))];
  const kind = chain.map((e) => e.kind).find((k) => typeof k === 'string');
  const fromPrisma = err.name.startsWith('PrismaClient');
  return {
    type: err.name,
    ...(codes.length ? { codes } : {}),
    ...(kind ? { kind } : {}),
    ...(fromPrisma ? {} : { message: err.message.slice(0, 200) }),
  };
}

/** The one error handler (also set per route where a library installs its own, e.g. the queue board). */
export function problemErrorHandler(err: FastifyError | AppError | Error, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof AppError) {
    if (err.extra.retryAfterSeconds) reply.header('retry-after', String(err.extra.retryAfterSeconds));
    if (err.extra.wwwAuthenticate) reply.header('www-authenticate', err.extra.wwwAuthenticate);
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
    const errors = err.validation.map((v) => {
      // The zod issue's own fields (expected, values, format, keys, …) as a plain object.
      const params = v.params as Record<string, unknown>;
      const sub = zodPath(v.instancePath, params, '');
      return { path: `${context}${sub ? '.' + sub : ''}`, message: friendlyMessage(v.keyword, params, v.message) };
    });
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
    // warn, not error: one outage answers hundreds of requests this way.
    req.log.warn({ err: outageSummary(err) }, 'backing service unavailable');
    reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    return sendProblem(reply, req, {
      type: problemType('UNAVAILABLE'),
      title: 'Service unavailable',
      status: 503,
      detail: 'A backing service is unavailable; retry shortly.',
    });
  }
  const fastifyClientError = FASTIFY_CLIENT_ERRORS[(err as FastifyError).code ?? ''];
  if (fastifyClientError) {
    const [code, message] = fastifyClientError;
    const status = code === 'VALIDATION' ? 400 : code === 'PAYLOAD_TOO_LARGE' ? 413 : 415;
    return sendProblem(reply, req, {
      type: problemType(code),
      title:
        code === 'VALIDATION'
          ? 'Invalid request'
          : code === 'PAYLOAD_TOO_LARGE'
            ? 'Payload too large'
            : 'Unsupported media type',
      status,
      detail: `body: ${message}`,
      ...(code === 'VALIDATION' ? { errors: [{ path: 'body', message }] } : {}),
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
      // As above: it carries a statusCode, so it is a FastifyError.
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
}

export const errorsPlugin = fp(
  async (app) => {
    app.setErrorHandler(problemErrorHandler);

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
