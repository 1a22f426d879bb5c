import { z } from 'zod';
import { CountryCode, Instant, IsoDate, Timestamp, Uuid } from '../../lib/http-schemas.ts';
import { EventTypeEnum } from '../cases/cases.schemas.ts';
import { DOCUMENTED_CASES, MIN_K } from './disclosure.ts';

export const DIMENSIONS = [
  'hostCountry',
  'type',
  'year',
  'quarter',
  'month',
  'citizenship',
  'mechanism',
  'chargeCategory',
] as const;
export const Dimension = z.enum(DIMENSIONS);
export type Dimension = z.infer<typeof Dimension>;
export const PERIOD_DIMENSIONS = ['year', 'quarter', 'month'] as const;

export { DOCUMENTED_CASES };

/** `a,b,c` in a query string, each item checked against `item`, duplicates dropped. */
const commaList = <T extends z.ZodType<string>>(item: T, max: number) =>
  z
    .string()
    .max(2000)
    .transform((s, ctx) => {
      const parts = [
        ...new Set(
          s
            .split(',')
            .map((p) => p.trim())
            .filter(Boolean),
        ),
      ];
      if (parts.length > max) ctx.addIssue({ code: 'custom', message: `at most ${max} values` });
      const out: z.infer<T>[] = [];
      for (const p of parts) {
        const r = item.safeParse(p);
        if (r.success) out.push(r.data as z.infer<T>);
        else ctx.addIssue({ code: 'custom', message: `"${p.slice(0, 40)}" is not allowed here` });
      }
      return out;
    });

// Bounds are widened to whole months (UTC): two figures whose periods differ
// by a day or a second could otherwise be subtracted to isolate one event.
const monthOf = (v: string) => new Date(v.length === 10 ? `${v}T00:00:00.000Z` : v).toISOString().slice(0, 7);
const lastDayOf = (ym: string) => {
  const [y, m] = ym.split('-').map(Number);
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
};

export const EventFilterFields = {
  from: z
    .union([Instant, IsoDate])
    .transform((v) => `${monthOf(v)}-01`)
    .optional()
    .describe('events from the start of this month (UTC); a date or instant, widened to the first day of its month'),
  to: z
    .union([Instant, IsoDate])
    .transform((v) => lastDayOf(monthOf(v)))
    .optional()
    .describe('events to the end of this month (UTC); a date or instant, widened to the last day of its month'),
};

export const StatsEventsQuery = z.strictObject({
  groupBy: commaList(Dimension, 3)
    .default([])
    .describe(
      `comma-separated, up to 3 of: ${DIMENSIONS.join(', ')}. hostCountry is the case's current host country; year/quarter/month of the event (UTC); citizenship, mechanism and chargeCategory are multi-valued (an event counts once per distinct value)`,
    ),
  ...EventFilterFields,
  hostCountry: commaList(CountryCode, 50).optional().describe("the cases' current host countries, comma-separated"),
  country: commaList(CountryCode, 50).optional().meta({
    deprecated: true,
    description: 'deprecated alias of hostCountry (400 when both are given with different values)',
  }),
  type: commaList(EventTypeEnum, 28).optional().describe('event types, comma-separated'),
  teamId: commaList(Uuid, 50).optional().describe('team ids, comma-separated'),
  team: commaList(Uuid, 50).optional().meta({
    deprecated: true,
    description: 'deprecated alias of teamId (400 when both are given with different values)',
  }),
  k: z.coerce
    .number()
    .int()
    .min(MIN_K)
    .max(1000)
    .optional()
    .describe(
      `minimum number of distinct documented cases for a cell to be shown: STATS_DEFAULT_K unless larger (a smaller k than STATS_DEFAULT_K is refused with 422; never below ${MIN_K})`,
    ),
  epsilon: z.coerce
    .number()
    .min(0.05)
    .max(10)
    .optional()
    .describe(
      "privacy parameter for optional geometric noise (public releases); smaller means more noise. Spent from the caller's budget (STATS_EPSILON_BUDGET per 30 days; 429 when spent); the same figure always gets the same noise",
    ),
  format: z.enum(['json', 'csv']).default('json'),
  metadata: z
    .enum(['header', 'inline'])
    .default('header')
    .describe(
      'format=csv only: header puts the metadata in the x-stats-metadata header (JSON); inline also writes it as leading `# key: value` comment lines before the CSV header row, so it survives saving the file',
    ),
});
export type StatsEventsQuery = z.infer<typeof StatsEventsQuery>;

const dimensionFields = Object.fromEntries(DIMENSIONS.map((d) => [d, z.string().optional()])) as {
  [K in Dimension]: z.ZodOptional<z.ZodString>;
};

export const StatsCell = z.object({
  ...dimensionFields,
  events: z.number().int().nullable().describe('documented events; null when suppressed'),
  cases: z.number().int().nullable().describe('distinct documented cases; null when suppressed'),
  suppressed: z.boolean(),
  suppression: z
    .enum(['primary', 'secondary'])
    .optional()
    .describe(
      'not set on published tables (the kind would tell a reader that a secondary entry holds at least k cases); the metadata counts each kind',
    ),
});
export type StatsCellDto = z.infer<typeof StatsCell>;

