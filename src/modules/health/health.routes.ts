import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { backupHealth } from '../backup/backup-status.ts';

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
    // Reported, never a reason to be unready: an old backup is the operators' alarm, not the load balancer's.
    backup: z
      .object({
        lastGoodAt: z.string().nullable(),
        ageSeconds: z.number().int().nullable(),
        stale: z.boolean().describe('no good backup in the last 48 hours'),
        lastError: z.string().optional(),
        lastErrorAt: z.string().optional(),
      })
      .optional()
      .describe('scheduled backups (only when BACKUP_CRON is on)'),
  });
  app.get('/health/ready', {
    config: { public: true },
    schema: {
      tags: ['service'],
      security: [],
      summary: '200 when PostgreSQL (and Redis, when configured) answer, else 503',
      description: 'With scheduled backups on, also the age of the last good backup (reported, never unready).',
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
      const backup =
        app.config.backup.cron && postgres === 'ok'
          ? await withTimeout(backupHealth(app.db, app.clock()), 2000).catch(() => undefined)
          : undefined;
      return reply
        .code(ok ? 200 : 503)
        .send({ status: ok ? 'ok' : 'unavailable', checks: { postgres, redis }, ...(backup ? { backup } : {}) });
    },
  });
};
