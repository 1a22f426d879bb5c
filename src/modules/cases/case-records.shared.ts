// What charges and events share: their input types, date parsing, and how a
// record's case is found and authorised (404 names the record, not the case).
import type { z } from 'zod';
import type { Prisma } from '../../generated/prisma/client.ts';
import type { CreateChargeBody, CreateEventBody } from './cases.schemas.ts';
import { AppError } from '../../lib/app-error.ts';
import type { Tx } from '../../db.ts';
import { authoriseCase, type CaseAccess } from '../../plugins/access.ts';
import type { Actor } from '../../plugins/auth.ts';

export type ChargeRow = Prisma.ChargeGetPayload<object>;
export type EventRow = Prisma.EventGetPayload<object>;

/** A date (YYYY-MM-DD, midnight UTC) or an instant; null and undefined pass through (clear / leave as is). */
export function toDate(d: string): Date;
export function toDate(d: string | null | undefined): Date | null | undefined;
export function toDate(d: string | null | undefined): Date | null | undefined {
  return d === undefined ? undefined : d === null ? null : new Date(d.length === 10 ? `${d}T00:00:00.000Z` : d);
}

/** A charge as a caller writes it (creates give every required field; updates any of them). */
export type NewCharge = z.infer<typeof CreateChargeBody>;
export type ChargeInput = Partial<NewCharge>;
/** An event as a caller writes it (creates give every required field; updates any of them). */
export type NewEvent = z.infer<typeof CreateEventBody>;
export type EventInput = Partial<NewEvent>;

const recordMissing = (table: 'charge' | 'event') =>
  new AppError('NOT_FOUND', `${table === 'charge' ? 'Charge' : 'Event'} not found.`);

/** Rejects with the record's absence when the record does not exist. */
export function existing<R>(table: 'charge' | 'event', row: R | null): R {
  if (!row) throw recordMissing(table);
  return row;
}

/** For .catch on an authorisation: a case the actor may not see answers as the record's absence (404 naming the record). */
export const hiddenAsRecord =
  (table: 'charge' | 'event') =>
  (e: unknown): never => {
    throw e instanceof AppError && e.code === 'NOT_FOUND' ? recordMissing(table) : e;
  };

/** Finds the case of a charge/event and authorises the actor on it (404 when not visible). */
export async function caseOfRecord(
  tx: Tx,
  actor: Actor,
  table: 'charge' | 'event',
  id: string,
  mode: 'see' | 'edit',
): Promise<CaseAccess> {
  const row = existing(
    table,
    table === 'charge'
      ? await tx.charge.findUnique({ where: { id }, select: { caseId: true } })
      : await tx.event.findUnique({ where: { id }, select: { caseId: true } }),
  );
  return authoriseCase(tx, actor, row.caseId, mode).catch(hiddenAsRecord(table));
}
