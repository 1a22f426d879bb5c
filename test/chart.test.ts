// The SVG chart of documented events, checked as geometry (issue 12, item 7):
// × marks for suppressed cells sit inside the plot above the axis and clear of
// the tick labels, the legend explains the mark, the y-axis and the subtitle
// name the same unit, the plot is sized to its content and single bars sit at
// the centre of their band. Most tables are hand-built (exact control of the
// cells); one chart goes through HTTP on a seeded database.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderEventsChart } from '../src/modules/stats/chart.ts';
import type { StatsEventsResponse } from '../src/modules/stats/stats.schemas.ts';
import { clientFor, createCase, createTeam, setupTestEnv, type Client, type TestEnv } from './helpers.ts';

// ---------------------------------------------------------------- SVG geometry

type El = { name: string; attrs: Record<string, string>; text: string; x: number; y: number; up: El[] };

/** Elements in document order, each with its absolute origin (sum of translate()s) and its ancestors. */
function parseSvg(xml: string): El[] {
  const out: El[] = [];
  const stack: El[] = [];
  for (const m of xml.matchAll(/<\/([\w:-]+)\s*>|<([\w:-]+)((?:\s+[\w:.-]+\s*=\s*"[^"]*")*)\s*(\/?)>|([^<]+)/g)) {
    if (m[1]) {
      stack.pop();
    } else if (m[2]) {
      const attrs: Record<string, string> = {};
      for (const a of m[3].matchAll(/([\w:.-]+)\s*=\s*"([^"]*)"/g)) attrs[a[1]] = a[2];
      const parent = stack[stack.length - 1];
      const t = /^translate\(([-\d.e]+),([-\d.e]+)\)/.exec(attrs.transform ?? '');
      const el: El = {
        name: m[2],
        attrs,
        text: '',
        x: (parent?.x ?? 0) + (t ? Number(t[1]) : 0),
        y: (parent?.y ?? 0) + (t ? Number(t[2]) : 0),
        up: [...stack],
      };
      out.push(el);
      if (!m[4]) stack.push(el);
    } else if (m[5]) {
      // Text content of the element and of every element around it (a multi-line title is <text><tspan>…).
      for (const open of stack) open.text += m[5];
    }
  }
  return out;
}

type Box = { x0: number; x1: number; y0: number; y1: number };
const overlaps = (a: Box, b: Box) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
const fontPx = (e: El) => Number((e.attrs['font-size'] ?? '10px').replace('px', ''));
/** A text's box from its alphabetic baseline (vega writes the anchor point into the transform). */
function textBox(e: El): Box {
  const fs = fontPx(e);
  const w = 0.6 * fs * e.text.length;
  const anchor = e.attrs['text-anchor'] ?? 'start';
  const x0 = anchor === 'middle' ? e.x - w / 2 : anchor === 'end' ? e.x - w : e.x;
  return { x0, x1: x0 + w, y0: e.y - 0.8 * fs, y1: e.y + 0.2 * fs };
}
/** A bar's rectangle from its path `M x,y h w v h h -w Z`. */
function barBox(e: El): Box {
  const m = /^M([-\d.e]+),([-\d.e]+)h([-\d.e]+)v([-\d.e]+)/.exec(e.attrs.d)!;
  const [x, y, w, h] = [m[1], m[2], m[3], m[4]].map(Number);
  return { x0: e.x + x, x1: e.x + x + w, y0: e.y + y, y1: e.y + y + h };
}

function chartGeometry(svg: string) {
  const els = parseSvg(svg);
  const inside = (e: El, pred: (g: El) => boolean) => e.up.some(pred);
  const isXAxis = (g: El) => /^X-axis/.test(g.attrs['aria-label'] ?? '');
  const hasClass = (c: string) => (g: El) => (g.attrs.class ?? '').split(' ').includes(c);
  const root = els.find((e) => hasClass('root')(e))!;
  const axisLine = els.find((e) => e.name === 'line' && inside(e, isXAxis) && inside(e, hasClass('role-axis-domain')))!;
  const ticks = els.filter((e) => e.name === 'text' && inside(e, isXAxis) && inside(e, hasClass('role-axis-label')));
  const legends = els
    .filter((e) => e.attrs['aria-roledescription'] === 'legend')
    .map((g) => {
      const parts = els.filter((e) => e.up.includes(g));
      return {
        label: g.attrs['aria-label'],
        texts: parts.filter((e) => e.name === 'text').map((e) => e.text),
        symbols: parts.filter((e) => e.name === 'path' && inside(e, hasClass('role-legend-symbol'))),
      };
    });
  return {
    svgHeight: Number(els[0].attrs.height),
    plotTop: root.y,
    baseline: axisLine.y,
    ticks,
    bars: els.filter((e) => e.attrs['aria-roledescription'] === 'bar'),
    crosses: els.filter((e) => (e.attrs['aria-label'] ?? '').startsWith('suppressed: ')),
    legends,
    yAxis: els.find((e) => /^Y-axis/.test(e.attrs['aria-label'] ?? ''))!.attrs['aria-label'],
    subtitle: els
      .filter((e) => /^(text|tspan)$/.test(e.name) && inside(e, hasClass('role-title-subtitle')))
      .filter((e) => e.name === 'tspan' || !/<tspan/.test(svg))
      .map((e) => e.text),
  };
}

/** Every × inside the plot: above the axis line, below the plot's top, clear of tick labels, bars and each other. */
function expectCrossesPlaced(g: ReturnType<typeof chartGeometry>) {
  for (const c of g.crosses) {
    const box = textBox(c);
    expect(c.text).toBe('×');
    expect(box.y1, 'cross below the axis line').toBeLessThanOrEqual(g.baseline);
    expect(box.y0, 'cross above the plot').toBeGreaterThanOrEqual(g.plotTop - 1);
    for (const t of g.ticks) expect(overlaps(box, textBox(t)), `cross over tick label ${t.text}`).toBe(false);
    for (const b of g.bars) expect(overlaps(box, barBox(b)), 'cross over a bar').toBe(false);
    for (const o of g.crosses) if (o !== c) expect(overlaps(box, textBox(o)), 'crosses overlap').toBe(false);
  }
}

/** The legend explains the mark: an entry naming it, drawn as a cross in the marks' colour. */
function expectLegendExplainsCross(g: ReturnType<typeof chartGeometry>) {
  const entry = g.legends.find((l) => l.texts.some((t) => /suppressed/.test(t)));
  expect(entry, JSON.stringify(g.legends.map((l) => l.label))).toBeDefined();
  expect(entry!.texts.join(' ')).toMatch(/fewer than \d+ cases/);
  expect(entry!.symbols.some((s) => s.attrs.stroke === g.crosses[0].attrs.fill)).toBe(true);
}

/** One unit: the bars count documented events, and both the axis and the subtitle say so. */
function expectOneUnit(g: ReturnType<typeof chartGeometry>) {
  expect(g.yAxis).toMatch(/^Y-axis titled 'documented events'/);
  expect(g.subtitle[0]).toMatch(/documented events, not prevalence/i);
  expect(g.subtitle.join(' ')).not.toMatch(/documented cases/i);
}

/** The checks every chart must pass, whatever its content. */
function expectPublishable(svg: string) {
  const g = chartGeometry(svg);
  expect(g.ticks.length).toBeGreaterThan(0);
  expectCrossesPlaced(g);
  if (g.crosses.length) expectLegendExplainsCross(g);
  expectOneUnit(g);
  return g;
}

// ---------------------------------------------------------------- hand-built tables

type CellIn = { period: string; series?: string; events: number | null };
function table(period: 'year' | 'quarter' | 'month', series: 'type' | 'hostCountry' | null, cells: CellIn[]) {
  const groupBy = series ? [period, series] : [period];
  const suppressed = cells.filter((c) => c.events === null).length;
  return {
    label: 'documented cases',
    groupBy,
    cells: cells.map((c) => ({
      [period]: c.period,
      ...(series ? { [series]: c.series } : {}),
      events: c.events,
      cases: c.events,
      suppressed: c.events === null,
    })),
    totals: [],
    total: { events: null, cases: null, suppressed: true },
    metadata: {
      generatedAt: '2026-01-01T00:00:00.000Z',
      label: 'documented cases',
      groupBy,
      filters: {},
      k: 3,
      kFloor: 3,
      epsilon: null,
      noise: null,
      privacyBudget: { windowDays: 30, limit: 1, spent: 0, remaining: 1 },
      protection: { method: 'protection-intervals', protectionPct: 10, complementsAdded: 0, unverifiedCells: 0 },
      queryAudit: { comparedWith: 0 },
      fullDomain: true,
      suppressedCells: { primary: suppressed, secondary: 0, total: suppressed },
      suppressedTotals: { primary: 0, secondary: 0, total: 0 },
      totalsIncludeSuppressed: true,
      note: '',
    },
  } as unknown as StatsEventsResponse;
}
const draw = (t: StatsEventsResponse) => renderEventsChart(t, { source: 'Source: test' });

const TYPES = ['DETENTION', 'COURT_HEARING', 'THREAT', 'TRAVEL_BAN', 'ABDUCTION'];
const QUARTERS = ['2024-Q1', '2024-Q2', '2024-Q3', '2024-Q4', '2025-Q1', '2025-Q2', '2025-Q3'];
/** The quarter x type table of test/stats.test.ts at k=3, plus a withheld cell beside a published bar (2024-Q2). */
const byQuarterAndType = () => {
  const shown: Record<string, number> = { '2024-Q1|DETENTION': 13, '2024-Q2|COURT_HEARING': 3 };
  const withheld = ['2024-Q2|THREAT', '2025-Q1|THREAT', '2025-Q1|TRAVEL_BAN', '2025-Q2|THREAT'];
  withheld.push('2025-Q3|THREAT', '2025-Q3|ABDUCTION');
  return table(
    'quarter',
    'type',
    QUARTERS.flatMap((q) =>
      TYPES.map((t) => ({
        period: q,
        series: t,
        events: withheld.includes(`${q}|${t}`) ? null : (shown[`${q}|${t}`] ?? 0),
      })),
    ),
  );
};

describe('renderEventsChart geometry', () => {
  it('draws each × inside the plot, above the axis and clear of the tick labels', async () => {
    const g = expectPublishable(await draw(byQuarterAndType()));
    expect(g.crosses).toHaveLength(6);
    // Beside a published bar the × sits above the top of its stack, not at a height of its own.
    const q2 = g.ticks.find((t) => t.text === '2024-Q2')!;
    const q2bar = barBox(g.bars.find((b) => /2024-Q2/.test(b.attrs['aria-label']))!);
    const q2cross = g.crosses.find((c) => Math.abs(c.x - q2.x) < (q2bar.x1 - q2bar.x0) / 2)!;
    expect(textBox(q2cross).y1).toBeLessThanOrEqual(q2bar.y0);
    // With no published bar in its period it sits just above the baseline.
    const q4 = g.ticks.find((t) => t.text === '2025-Q2')!;
    const q4cross = g.crosses.find((c) => Math.abs(c.x - q4.x) < 12)!;
    expect(g.baseline - textBox(q4cross).y1).toBeLessThan(12);
    // A screen reader hears which cell each × stands for, never a value.
    expect(q2cross.attrs['aria-label']).toMatch(/^suppressed: \S+, 2024-Q2 \(fewer than \d+ cases\)$/);
    expect(q4cross.attrs['aria-label']).toMatch(/, 2025-Q2 \(fewer than/);
    expect(new Set(g.crosses.map((c) => c.attrs['aria-label'])).size).toBe(6);
  });

  it('explains the × in the legend', async () => {
    const g = chartGeometry(await draw(byQuarterAndType()));
    expectLegendExplainsCross(g);
    expect(g.legends.map((l) => l.label).join(' ')).toMatch(/suppressed/);
    // The series legend is still there.
    expect(g.legends.some((l) => /titled 'event type'/.test(l.label))).toBe(true);
  });

  it('names one unit, documented events, on the y-axis and in the subtitle', async () => {
    expectOneUnit(chartGeometry(await draw(byQuarterAndType())));
  });

  it('fits many withheld cells in one narrow period without overlaps', async () => {
    const months = Array.from(
      { length: 24 },
      (_, i) => `${2024 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`,
    );
    const countries = ['AM', 'GE', 'KZ', 'KG', 'RS', 'TR', 'UZ', 'AE', 'DE', 'FR'];
    const cells = months.flatMap((m, i) =>
      countries.map((c, j) => ({ period: m, series: c, events: i === 3 ? null : (i * 7 + j) % 5 === 0 ? 4 : 0 })),
    );
    const g = expectPublishable(await draw(table('month', 'hostCountry', cells)));
    expect(g.crosses).toHaveLength(10);
  });

  it('is sized to its content', async () => {
    const smallSvg = await draw(
      table('year', null, [
        { period: '2024', events: 16 },
        { period: '2025', events: 5 },
      ]),
    );
    const small = chartGeometry(smallSvg);
    const plot = small.baseline - small.plotTop;
    // The old chart: a 320 px plot whatever it held, 400+ px high in all.
    expect(plot).toBeLessThanOrEqual(200);
    expect(small.svgHeight).toBeLessThan(320);
    const bigSvg = await draw(byQuarterAndType());
    const big = chartGeometry(bigSvg);
    for (const g of [small, big]) {
      const tops = [...g.bars.map((b) => barBox(b).y0), ...g.crosses.map((c) => textBox(c).y0)];
      // At most 30% of the plot is blank above the tallest mark.
      expect((Math.min(...tops) - g.plotTop) / (g.baseline - g.plotTop)).toBeLessThanOrEqual(0.3);
      expect(g.baseline - g.plotTop).toBeGreaterThanOrEqual(160);
      expect(g.baseline - g.plotTop).toBeLessThanOrEqual(320);
    }
    // Width follows the number of periods.
    const wide = (await draw(byQuarterAndType())).match(/role-axis-domain[^]*?x2="([\d.]+)"/)![1];
    const narrow = (
      await draw(
        table('year', null, [
          { period: '2024', events: 16 },
          { period: '2025', events: 5 },
        ]),
      )
    ).match(/role-axis-domain[^]*?x2="([\d.]+)"/)![1];
    expect(Number(narrow)).toBeLessThan(Number(wide));
    expectPublishable(smallSvg);
    expectPublishable(bigSvg);
  });

  it('centres single bars in their band (one series, one period)', async () => {
    for (const t of [
      table('year', null, [{ period: '2024', events: 16 }]),
      table('year', null, [
        { period: '2024', events: 16 },
        { period: '2025', events: 5 },
        { period: '2026', events: 9 },
      ]),
      table('quarter', 'type', [
        { period: '2024-Q1', series: 'DETENTION', events: 4 },
        { period: '2024-Q1', series: 'THREAT', events: 6 },
      ]),
    ]) {
      const svg = await draw(t);
      const g = chartGeometry(svg);
      expect(g.bars.length).toBeGreaterThan(0);
      for (const b of g.bars) {
        const box = barBox(b);
        const tick = g.ticks.find((k) => b.attrs['aria-label'].includes(`: ${k.text};`))!;
        expect(Math.abs((box.x0 + box.x1) / 2 - tick.x), b.attrs['aria-label']).toBeLessThan(1);
      }
      expectPublishable(svg);
    }
  });

  it('draws a table with nothing published: crosses only, on a plot of its own height', async () => {
    const g = expectPublishable(
      await draw(
        table('year', 'type', [
          { period: '2024', series: 'DETENTION', events: null },
          { period: '2024', series: 'THREAT', events: null },
          { period: '2025', series: 'DETENTION', events: 0 },
          { period: '2025', series: 'THREAT', events: 0 },
        ]),
      ),
    );
    expect(g.bars).toHaveLength(0);
    expect(g.crosses).toHaveLength(2);
  });
});

// ---------------------------------------------------------------- through HTTP

describe('GET /v1/stats/events/chart.svg geometry', () => {
  let env: TestEnv;
  let coord: Client;
  beforeAll(async () => {
    env = await setupTestEnv({ env: { STATS_DEFAULT_K: '3' } });
    const team = await createTeam(env, ['AM', 'GE']);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    coord = await clientFor(env, 'COORDINATOR');
    // Inserted directly: 5 cases detained in 2024-Q1 (published at k=3), threats in 2024-Q2 in two of them and
    // a travel ban in 2025-Q1 in one (both under k: withheld).
    const cases = [];
    for (let i = 0; i < 5; i++) cases.push((await createCase(cw, team)).caseId);
    const ev = (caseId: string, type: 'DETENTION' | 'THREAT' | 'TRAVEL_BAN', at: string) =>
      env.db.event.create({
        data: { id: randomUUID(), caseId, type, country: 'AM', occurredAt: new Date(at), sourceUrls: [] },
      });
    for (const c of cases) await ev(c, 'DETENTION', '2024-02-10T09:00:00Z');
    await ev(cases[0], 'THREAT', '2024-05-10T09:00:00Z');
    await ev(cases[1], 'THREAT', '2024-05-11T09:00:00Z');
    await ev(cases[2], 'TRAVEL_BAN', '2025-02-10T09:00:00Z');
  }, 60_000);
  afterAll(async () => env?.close());

  it('marks withheld cells inside the plot, explains them in the legend, one unit, sized to content', async () => {
    const res = await coord.get('/v1/stats/events/chart.svg?groupBy=quarter,type&k=3');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('image/svg+xml; charset=utf-8');
    const g = expectPublishable(res.body);
    expect(g.bars.map((b) => b.attrs['aria-label'])).toEqual([
      'quarter: 2024-Q1; documented events: 5; event type: DETENTION',
    ]);
    expect(g.crosses.length).toBeGreaterThan(0);
    expect(g.baseline - g.plotTop).toBeLessThanOrEqual(200);
    const bar = barBox(g.bars[0]);
    expect(Math.abs((bar.x0 + bar.x1) / 2 - g.ticks.find((t) => t.text === '2024-Q1')!.x)).toBeLessThan(1);
  });
});
