import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { problems } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import { chartAxes, renderEventsChart } from './chart.ts';
import { StatsEventsQuery, StatsEventsResponse, StatsOverviewQuery, StatsOverviewResponse } from './stats.schemas.ts';
import { resolveFilterAliases } from './filter-aliases.ts';
import { statsCsv } from './stats-csv.ts';
import { StatsService, type EventsStatsInput } from './stats.service.ts';

const CHART_SOURCE = 'Source: case records of the organisation';

/** hostCountry/teamId or their deprecated aliases country/team, as the service's filters (400 when they disagree). */
function withFilterAliases(q: Omit<StatsEventsQuery, 'format' | 'metadata'>): EventsStatsInput {
  const { hostCountry, teamId, country, team, ...rest } = q;
  const f = resolveFilterAliases({ hostCountry, teamId, country, team }, 'querystring');
  return { ...rest, country: f.country, team: f.team, names: f.names };
}

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
      const { format, metadata, ...q } = req.query;
      const table = await stats.events(withFilterAliases(q), requireActor(req).userId);
      if (format === 'json') return table;
      return (
        reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="documented-events.csv"')
          .header('x-stats-metadata', JSON.stringify(table.metadata))
          // A stream bypasses the JSON serializer; the schema above describes format=json only.
          // eslint-disable-next-line no-restricted-syntax
          .send(statsCsv(table, metadata === 'inline') as never)
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
      const { format: _format, metadata: _metadata, ...q } = req.query;
      chartAxes(q.groupBy);
      const table = await stats.events(withFilterAliases(q), requireActor(req).userId);
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
