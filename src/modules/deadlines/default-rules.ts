// The default deadline rules shipped with the service. They are DATA: on start
// each rule is inserted by its key; a shipped rule whose text changed replaces
// the stored one unless an admin edited it (then both are kept and the admin
// decides: ./deadline-rules.service.ts), and admins change them through
// /v1/deadline-rules.
//
// Every figure is a reading of the law by non-lawyers and ships with a
// citation, a confidence and the "verify with counsel" flag. Where a figure is
// uncertain, confidence is LOW; where no term could be found, no rule ships
// (README: "rules we do not ship yet"). Holidays: src/lib/holiday-calendars.ts.
import { createHash } from 'node:crypto';
import type { DeadlineKind, EventType, ExtraditionTreaty } from '../../generated/prisma/enums.ts';
import { DETENTION_RULES } from './default-rules-detention.ts';
import { REMEDY_RULES } from './default-rules-remedies.ts';

export type DefaultRule = {
  key: string;
  jurisdiction: string;
  hostCountries: string[];
  triggerEventType: EventType;
  kind: DeadlineKind;
  title: string;
  offsetValue: number;
  offsetUnit: 'HOURS' | 'CALENDAR_DAYS' | 'WORKING_DAYS' | 'MONTHS';
  anchor?: 'EVENT' | 'TERM_END';
  rollPolicy: 'FORWARD' | 'BACKWARD' | 'NONE';
  timeZone?: string;
  cutoffTime?: string;
  citation: string;
  confidence: 'HIGH' | 'MEDIUM' | 'LOW';
  verifyWithCounsel: true;
  holidayNote?: string;
  /** Applies only when the request's legal basis (a charge's `treaty`) is one of these, or none is recorded. */
  treaties?: ExtraditionTreaty[];
  /** Runs from a final decision only (the event's isFinal), counted from its servedOn when given. */
  finalOnly?: boolean;
  sourceUrl?: string;
};

export const DEFAULT_RULES: DefaultRule[] = [...DETENTION_RULES, ...REMEDY_RULES];

/** The stored columns of a shipped rule (what a sync writes). */
export function shippedColumns(r: DefaultRule) {
  return {
    jurisdiction: r.jurisdiction,
    hostCountries: r.hostCountries,
    triggerEventType: r.triggerEventType,
    kind: r.kind,
    title: r.title,
    offsetValue: r.offsetValue,
    offsetUnit: r.offsetUnit,
    anchor: r.anchor ?? 'EVENT',
    rollPolicy: r.rollPolicy,
    timeZone: r.timeZone ?? null,
    cutoffTime: r.cutoffTime ?? null,
    citation: r.citation,
    confidence: r.confidence,
    verifyWithCounsel: r.verifyWithCounsel,
    holidayNote: r.holidayNote ?? null,
    treaties: r.treaties ?? [],
    finalOnly: r.finalOnly ?? false,
    sourceUrl: r.sourceUrl ?? null,
  };
}

/** A shipped rule's fingerprint: a sync compares it with the one it applied last. */
export function shippedHash(r: DefaultRule): string {
  return createHash('sha256')
    .update(JSON.stringify(shippedColumns(r)))
    .digest('hex');
}

/** Kinds whose deadline only makes sense ahead of time: a past hearing is history, not a missed deadline. */
export const FUTURE_ONLY_KINDS = new Set(['HEARING', 'RULE39_REQUEST']);
