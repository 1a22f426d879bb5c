import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), ms).unref())]);

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/health/live', {
    config: { public: true },
    schema: {
      tags: ['service'],
      summary: 'The process is up (no dependency checked)',
      security: [],
      response: { 200: z.object({ status: z.literal('ok') }) },
    },
    handler: async () => ({ status: 'ok' as const }),
  });

  const Ready = z.object({
    status: z.enum(['ok', 'unavailable']),
    checks: z.object({ postgres: z.enum(['ok', 'down']), redis: z.enum(['ok', 'down', 'not-configured']) }),
  });
  app.get('/health/ready', {
    config: { public: true },
    schema: {
      tags: ['service'],
      security: [],
      summary: '200 when PostgreSQL (and Redis, when configured) answer, else 503',
      response: { 200: Ready, 503: Ready },
    },
    handler: async (_req, reply) => {
      const postgres = await withTimeout(app.db.$queryRaw`SELECT 1`, 2000).then(
        () => 'ok' as const,
        () => 'down' as const,
      );
      const redis = !app.redis
        ? ('not-configured' as const)
        : await withTimeout(app.redis.ping(), 2000).then(
            () => 'ok' as const,
            () => 'down' as const,
          );
      const ok = postgres === 'ok' && redis !== 'down';
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks: { postgres, redis } });
    },
  });
};
