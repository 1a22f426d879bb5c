// A deadline as the API shows it (DeadlineSchema in ./deadlines.schemas.ts).
import type { Deadline, Prisma } from '../../generated/prisma/client.ts';
import { iso } from '../../lib/http-schemas.ts';
import { deadlineWarnings } from './judicial-recess.ts';

/** What a deadline's warnings need of its rule (for reads that do not load the case). */
export const RULE_WARNINGS = { rule: { select: { jurisdiction: true, finalOnly: true } } } as const;

/** What a deadline's DTO shows of its case (and the host country, for due dates) and of its rule (warnings). */
// `as const` (not a cast): keeps the literal `true`s so Prisma infers the loaded fields.
export const withCase = {
  case: { select: { reference: true, hostCountry: true, person: { select: { pseudonym: true } } } },
  ...RULE_WARNINGS,
} as const satisfies Prisma.DeadlineInclude;

type Loaded = {
  case?: { reference: string; person: { pseudonym: string } };
  rule?: { jurisdiction: string; finalOnly: boolean } | null;
};

/** `case` (reference and pseudonym) when loaded; warnings need `rule` loaded. */
export function toDeadlineDto(d: Deadline & Loaded) {
  return {
    id: d.id,
    caseId: d.caseId,
    caseReference: d.case?.reference,
    pseudonym: d.case?.person.pseudonym,
    triggerEventId: d.triggerEventId,
    kind: d.kind,
    title: d.title,
    dueAt: iso(d.dueAt),
    dueDate: d.dueDate,
    timeZone: d.timeZone,
    hourBased: d.hourBased,
    status: d.status,
    source: d.source,
    citation: d.citation,
    verifyWithCounsel: d.verifyWithCounsel,
    confidence: d.confidence,
    note: d.source === 'RULE' ? 'computed, verify with counsel' : null,
    warnings: deadlineWarnings(d),
    manualOverride: d.manualOverride,
    assigneeId: d.assigneeId,
    version: d.version,
    completedAt: iso(d.completedAt),
    cancelRequestedById: d.cancelRequestedById,
    cancelConfirmedById: d.cancelConfirmedById,
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
  };
}
