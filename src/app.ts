// buildApp(config) builds the Fastify instance; it never listens. main.ts runs
// it; tests build it with their own config and talk to it over app.inject or
// real HTTP.
import Fastify, { type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import type { DestinationStream } from 'pino';
import type { AppConfig } from './config.ts';
import type { QueueKit } from './workers/queue-kit.ts';
import { createDb, type Db } from './db.ts';
import { FieldCrypto } from './lib/field-crypto.ts';
import { loggablePath } from './lib/loggable-path.ts';
import { openapiTransform, openapiTransformObject } from './lib/openapi.ts';
import { errorsPlugin } from './plugins/errors.ts';
import { authPlugin } from './plugins/auth.ts';
import type { SessionCache } from './plugins/session-cache.ts';
import { corsPlugin } from './plugins/cors.ts';
import { resourceHeadersPlugin } from './plugins/resource-headers.ts';
import { idempotencyPlugin } from './plugins/idempotency.ts';
import { healthRoutes } from './modules/health/health.routes.ts';
import { metaRoutes } from './modules/meta/meta.routes.ts';
import { authRoutes } from './modules/auth/auth.routes.ts';
import { userRoutes } from './modules/users/users.routes.ts';
import { teamRoutes } from './modules/teams/teams.routes.ts';
import { peopleRoutes } from './modules/people/people.routes.ts';
import { intakeRoutes } from './modules/intake/intake.routes.ts';
import { relationRoutes } from './modules/relations/relations.routes.ts';
import { caseRoutes } from './modules/cases/cases.routes.ts';
import { caseRecordRoutes } from './modules/cases/case-records.routes.ts';
import { auditRoutes } from './modules/audit/audit.routes.ts';
import { statsRoutes } from './modules/stats/stats.routes.ts';
import { exportRoutes } from './modules/exports/exports.routes.ts';
import { deadlineRoutes } from './modules/deadlines/deadlines.routes.ts';
import { deadlineRuleRoutes } from './modules/deadlines/deadline-rules.routes.ts';
import { holidayCalendarRoutes } from './modules/deadlines/holiday-calendars.routes.ts';
import { calendarRoutes } from './modules/deadlines/calendar.routes.ts';
import { documentRoutes } from './modules/documents/documents.routes.ts';
import { notificationSettingsRoutes } from './modules/reminders/notification-settings.routes.ts';
import { queueBoardPlugin } from './plugins/queue-board.ts';
import { QUEUE_NAMES } from './jobs.ts';

declare module 'fastify' {
  interface FastifyInstance {
    config: AppConfig;
    db: Db;
    /**
     * Plain pg for the request path's fixed-cost statements (session check,
     * authorise-and-load, audited reads), where Prisma's per-query work showed
     * in the profile. Everything else, and every transaction, goes through db.
     */
    sqlPool: pg.Pool;
    /** Checked sessions, emptied by database notifications (src/plugins/session-cache.ts). */
    sessionCache: SessionCache<unknown>;
    crypto: FieldCrypto;
    clock: () => Date;
    redis: Redis | null;
    /** Queues for background jobs; null in processes that enqueue nothing. */
    queues: QueueKit | null;
  }
}

export type BuildOptions = {
  /** Share a Prisma client (otherwise one is created and closed with the app). */
  db?: Db;
  redis?: Redis | null;
  queues?: QueueKit | null;
  clock?: () => Date;
  /** Where logs go (tests capture them to check redaction). */
  logStream?: DestinationStream;
};

// Personal data and credentials never reach the logs, whatever a later change
// decides to log.
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.password',
  '*.legalName',
  '*.dateOfBirth',
  '*.contacts',
  '*.notes',
  '*.details',
  '*.phone',
  '*.accessToken',
  '*.refreshToken',
  '*.token',
  '*.secret',
  'body',
];

export async function buildApp(config: AppConfig, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.log.level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        // Only the path: query strings can hold personal data (a duplicate
        // check by legal name) or secrets (calendar tokens).
        req: (req) => ({ id: req.id, method: req.method, path: loggablePath(String(req.url ?? '')) }),
      },
      ...(opts.logStream ? { stream: opts.logStream } : {}),
    },
    // Always our own id: it is stored in audit entries, so a client must not
    // choose it (forged correlation in evidence). The client's own id, if any,
    // is kept in the logs only (onRequest below).
    genReqId: () => randomUUID(),
    trustProxy: config.http.trustProxy,
    bodyLimit: 1024 * 1024,
    ajv: undefined,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const ownsDb = !opts.db;
  const db = opts.db ?? createDb(config.db.url);

  await app.register(
    fp(
      async (instance) => {
        instance.decorate('config', config);
        instance.decorate('db', db);
        instance.decorate(
          'crypto',
          new FieldCrypto(config.crypto.keys, config.crypto.currentKeyId, config.crypto.blindIndexKey),
        );
        instance.decorate('clock', opts.clock ?? (() => new Date()));
        instance.decorate('redis', opts.redis ?? null);
        instance.decorate('queues', opts.queues ?? null);
        const sqlPool = new pg.Pool({ connectionString: config.db.url, max: 10, application_name: 'api-hot-path' });
        // An idle client's error (the server restarting) must not crash the process; the next query reports it.
        sqlPool.on('error', (err) => instance.log.warn({ error: err.message }, 'idle database connection lost'));
        instance.decorate('sqlPool', sqlPool);
        instance.addHook('onClose', async () => {
          await sqlPool.end();
          if (ownsDb) await db.$disconnect();
        });
      },
      { name: 'core' },
    ),
  );
  app.addHook('onRequest', async (req) => {
    const incoming = req.headers['x-request-id'];
    if (typeof incoming === 'string' && /^[\w-]{8,64}$/.test(incoming)) {
      req.log = req.log.child({ clientRequestId: incoming });
    }
  });
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-request-id', req.id);
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });

  await app.register(errorsPlugin);
  await app.register(corsPlugin);
  await app.register(resourceHeadersPlugin);
  // Swagger's own routes are public.
  app.addHook('onRoute', (route) => {
    // route.config is typed unknown at this hook; it is an object or undefined.
    if (route.url.startsWith('/docs')) route.config = { ...(route.config as object), public: true };
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Exile case-management API',
        version: '1.0.0',
        description:
          'Cases, people, charges and host-country events for NGOs protecting political exiles. Personal data is encrypted at rest and shown only to those who need it.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
    transform: openapiTransform,
    transformObject: openapiTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });

  await app.register(authPlugin);
  await app.register(idempotencyPlugin);

  await app.register(healthRoutes);
  await app.register(metaRoutes);
  await app.register(authRoutes);
  await app.register(userRoutes);
  await app.register(teamRoutes);
  await app.register(peopleRoutes);
  await app.register(intakeRoutes);
  await app.register(relationRoutes);
  await app.register(caseRoutes);
  await app.register(caseRecordRoutes);
  await app.register(auditRoutes);
  await app.register(statsRoutes);
  await app.register(exportRoutes);
  await app.register(deadlineRoutes);
  await app.register(deadlineRuleRoutes);
  await app.register(holidayCalendarRoutes);
  await app.register(notificationSettingsRoutes);
  await app.register(calendarRoutes);
  await app.register(documentRoutes);
  await app.register(queueBoardPlugin, { queueNames: [...QUEUE_NAMES] });
  return app;
}
