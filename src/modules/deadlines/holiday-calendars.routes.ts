// Holiday calendars per country (and the Court's, `ECHR`): what is shipped
// (src/lib/holiday-calendars.ts) plus admins' corrections, so a day off the
// government moved, a Saturday made a working day, or a closing day the Court
// published can be entered. Writes are ADMIN only and audited.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppError } from '../../lib/app-error.ts';
import { shippedHolidays } from '../../lib/holiday-calendars.ts';
import { iso, IsoDate, problems, Timestamp, Uuid } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import { appendAudit } from '../audit/audit.log.ts';

const CountryParams = z.object({
  country: z
    .string()
    .regex(/^([A-Z]{2}|ECHR)$/, 'ISO 3166-1 alpha-2 country, or ECHR for the Court')
    .describe('a host country, or ECHR (the Court: Strasbourg holidays and its closing days)'),
});
const Correction = z.object({
  id: Uuid,
  day: z.string(),
  action: z.enum(['ADD', 'REMOVE']),
  name: z.string(),
  createdById: Uuid,
  createdAt: Timestamp,
});
const CalendarDay = z.object({ day: z.string(), name: z.string(), source: z.enum(['SHIPPED', 'ADMIN']) });
const CalendarYear = z.object({
  country: z.string(),
  year: z.number().int(),
  items: z.array(CalendarDay).describe("the year's non-working holidays (weekends aside), corrections applied"),
  corrections: z.array(Correction).describe("admins' entries for that year"),
  nextCursor: z.null(),
});
const AddDayBody = z.strictObject({
  day: IsoDate,
  action: z.enum(['ADD', 'REMOVE']).describe('ADD: a day off (moved holiday, closing day); REMOVE: a working day'),
  name: z.string().trim().min(1).max(200),
});

export const holidayCalendarRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/v1/holiday-calendars/:country/days', {
    schema: {
      tags: ['deadline rules'],
      summary: "A country's holidays for a year (shipped data with admins' corrections)",
      params: CountryParams,
      querystring: z.strictObject({ year: z.coerce.number().int().min(2000).max(2100).optional() }),
      response: { 200: CalendarYear, ...problems(400, 401) },
    },
    handler: async (req) => {
      requireActor(req);
      const { country } = req.params;
      const year = req.query.year ?? app.clock().getUTCFullYear();
      const rows = await app.db.holidayCalendarDay.findMany({
        where: { country, day: { startsWith: `${year}-` } },
        orderBy: { day: 'asc' },
      });
      const byDay = new Map(rows.map((r) => [r.day, r]));
      const items: z.infer<typeof CalendarDay>[] = shippedHolidays(country, year)
        .filter((h) => byDay.get(h.day)?.action !== 'REMOVE')
        .map((h) => ({ ...h, source: 'SHIPPED' }));
      for (const r of rows) if (r.action === 'ADD') items.push({ day: r.day, name: r.name, source: 'ADMIN' });
      items.sort((a, b) => a.day.localeCompare(b.day));
      const corrections = rows.map((r) => ({
        id: r.id,
        day: r.day,
        action: r.action === 'ADD' ? ('ADD' as const) : ('REMOVE' as const),
        name: r.name,
        createdById: r.createdById,
        createdAt: iso(r.createdAt),
      }));
      return { country, year, items, corrections, nextCursor: null };
    },
  });

  app.post('/v1/holiday-calendars/:country/days', {
    config: { roles: ['ADMIN'] },
    schema: {
      tags: ['deadline rules'],
      summary:
        'Add a correction: a day off (ADD) or a working day (REMOVE); audited. Applies to deadlines computed from now on',
      params: CountryParams,
      body: AddDayBody,
      response: { 201: Correction, ...problems(400, 401, 403, 409) },
    },
    handler: async (req, reply) => {
      const actor = requireActor(req);
      const now = app.clock();
      const row = await app.db.$transaction(async (tx) => {
        const r = await tx.holidayCalendarDay.create({
          data: {
            id: randomUUID(),
            country: req.params.country,
            ...req.body,
            createdById: actor.userId,
            createdAt: now,
          },
        });
        await appendAudit(
          tx,
          {
            actorId: actor.userId,
            action: 'holiday_calendar.add',
            entityType: 'holiday_calendar',
            entityId: r.id,
            requestId: req.id,
            changes: {
              country: { new: r.country },
              day: { new: r.day },
              action: { new: r.action },
              name: { new: r.name },
            },
          },
          now,
        );
        return r;
      });
      return reply.code(201).send({
        ...row,
        action: row.action === 'ADD' ? ('ADD' as const) : ('REMOVE' as const),
        createdAt: iso(row.createdAt),
      });
    },
  });

  app.delete('/v1/holiday-calendars/:country/days', {
    config: { roles: ['ADMIN'] },
    schema: {
      tags: ['deadline rules'],
      summary: "Remove an admin's correction for a day (the shipped calendar applies again); audited",
      params: CountryParams,
      querystring: z.strictObject({ day: IsoDate }),
      response: { 204: z.null(), ...problems(400, 401, 403, 404) },
    },
    handler: async (req, reply) => {
      const actor = requireActor(req);
      const now = app.clock();
      await app.db.$transaction(async (tx) => {
        const r = await tx.holidayCalendarDay.findUnique({
          where: { country_day: { country: req.params.country, day: req.query.day } },
        });
        if (!r) throw new AppError('NOT_FOUND', 'No correction for that day.');
        await tx.holidayCalendarDay.delete({ where: { id: r.id } });
        await appendAudit(
          tx,
          {
            actorId: actor.userId,
            action: 'holiday_calendar.remove',
            entityType: 'holiday_calendar',
            entityId: r.id,
            requestId: req.id,
            changes: {
              country: { old: r.country },
              day: { old: r.day },
              action: { old: r.action },
              name: { old: r.name },
            },
          },
          now,
        );
      });
      return reply.code(204).send(null);
    },
  });
};
