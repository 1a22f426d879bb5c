// Publication-ready SVG of documented events: stacked bars by period, one
// colour per host country or event type. Rendered server-side with vega-lite
// (compiled to a vega spec) and vega's headless View.toSVG, no browser.
//
// The chart is drawn from the protected table only: suppressed cells have no
// value here (null), so they cannot leak through bar heights; each is marked
// with a × inside the plot, just above its period's published stack (or the
// baseline), explained by a legend entry of its own. Plot size follows the
// content (chart-layout.ts).
import type { TopLevelSpec } from 'vega-lite';
import { AppError } from '../../lib/app-error.ts';
import { CROSS, layoutChart, wrapLine } from './chart-layout.ts';
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

const CROSS_COLOUR = '#b00020';
/** The legend's drawing of the mark: a × as an SVG path in a unit square (vega scales it to the symbol size). */
const CROSS_SYMBOL = 'M-0.7,-0.7L0.7,0.7M-0.7,0.7L0.7,-0.7';
const Y_TITLE = 'documented events';

export async function renderEventsChart(table: StatsEventsResponse, opts: ChartOptions): Promise<string> {
  const { period, series } = chartAxes(table.groupBy);
  // Casts below: a cell holds each grouped dimension as a string (toCell in stats.service.ts) and a published
  // cell's events as a number; the cell type is indexed by any dimension name, so it cannot say which.
  const seriesOf = (c: (typeof table.cells)[number]) => (series ? (c[series] as string) : 'all events');
  // A zero draws no bar (the table lists every combination, zeros included).
  const published = table.cells
    .filter((c) => !c.suppressed && c.events !== 0)
    .map((c) => ({ period: c[period] as string, series: seriesOf(c), events: c.events as number }));
  // Suppressed cells carry no value (null): only their period and series reach the chart.
  const withheld = table.cells
    .filter((c) => c.suppressed)
    .map((c) => ({ period: c[period] as string, series: seriesOf(c) }));
  const periods = [...new Set(table.cells.map((c) => c[period] as string))].sort();
  const m = table.metadata;
  const crossLabel = `suppressed: fewer than ${m.k} cases`;
  const layout = layoutChart(periods, published, withheld, crossLabel);
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
  // Both layers share one y scale: its domain leaves room above each stack for that period's crosses.
  const y = (field: string) => ({
    field,
    type: 'quantitative' as const,
    title: Y_TITLE,
    scale: { domain: [0, layout.yMax], nice: false, zero: true },
    axis: { tickMinStep: 1, format: 'd' },
  });

  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: `Documented events by ${LABELS[period]}${series ? ` and ${LABELS[series]}` : ''}`,
      subtitle: [
        'Documented events, not prevalence: events that no one documented are not counted.',
        `${opts.source}, generated ${m.generatedAt.slice(0, 10)}.`,
        `× marks a suppressed cell (fewer than ${m.k} cases); bars show published cells only; ${m.suppressedCells.total} cell(s) suppressed.${noise}`,
        ...(filters ? [`Filters: ${filters}.`] : []),
        // Wrapped to about the plot and legend's width: vega's headless text measure is 0.8 em a character.
      ].flatMap((line) => wrapLine(line, Math.max(60, Math.floor((layout.width + 160) / 8)))),
      anchor: 'start',
      fontSize: 15,
      subtitleFontSize: 10,
    },
    width: layout.width,
    height: layout.height,
    background: 'white',
    config: { font: 'sans-serif', view: { stroke: null } },
    encoding: {
      x: {
        field: 'period',
        type: 'ordinal',
        title: LABELS[period],
        sort: periods,
        scale: {
          type: 'band',
          domain: periods,
          paddingInner: layout.paddingInner,
          paddingOuter: layout.paddingOuter,
        },
        axis: { labelAngle: periods.length > 12 ? -45 : 0 },
      },
    },
    layer: [
      {
        data: { values: published },
        mark: { type: 'bar' },
        encoding: {
          y: { ...y('events'), aggregate: 'sum', stack: 'zero' },
          color: {
            field: 'series',
            type: 'nominal',
            title: series ? LABELS[series] : 'series',
            // One series needs no key: the title says what the bars count.
            legend: series ? { orient: 'right' } : null,
          },
        },
      },
      // One × per suppressed cell, in rows just above its period's stack (chart-layout.ts).
      ...(layout.crosses.length
        ? [
            {
              data: { values: layout.crosses },
              // Read out per mark: which cell is withheld (its series and period, both in the table already).
              transform: [
                {
                  calculate: `'suppressed: ' + datum.series + ', ' + datum.period + ' (fewer than ${m.k} cases)'`,
                  as: 'label',
                },
              ],
              mark: {
                type: 'text' as const,
                dx: { expr: 'datum.dx' },
                fontSize: CROSS.font,
                fontWeight: 'bold' as const,
              },
              encoding: {
                y: y('at'),
                text: { field: 'marker' },
                description: { field: 'label' },
                color: {
                  field: 'key',
                  type: 'nominal' as const,
                  scale: { domain: [crossLabel], range: [CROSS_COLOUR] },
                  legend: {
                    title: null,
                    orient: 'right' as const,
                    symbolType: CROSS_SYMBOL,
                    symbolStrokeColor: CROSS_COLOUR,
                    symbolStrokeWidth: 2,
                    labelLimit: 320,
                  },
                },
              },
            },
          ]
        : []),
    ],
    resolve: { scale: { color: 'independent' } },
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
