import { z } from 'zod';
import { CountryCode, Timestamp, Uuid } from '../../lib/http-schemas.ts';
import { EventTypeEnum } from '../cases/cases.schemas.ts';
import { MIN_K } from '../stats/disclosure.ts';
import { EventFilterFields } from '../stats/stats.schemas.ts';

export const ExportKind = z.enum(['events-anonymised']);
export const ExportFormat = z.enum(['csv', 'json']);
export const ExportStatus = z.enum(['QUEUED', 'RUNNING', 'DONE', 'FAILED', 'EXPIRED']);

export const ExportFilters = z.strictObject({
  ...EventFilterFields,
  country: z.array(CountryCode).max(50).optional().describe('host countries'),
  type: z.array(EventTypeEnum).max(28).optional(),
  team: z.array(Uuid).max(50).optional(),
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

/** What an export row keeps in its filters column: the request's filters and the k in force. */
export type StoredExportFilters = ExportFilters & { k?: number };

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
  filters: z.record(z.string(), z.unknown()),
  metadata: ExportMetadata.nullable(),
  error: z.string().nullable(),
  createdAt: Timestamp,
  finishedAt: Timestamp.nullable(),
  expiresAt: Timestamp.nullable(),
});
export type ExportDto = z.infer<typeof ExportSchema>;
