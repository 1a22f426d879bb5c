// Bull Board at /admin/queues, for admins only: every route of the board goes
// through the same bearer-token check as the API, with the ADMIN role. (A
// browser needs the Authorization header added, e.g. by the reverse proxy that
// fronts the admin network; the board is not exposed to anonymous users.)
import fp from 'fastify-plugin';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';

export const QUEUE_BOARD_PATH = '/admin/queues';

export const queueBoardPlugin = fp(
  async (app, opts: { queueNames: string[] }) => {
    if (!app.queues) return;
    const kit = app.queues;
    const serverAdapter = new FastifyAdapter();
    createBullBoard({ queues: opts.queueNames.map((n) => new BullMQAdapter(kit.queue(n))), serverAdapter });
    serverAdapter.setBasePath(QUEUE_BOARD_PATH);
    app.addHook('onRoute', (route) => {
      // route.config is typed unknown at this hook; it is an object or undefined.
      if (route.url.startsWith(QUEUE_BOARD_PATH)) route.config = { ...(route.config as object), roles: ['ADMIN'] };
    });
    // Bull Board's plugin is typed against its own Fastify type, not our zod-typed instance (library glue).
    // eslint-disable-next-line no-restricted-syntax
    await app.register(serverAdapter.registerPlugin() as never, { prefix: QUEUE_BOARD_PATH });
  },
  { name: 'queue-board', dependencies: ['core', 'auth'] },
);
