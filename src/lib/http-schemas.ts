// Shapes shared by many routes. One zod schema per shape feeds validation,
// TypeScript types and the OpenAPI document.
import { z } from 'zod';

export const Uuid = z.uuid();
export const IdParams = z.object({ id: Uuid });
export const CountryCode = z
  .string()
  .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code in capitals, e.g. KZ')
  .describe('ISO 3166-1 alpha-2 country code');
export const IsoDate = z.iso.date().describe('calendar date YYYY-MM-DD');
export const Instant = z.iso.datetime({ offset: true }).describe('ISO 8601 instant with offset');
export const Timestamp = z.string().describe('ISO 8601 instant (UTC)');

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .describe('RFC 9457 problem details')
  .meta({ id: 'Problem' });

/** Error responses documented for a route (the body is always a Problem). */
export function problems(...codes: number[]) {
  // Object.fromEntries types its keys as string; these are the status codes given.
  return Object.fromEntries(codes.map((c) => [c, Problem])) as Record<number, typeof Problem>;
}

export const PageQuery = {
  cursor: z.string().max(500).optional().describe('opaque cursor from the previous page'),
  limit: z.coerce.number().int().min(1).max(100).default(25).describe('page size, 1-100'),
};

export const IfMatchHeaders = z.object({
  'if-match': z.string().max(40).optional().describe('the version you last read, e.g. "3"'),
});

export function iso(d: Date): string;
export function iso(d: Date | null): string | null;
export function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

export function isoDay(d: Date | null): string | null {
  return d ? d.toISOString().slice(0, 10) : null;
}
