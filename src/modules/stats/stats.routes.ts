import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { csvStream, type CsvValue } from '../../lib/csv.ts';
import { problems } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import { chartAxes, renderEventsChart } from './chart.ts';
import {
  StatsEventsQuery,
  StatsEventsResponse,
  StatsOverviewQuery,
  StatsOverviewResponse,
  type StatsCellDto,
} from './stats.schemas.ts';
import { StatsService } from './stats.service.ts';

const CHART_SOURCE = 'Source: case records of the organisation';

export const statsRoutes: FastifyPluginAsyncZod = async (app) => {
  const stats = new StatsService(app);
  const who = { roles: ['COORDINATOR', 'ADMIN'] as ('COORDINATOR' | 'ADMIN')[] };

  app.get('/v1/stats/events', {
    config: who,
    schema: {
      tags: ['statistics'],
      summary: 'Documented events and cases, grouped, with small-cell and complementary suppression',
      description:
        'format=csv returns text/csv (RFC 4180, one record per cell and per total, a dimension summed over reads ALL) with the metadata as JSON in the x-stats-metadata header. ' +
        '422 when k is below STATS_DEFAULT_K, or when this table and an earlier published one differ in one filter and together isolate fewer than k cases (the problem names the earlier query); 429 when epsilon exceeds what is left of the privacy budget.',
      querystring: StatsEventsQuery,
      response: { 200: StatsEventsResponse, ...problems(400, 401, 403, 422, 429) },
    },
    handler: async (req, reply) => {
      const { format, ...q } = req.query;
      const table = await stats.events(q, requireActor(req).userId);
      if (format === 'json') return table;
      const header = [...table.groupBy, 'events', 'cases', 'suppressed', 'suppression', 'row'];
      const record = (c: StatsCellDto, row: 'cell' | 'total'): CsvValue[] => [
        ...table.groupBy.map((d) => c[d] ?? 'ALL'),
        c.events,
        c.cases,
        c.suppressed,
        c.suppression ?? '',
        row,
      ];
      function* rows() {
        for (const c of table.cells) yield record(c, 'cell');
        for (const c of table.totals) yield record(c, 'total');
        yield record(table.total, 'total');
      }
      return (
        reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="documented-events.csv"')
          .header('x-stats-metadata', JSON.stringify(table.metadata))
          // A stream bypasses the JSON serializer; the schema above describes format=json only.
          // eslint-disable-next-line no-restricted-syntax
          .send(csvStream(header, rows()) as never)
      );
    },
  });

  app.get('/v1/stats/events/chart.svg', {
    config: who,
    schema: {
      tags: ['statistics'],
      summary: 'The same aggregate as a publication-ready SVG: stacked bars by period, by host country or event type',
      querystring: StatsEventsQuery,
      response: { 200: z.string().describe('image/svg+xml'), ...problems(400, 401, 403, 422, 429) },
    },
    handler: async (req, reply) => {
      const { format: _format, ...q } = req.query;
      chartAxes(q.groupBy);
      const table = await stats.events(q, requireActor(req).userId);
      const svg = await renderEventsChart(table, { source: CHART_SOURCE });
      return reply
        .header('content-type', 'image/svg+xml; charset=utf-8')
        .header('content-disposition', 'inline; filename="documented-events.svg"')
        .send(svg);
    },
  });

  app.get('/v1/stats/overview', {
    config: who,
    schema: {
      tags: ['statistics'],
      summary: 'Headline figures for a dashboard, under the same suppression',
      querystring: StatsOverviewQuery,
      response: { 200: StatsOverviewResponse, ...problems(400, 401, 403, 422) },
    },
    handler: async (req) => stats.overview(req.query),
  });
};
