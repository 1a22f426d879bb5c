import { z } from 'zod';
import { CountryCode, Timestamp, Uuid } from '../../lib/http-schemas.ts';
import { EventTypeEnum } from '../cases/cases.schemas.ts';
import { MIN_K } from '../stats/disclosure.ts';
import type { EventFilters } from '../stats/event-filters.ts';
import { EventFilterFields } from '../stats/stats.schemas.ts';

export const ExportKind = z.enum(['events-anonymised']);
export const ExportFormat = z.enum(['csv', 'json']);
export const ExportStatus = z.enum(['QUEUED', 'RUNNING', 'DONE', 'FAILED', 'EXPIRED']);

export const ExportFilters = z.strictObject({
  ...EventFilterFields,
  hostCountry: z.array(CountryCode).max(50).optional().describe("the cases' current host countries"),
  country: z.array(CountryCode).max(50).optional().meta({
    deprecated: true,
    description: 'deprecated alias of hostCountry (400 when both are given with different values)',
  }),
  type: z.array(EventTypeEnum).max(28).optional(),
  teamId: z.array(Uuid).max(50).optional().describe('team ids'),
  team: z.array(Uuid).max(50).optional().meta({
    deprecated: true,
    description: 'deprecated alias of teamId (400 when both are given with different values)',
  }),
});
export type ExportFilters = z.infer<typeof ExportFilters>;

export const CreateExportBody = z.strictObject({
  kind: ExportKind,
  filters: ExportFilters.default({}),
  format: ExportFormat.default('csv'),
  k: z
    .number()
    .int()
    .min(MIN_K)
    .max(1000)
    .optional()
    .describe(
      'k-anonymity threshold over the quasi-identifiers: STATS_DEFAULT_K unless larger (below it: 422 naming body.k)',
    ),
});

export type CreateExportInput = z.infer<typeof CreateExportBody>;

/**
 * What an export row keeps in its filters column: the filters under their
 * internal keys (country, team; see stats/event-filters.ts) and the k in
 * force. Answers show them under their public names and k at the top level.
 */
export type StoredExportFilters = EventFilters & { k?: number };

/** What the job records about its output (stored on the export and returned to its owner). */
export const ExportMetadata = z.object({
  generatedAt: Timestamp,
  label: z.string(),
  k: z.number().int(),
  quasiIdentifiers: z.array(z.string()),
  columns: z.array(z.string()),
  eventsMatched: z
    .number()
    .int()
    .nullable()
    .describe(
      'events matching the filters (null when fewer than k, or when matched minus published rows would be between 1 and k-1)',
    ),
  rowsPublished: z.number().int(),
  rowsByPeriodPrecision: z.object({ month: z.number().int(), quarter: z.number().int(), year: z.number().int() }),
  rowsUnlinked: z
    .number()
    .int()
    .describe('published rows whose case history was rarer than k: their case_key is random per row'),
  rowsDropped: z
    .number()
    .int()
    .nullable()
    .describe('rows whose class stayed under k even at year precision (null when between 1 and k-1)'),
  caseKey: z.string(),
  filters: z.record(z.string(), z.unknown()),
  note: z.string(),
});
export type ExportMetadata = z.infer<typeof ExportMetadata>;

export const ExportSchema = z.object({
  id: Uuid,
  kind: z.string(),
  format: ExportFormat,
  status: ExportStatus,
  progress: z.number().int().min(0).max(100),
  rowCount: z.number().int().nullable(),
  k: z
    .number()
    .int()
    .nullable()
    .describe("the k in force (the request's k, or STATS_DEFAULT_K); null only on exports from before it was recorded"),
  filters: z
    .record(z.string(), z.unknown())
    .describe(
      'the filters as requested, under their current names (hostCountry, teamId, …); k is the top-level field, never inside filters',
    ),
  metadata: ExportMetadata.nullable(),
  error: z.string().nullable(),
  createdAt: Timestamp,
  finishedAt: Timestamp.nullable(),
  expiresAt: Timestamp.nullable(),
});
export type ExportDto = z.infer<typeof ExportSchema>;
