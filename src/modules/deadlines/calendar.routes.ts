import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { problems } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import { CALENDAR_FILE, CalendarService } from './calendar.service.ts';

export const calendarRoutes: FastifyPluginAsyncZod = async (app) => {
  const calendar = new CalendarService({ db: app.db, config: app.config, clock: app.clock });

  app.post('/v1/me/calendar-token', {
    schema: {
      tags: ['calendar'],
      summary: 'Create (or replace) your secret calendar feed URL',
      response: { 201: z.object({ url: z.string() }), ...problems(401) },
    },
    handler: async (req, reply) => reply.code(201).send(await calendar.createToken(requireActor(req).userId, req.id)),
  });

  app.delete('/v1/me/calendar-token', {
    schema: {
      tags: ['calendar'],
      summary: 'Revoke your calendar feed URL',
      response: { 204: z.null(), ...problems(401) },
    },
    handler: async (req, reply) => {
      await calendar.revokeToken(requireActor(req).userId, req.id);
      return reply.code(204).send(null);
    },
  });

  app.get('/v1/calendar/:file', {
    config: { public: true },
    schema: {
      tags: ['calendar'],
      summary: "iCalendar feed (RFC 5545) of the token holder's deadlines; pseudonyms only, never legal names",
      security: [],
      params: z.object({ file: z.string().regex(CALENDAR_FILE, 'not a calendar feed') }),
      response: { 200: z.string(), ...problems(404) },
    },
    handler: async (req, reply) =>
      reply.header('content-type', 'text/calendar; charset=utf-8').send(await calendar.feed(req.params.file)),
  });
};
