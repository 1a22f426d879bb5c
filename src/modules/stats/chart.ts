// Publication-ready SVG of documented events: stacked bars by period, one
// colour per host country or event type. Rendered server-side with vega-lite
// (compiled to a vega spec) and vega's headless View.toSVG, no browser.
//
// The chart is drawn from the protected table only: suppressed cells have no
// value here (null), so they cannot leak through bar heights; they are marked
// with a cross under their period instead.
import type { TopLevelSpec } from 'vega-lite';
import { AppError } from '../../lib/app-error.ts';
import { PERIOD_DIMENSIONS, type Dimension, type StatsEventsResponse } from './stats.schemas.ts';

const SERIES_DIMENSIONS: readonly Dimension[] = ['hostCountry', 'type'];
const LABELS: Partial<Record<Dimension, string>> = {
  year: 'year',
  quarter: 'quarter',
  month: 'month',
  hostCountry: 'host country',
  type: 'event type',
};

/** The chart needs one period dimension and at most one of hostCountry / type. */
export function chartAxes(groupBy: readonly Dimension[]): { period: Dimension; series: Dimension | null } {
  const periods = groupBy.filter((d) => (PERIOD_DIMENSIONS as readonly string[]).includes(d));
  const series = groupBy.filter((d) => SERIES_DIMENSIONS.includes(d));
  if (periods.length !== 1 || series.length > 1 || periods.length + series.length !== groupBy.length) {
    throw new AppError(
      'VALIDATION',
      'groupBy: a chart needs one of year, quarter, month and optionally one of hostCountry, type',
      {
        errors: [
          {
            path: 'querystring.groupBy',
            message: 'use one of year|quarter|month, optionally with one of hostCountry|type',
          },
        ],
      },
    );
  }
  return { period: periods[0], series: series[0] ?? null };
}

export type ChartOptions = { source: string };

export async function renderEventsChart(table: StatsEventsResponse, opts: ChartOptions): Promise<string> {
  const { period, series } = chartAxes(table.groupBy);
  // Casts below: a cell holds each grouped dimension as a string (toCell in stats.service.ts) and a published
  // cell's events as a number; the cell type is indexed by any dimension name, so it cannot say which.
  const seriesOf = (c: (typeof table.cells)[number]) => (series ? (c[series] as string) : 'all events');
  // A zero draws no bar (the table lists every combination, zeros included).
  const published = table.cells
    .filter((c) => !c.suppressed && c.events !== 0)
    .map((c) => ({ period: c[period] as string, series: seriesOf(c), events: c.events as number }));
  const withheld = table.cells
    .filter((c) => c.suppressed)
    .map((c) => ({ period: c[period] as string, series: seriesOf(c), marker: '×' }));
  const periods = [...new Set(table.cells.map((c) => c[period] as string))].sort();
  const m = table.metadata;
  // Team ids mean nothing to a reader and are internal identifiers: a
  // published chart says only that a team filter applied.
  const filters = Object.entries(m.filters)
    .map(([key, v]) =>
      // The team filter is always a list of ids (stats.schemas.ts).
      key === 'teamId' ? `${(v as string[]).length} team(s)` : `${key}: ${Array.isArray(v) ? v.join(', ') : v}`,
    )
    .join('; ');
  const noise = m.noise
    ? ` Geometric noise added (epsilon ${m.epsilon}, 95% of counts within ±${m.noise.bound95}).`
    : '';

  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: `Documented events by ${LABELS[period]}${series ? ` and ${LABELS[series]}` : ''}`,
      subtitle: [
        `Documented cases, not prevalence. ${opts.source}, generated ${m.generatedAt.slice(0, 10)}.`,
        `× marks a suppressed cell (fewer than ${m.k} cases); bars show published cells only; ${m.suppressedCells.total} cell(s) suppressed.${noise}`,
        ...(filters ? [`Filters: ${filters}.`] : []),
      ],
      anchor: 'start',
      fontSize: 15,
      subtitleFontSize: 10,
    },
    width: Math.min(900, Math.max(320, periods.length * 28)),
    height: 320,
    background: 'white',
    config: { font: 'sans-serif', view: { stroke: null } },
    encoding: {
      x: {
        field: 'period',
        type: 'ordinal',
        title: LABELS[period],
        sort: periods,
        scale: { domain: periods },
        axis: { labelAngle: periods.length > 12 ? -45 : 0 },
      },
    },
    layer: [
      {
        data: { values: published },
        mark: { type: 'bar' },
        encoding: {
          y: { field: 'events', type: 'quantitative', aggregate: 'sum', stack: 'zero', title: 'documented events' },
          color: {
            field: 'series',
            type: 'nominal',
            title: series ? LABELS[series] : 'series',
            legend: { orient: 'right' },
          },
        },
      },
      {
        data: { values: withheld },
        mark: { type: 'text', dy: 12, fontSize: 12, fontWeight: 'bold', color: '#b00020' },
        encoding: {
          y: { datum: 0, type: 'quantitative' },
          // One cross per suppressed cell, side by side under its period.
          xOffset: { field: 'series', type: 'nominal' },
          text: { field: 'marker' },
          description: { value: 'suppressed' },
        },
      },
    ],
  };
  // Loaded on first use: processes that never draw (workers) do not carry vega.
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