export const NoiseMetadata = z.object({
  mechanism: z.string(),
  epsilon: z.number(),
  sensitivity: z.number(),
  alpha: z.number(),
  scale: z.number(),
  standardDeviation: z.number(),
  bound95: z.number().int().describe('95% of draws lie within ±bound95'),
  randomSource: z.string(),
  appliedTo: z.string(),
  unit: z.string(),
});

const SuppressedCounts = z.object({ primary: z.number().int(), secondary: z.number().int(), total: z.number().int() });

export const StatsMetadata = z.object({
  generatedAt: Timestamp,
  label: z.literal(DOCUMENTED_CASES),
  groupBy: z.array(Dimension),
  filters: z.object({
    from: z.string().optional(),
    to: z.string().optional(),
    hostCountry: z.array(z.string()).optional(),
    type: z.array(z.string()).optional(),
    teamId: z.array(z.string()).optional(),
  }),
  k: z.number().int(),
  kFloor: z.number().int().describe('STATS_DEFAULT_K: requests may ask for a larger k, never a smaller one'),
  epsilon: z.number().nullable(),
  noise: NoiseMetadata.nullable(),
  privacyBudget: z
    .object({
      windowDays: z.number().int(),
      limit: z.number(),
      spent: z.number(),
      remaining: z.number(),
    })
    .describe("the caller's epsilon budget (STATS_EPSILON_BUDGET per 30 days), after this request"),
  protection: z.object({
    method: z
      .enum(['protection-intervals', 'two-per-line'])
      .describe(
        'protection-intervals: every primary cell gets a proven range of what the table reveals about it (a linear program, or for large tables a hypercube of withheld entries first), and complements are added until the range is wide enough',
      ),
    protectionPct: z
      .number()
      .nullable()
      .describe('STATS_PROTECTION_PCT: each primary cell stays undecidable within at least ± this percent and up to k'),
    complementsAdded: z.number().int().describe('entries withheld beyond one-per-line to widen the ranges'),
    unverifiedCells: z
      .number()
      .int()
      .describe(
        'primary cells whose range was too large an LP to prove (connected to over 120 withheld entries): protected by the one-per-line rule only',
      ),
    hypercubeCells: z
      .number()
      .int()
      .describe(
        'primary cells of large tables whose range is shown by a hypercube of withheld entries (2, 4 or 8 entries moved together keep every sum): no LP was needed for them',
      ),
  }),
  queryAudit: z.object({
    comparedWith: z
      .number()
      .int()
      .describe('earlier published tables and exports differing in one filter that this table was checked against'),
  }),
  fullDomain: z.literal(true).describe('every combination of the grouped values is listed, zeros included'),
  suppressedCells: SuppressedCounts.describe('cells of the table'),
  suppressedTotals: SuppressedCounts.describe('margins and the grand total'),
  totalsIncludeSuppressed: z.literal(true),
  note: z.string(),
});

export const StatsEventsResponse = z.object({
  label: z.literal(DOCUMENTED_CASES),
  groupBy: z.array(Dimension),
  cells: z.array(StatsCell),
  totals: z.array(StatsCell).describe('margins: a dimension that is absent is summed over'),
  total: StatsCell.describe('grand total'),
  metadata: StatsMetadata,
});
export type StatsEventsResponse = z.infer<typeof StatsEventsResponse>;

export const StatsOverviewQuery = z.strictObject({
  k: z.coerce.number().int().min(MIN_K).max(1000).optional(),
});

const Figure = z.object({
  value: z.number().int().nullable(),
  suppressed: z.boolean(),
  suppression: z.enum(['primary', 'secondary']).optional(),
});

export const StatsOverviewResponse = z.object({
  label: z.literal(DOCUMENTED_CASES),
  openCasesByHostCountry: z.object({
    cells: z.array(z.object({ hostCountry: z.string(), ...Figure.shape })),
    total: Figure,
  }),
  detentionsThisYear: z
    .object({ year: z.number().int(), ...Figure.shape })
    .describe('DETENTION events this calendar year (UTC)'),
  peopleUnderTravelBan: Figure.describe(
    'people whose latest travel-ban event is a TRAVEL_BAN not followed by TRAVEL_BAN_LIFTED',
  ),
  upcomingDeadlines: z
    .object({ days: z.number().int(), ...Figure.shape })
    .describe('OPEN legal deadlines due in the next days'),
  metadata: z.object({
    generatedAt: Timestamp,
    label: z.literal(DOCUMENTED_CASES),
    k: z.number().int(),
    suppressedFigures: SuppressedCounts,
    totalsIncludeSuppressed: z.literal(true),
    note: z.string(),
  }),
});
export type StatsOverviewResponse = z.infer<typeof StatsOverviewResponse>;
