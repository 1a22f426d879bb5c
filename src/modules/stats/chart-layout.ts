// Geometry of the events chart, computed before vega-lite sees it: plot size
// from the content, an explicit y domain with room for the × marks, and each
// × placed in data units just above the published stack of its period.
//
// Everything here is derived from published cells and from how many cells are
// suppressed (both already in the table): a × never depends on a withheld
// value, which the protected table does not hold anyway.

/** One × per suppressed cell: font size, horizontal and vertical pitch, gap above the stack (px). */
export const CROSS = { font: 11, pitchX: 9, pitchY: 12, gap: 3 } as const;
const PLOT_HEIGHT = { min: 160, max: 320 } as const;
const PLOT_WIDTH = { min: 120, max: 900 } as const;
const PADDING_INNER = 0.25;
const MAX_BAR_PX = 48;

export type PublishedBar = { period: string; series: string; events: number };
export type WithheldCell = { period: string; series: string };
export type PlacedCross = WithheldCell & { at: number; dx: number; marker: '×'; key: string };

export type ChartLayout = {
  width: number;
  height: number;
  paddingInner: number;
  paddingOuter: number;
  yMax: number;
  crosses: PlacedCross[];
};

/**
 * Width from the number of periods (bars at most MAX_BAR_PX wide, centred in their band), height from the
 * content: the most segments stacked in one period and the most rows of × marks, within PLOT_HEIGHT.
 */
export function layoutChart(
  periods: readonly string[],
  published: readonly PublishedBar[],
  withheld: readonly WithheldCell[],
  legendKey: string,
): ChartLayout {
  const n = Math.max(1, periods.length);
  // Up to 12 periods the labels stand upright side by side (about 6.5 px a character at 10 px); more are
  // slanted (chart.ts) and packed closer.
  const longest = Math.max(1, ...periods.map((p) => p.length));
  const perPeriod = n > 12 ? 28 : Math.max(36, Math.ceil(longest * 6.5 + 12));
  const width = Math.min(PLOT_WIDTH.max, Math.max(PLOT_WIDTH.min, n * perPeriod));
  // A band scale: step = width / (n - inner + 2 outer), bar = step (1 - inner). Widen the outer padding
  // until the bar is no wider than MAX_BAR_PX (one period would otherwise fill the plot).
  const paddingOuter = Math.max(0.15, ((width * (1 - PADDING_INNER)) / MAX_BAR_PX - n + PADDING_INNER) / 2);
  const step = width / (n - PADDING_INNER + 2 * paddingOuter);
  // Crosses of one period stay within its step, so neighbours never touch.
  const maxCols = Math.max(1, Math.floor(step / CROSS.pitchX));

  const top = new Map<string, number>();
  const segments = new Map<string, number>();
  for (const b of published) {
    top.set(b.period, (top.get(b.period) ?? 0) + Math.max(0, b.events));
    segments.set(b.period, (segments.get(b.period) ?? 0) + 1);
  }
  const byPeriod = new Map<string, WithheldCell[]>();
  for (const w of withheld) byPeriod.set(w.period, [...(byPeriod.get(w.period) ?? []), w]);
  const grid = new Map<string, { cols: number; rows: number }>();
  for (const [p, cells] of byPeriod) {
    const cols = Math.min(cells.length, maxCols);
    grid.set(p, { cols, rows: Math.ceil(cells.length / cols) });
  }
  const need = (p: string) => {
    const g = grid.get(p);
    return g ? CROSS.gap + g.rows * CROSS.pitchY : 0;
  };

  const maxSegments = Math.max(0, ...segments.values());
  const maxNeed = Math.max(0, ...periods.map(need));
  const height = Math.min(PLOT_HEIGHT.max, Math.max(PLOT_HEIGHT.min, 120 + 16 * maxSegments + maxNeed));

  // The y domain: the tallest stack reaches the top, and every stack leaves room above it for its crosses
  // (top * height / yMax + need <= height). A period without a bar has its crosses on the baseline.
  let fit = 1;
  for (const p of periods) {
    const t = top.get(p) ?? 0;
    const room = Math.max(height - need(p), height / 4);
    fit = Math.max(fit, t, (t * height) / room);
  }
  const yMax = niceCeil(fit);
  const perPx = yMax / height;

  const crosses: PlacedCross[] = [];
  for (const [p, cells] of byPeriod) {
    const { cols } = grid.get(p)!;
    cells.forEach((c, i) => {
      const row = Math.floor(i / cols);
      const inRow = Math.min(cols, cells.length - row * cols);
      crosses.push({
        ...c,
        // Centre of the row-th line above the stack, in data units of the y scale.
        at: (top.get(p) ?? 0) + (CROSS.gap + (row + 0.5) * CROSS.pitchY) * perPx,
        dx: ((i % cols) - (inRow - 1) / 2) * CROSS.pitchX,
        marker: '×',
        key: legendKey,
      });
    });
  }
  return { width, height, paddingInner: PADDING_INNER, paddingOuter, yMax, crosses };
}

/** The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 (times a power of ten) at or above v: at most 25% more. */
export function niceCeil(v: number): number {
  if (v <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  const f = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((s) => s * p >= v - 1e-9)!;
  return f * p;
}

/** Words of a subtitle line wrapped at `max` characters, so a long source or filter list does not widen the chart. */
export function wrapLine(line: string, max: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const word of line.split(' ')) {
    if (cur && cur.length + 1 + word.length > max) {
      out.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  return cur ? [...out, cur] : out;
}
