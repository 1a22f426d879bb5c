// Bull Board at /admin/queues, for admins only. Every route of the board goes
// through the same authentication as the API with the ADMIN role; 401 without
// credentials. A browser cannot add an Authorization header to a page load,
// so an admin's client first calls POST /admin/queues/session with its bearer
// token: the answer sets a short-lived (15 min) HttpOnly, SameSite=Strict
// cookie scoped to /admin/queues (Secure when PUBLIC_BASE_URL is https) that
// carries a token of its own type ('board'), accepted on the board's routes
// only and checked against the session on every request like a bearer token.
import fp from 'fastify-plugin';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { problems } from '../lib/http-schemas.ts';
import { BOARD_COOKIE, requireActor } from './auth.ts';
import { problemErrorHandler } from './errors.ts';

export const QUEUE_BOARD_PATH = '/admin/queues';
export const BOARD_SESSION_SECONDS = 15 * 60;

type ZodApp = Parameters<FastifyPluginAsyncZod>[0];

export const queueBoardPlugin = fp(
  async (app: ZodApp, opts: { queueNames: string[] }) => {
    if (!app.queues) return;
    const kit = app.queues;
    const serverAdapter = new FastifyAdapter();
    createBullBoard({ queues: opts.queueNames.map((n) => new BullMQAdapter(kit.queue(n))), serverAdapter });
    serverAdapter.setBasePath(QUEUE_BOARD_PATH);
    app.addHook('onRoute', (route) => {
      // route.config is typed unknown at this hook; it is an object or undefined.
      if (route.url.startsWith(QUEUE_BOARD_PATH) && !route.url.startsWith(`${QUEUE_BOARD_PATH}/session`)) {
        route.config = { ...(route.config as object), roles: ['ADMIN'], boardCookie: true };
        // Bull Board sets an error handler of its own (500 for everything): ours answers 401/403 as problems.
        route.errorHandler = problemErrorHandler;
      }
    });

    app.post(`${QUEUE_BOARD_PATH}/session`, {
      config: { roles: ['ADMIN'] },
      schema: {
        tags: ['operations'],
        summary: 'ADMIN: a 15-minute cookie that opens the queue board in a browser',
        description:
          'Sets an HttpOnly, SameSite=Strict cookie scoped to /admin/queues; the board answers 401 without it or ' +
          'a bearer token. It ends with the session that created it.',
        response: { 204: z.null().describe('cookie set'), ...problems(401, 403) },
      },
      handler: async (req, reply) => {
        const actor = requireActor(req);
        const { token } = app.signAccessToken(actor.userId, actor.sessionId, new Date(actor.authTime * 1000), {
          typ: 'board',
          ttlSeconds: BOARD_SESSION_SECONDS,
        });
        const secure = app.config.publicBaseUrl.startsWith('https:') ? '; Secure' : '';
        reply.header(
          'set-cookie',
          `${BOARD_COOKIE}=${token}; Path=${QUEUE_BOARD_PATH}; Max-Age=${BOARD_SESSION_SECONDS}; HttpOnly; SameSite=Strict${secure}`,
        );
        return reply.code(204).send(null);
      },
    });

    // Bull Board's plugin is typed against its own Fastify type, not our zod-typed instance (library glue).
    // eslint-disable-next-line no-restricted-syntax
    await app.register(serverAdapter.registerPlugin() as never, { prefix: QUEUE_BOARD_PATH });
  },
  { name: 'queue-board', dependencies: ['core', 'auth'] },
);
