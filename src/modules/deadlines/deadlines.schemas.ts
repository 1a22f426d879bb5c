import { z } from 'zod';
import { Instant, IsoDate, Timestamp, Uuid } from '../../lib/http-schemas.ts';
import { pageQuery } from '../../lib/keyset.ts';
import { DeadlineKind, DeadlineStatus, EventType, ExtraditionTreaty } from '../../generated/prisma/enums.ts';

// From the generated enums, not cases.schemas (which imports this file).
const EventTypeEnum = z.enum(EventType);
export const DeadlineKindEnum = z.enum(DeadlineKind);
export const DeadlineStatusEnum = z.enum(DeadlineStatus);
export const TreatyEnum = z.enum(ExtraditionTreaty);

export const CreateDeadlineBody = z
  .strictObject({
    kind: DeadlineKindEnum,
    title: z
      .string()
      .trim()
      .min(1)
      .max(300)
      .describe('leaves the system in reminder emails, webhooks and calendar feeds: never put personal data here'),
    dueAt: Instant.optional().describe('exact instant with offset'),
    dueDate: IsoDate.optional().describe('a date without time: due at the end of that day in the host country'),
    assigneeId: Uuid.optional(),
  })
  .refine((b) => (b.dueAt === undefined) !== (b.dueDate === undefined), {
    message: 'give exactly one of dueAt or dueDate',
    path: ['dueAt'],
  });

export const UpdateDeadlineBody = z
  .strictObject({
    status: z.enum(['OPEN', 'DONE', 'CANCELLED']).optional().describe('MISSED is set by the system'),
    dueAt: Instant.optional(),
    dueDate: IsoDate.optional(),
    title: z.string().trim().min(1).max(300).optional(),
    reason: z
      .string()
      .trim()
      .min(3)
      .max(500)
      .optional()
      .describe('required to change the status or date of a rule-made or hearing deadline; kept in its history'),
  })
  .refine((b) => !(b.dueAt && b.dueDate), { message: 'give at most one of dueAt or dueDate', path: ['dueAt'] })
  .refine((b) => Object.keys(b).some((k) => k !== 'reason'), 'at least one field is required');

export const DeadlineSchema = z.object({
  id: Uuid,
  caseId: Uuid,
  caseReference: z.string().optional(),
  pseudonym: z.string().optional(),
  triggerEventId: Uuid.nullable(),
  kind: DeadlineKindEnum,
  title: z.string(),
  dueAt: Timestamp,
  dueDate: z.string().nullable(),
  timeZone: z.string(),
  hourBased: z.boolean(),
  status: DeadlineStatusEnum,
  source: z.enum(['RULE', 'MANUAL']),
  citation: z.string().nullable(),
  verifyWithCounsel: z.boolean(),
  confidence: z.enum(['HIGH', 'MEDIUM', 'LOW']).nullable(),
  note: z.string().nullable().describe('"computed, verify with counsel" on rule-made deadlines'),
  warnings: z
    .array(z.object({ code: z.enum(['TR_JUDICIAL_RECESS']), message: z.string() }))
    .describe('shown beside the date, never applied to it: TR_JUDICIAL_RECESS (İYUK art. 8(3), verify with counsel)'),
  manualOverride: z.boolean(),
  assigneeId: Uuid.nullable(),
  version: z.number().int(),
  completedAt: Timestamp.nullable(),
  cancelRequestedById: Uuid.nullable().describe('who cancelled it; the overdue escalation stays until confirmed'),
  cancelConfirmedById: Uuid.nullable().describe('the second member of the case who confirmed the cancellation'),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const DayOrInstant = z
  .string()
  .max(40)
  .refine(
    (v) => (IsoDate.safeParse(v).success || Instant.safeParse(v).success) && !Number.isNaN(Date.parse(v)),
    'expected a date YYYY-MM-DD or an instant with offset, e.g. 2026-12-01 or 2026-12-01T09:00:00Z',
  );

/** A bound as an instant: a date is its first millisecond (`from`) or its last (`to`), UTC. */
export function dayBound(v: string, side: 'from' | 'to'): Date {
  if (v.length !== 10) return new Date(v);
  const start = new Date(`${v}T00:00:00.000Z`);
  return side === 'from' ? start : new Date(start.getTime() + 86_400_000 - 1);
}

export const MyDeadlinesQuery = z
  .strictObject({
    from: DayOrInstant.describe('due at or after: an instant, or a date YYYY-MM-DD (from its start, UTC)').optional(),
    to: DayOrInstant.describe('due at or before: an instant, or a date YYYY-MM-DD (to its end, UTC)').optional(),
    status: z
      .string()
      .regex(/^(OPEN|DONE|MISSED|CANCELLED)(,(OPEN|DONE|MISSED|CANCELLED))*$/, 'comma-separated statuses')
      .optional()
      .describe('default OPEN,MISSED'),
    ...pageQuery(200, 500),
  })
  .superRefine((q, ctx) => {
    if (q.from && q.to && dayBound(q.from, 'from') > dayBound(q.to, 'to')) {
      ctx.addIssue({ code: 'custom', path: ['from'], message: 'must not be after to' });
    }
  });

const ruleFields = {
  key: z.string().regex(/^[a-z0-9_-]{3,80}$/, 'lowercase letters, digits, - and _'),
  jurisdiction: z
    .string()
    .regex(/^([A-Z]{2}|ECHR|ECE|INTERPOL|CIS|UN|\*)$/, 'ISO country, ECHR, ECE, INTERPOL, CIS, UN or *'),
  hostCountries: z
    .array(z.string().regex(/^[A-Z]{2}$/))
    .max(60)
    .describe('empty: every host country'),
  triggerEventType: EventTypeEnum,
  kind: DeadlineKindEnum,
  title: z.string().trim().min(1).max(300),
  offsetValue: z.number().int().min(-3650).max(3650),
  offsetUnit: z.enum(['HOURS', 'CALENDAR_DAYS', 'WORKING_DAYS', 'MONTHS']),
  anchor: z.enum(['EVENT', 'TERM_END']).default('EVENT'),
  rollPolicy: z.enum(['FORWARD', 'BACKWARD', 'NONE']),
  timeZone: z.string().max(60).nullable().optional(),
  cutoffTime: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/)
    .nullable()
    .optional(),
  citation: z.string().trim().min(1).max(1000),
  confidence: z.enum(['HIGH', 'MEDIUM', 'LOW']),
  verifyWithCounsel: z.boolean(),
  holidayNote: z.string().max(500).nullable().optional(),
  treaties: z.array(TreatyEnum).max(5).default([]).describe("empty: any legal basis; else the charge's treaty"),
  finalOnly: z.boolean().default(false).describe('decision events marked isFinal only, counted from servedOn'),
  sourceUrl: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .nullable()
    .optional(),
  verifiedOn: IsoDate.nullable().optional().describe('when a person last checked the rule against its source'),
  verifiedBy: z.string().trim().max(200).nullable().optional(),
  active: z.boolean().default(true),
};
export const CreateRuleBody = z.strictObject(ruleFields);
/**
 * Every field but the key, each optional; a field left out keeps its stored value (defaults apply to creation
 * only: an edit of the offset must not reactivate a deactivated rule or reset its anchor).
 */
export const UpdateRuleBody = CreateRuleBody.omit({
  key: true,
  anchor: true,
  active: true,
  treaties: true,
  finalOnly: true,
})
  .extend({
    anchor: z.enum(['EVENT', 'TERM_END']),
    active: z.boolean(),
    treaties: z.array(TreatyEnum).max(5),
    finalOnly: z.boolean(),
    pendingDefault: z
      .enum(['ACCEPT', 'KEEP'])
      .describe("a newer shipped text is pending: ACCEPT replaces the admin's version with it, KEEP dismisses it"),
  })
  .partial();
export const ListRulesQuery = z.strictObject({
  stale: z
    .enum(['true', 'false'])
    .optional()
    .describe('true: only rules never verified or verified more than a year ago'),
  ...pageQuery(100, 500),
});
/** The proposed edit of the fields that move dates; a field left out keeps its stored value. */
export const RuleImpactQuery = z.strictObject({
  offsetValue: z.coerce.number().int().min(-3650).max(3650).optional(),
  offsetUnit: ruleFields.offsetUnit.optional(),
  anchor: z.enum(['EVENT', 'TERM_END']).optional(),
  rollPolicy: ruleFields.rollPolicy.optional(),
  timeZone: z.string().max(60).optional(),
  cutoffTime: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/)
    .optional(),
  active: z.enum(['true', 'false']).optional(),
});
export const RuleImpactSchema = z.object({
  ruleId: Uuid,
  openDeadlines: z
    .number()
    .int()
    .describe('open rule-made deadlines of this rule (manually rescheduled ones excluded)'),
  wouldMove: z.number().int(),
  wouldCancel: z.number().int().describe('the edited rule no longer produces them'),
  moves: z
    .array(z.object({ deadlineId: Uuid, caseId: Uuid, from: Timestamp, to: Timestamp, shiftHours: z.number() }))
    .describe('at most 200'),
});
export const RuleSchema = z.object({
  id: Uuid,
  version: z.number().int(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  ...ruleFields,
  timeZone: z.string().nullable(),
  cutoffTime: z.string().nullable(),
  holidayNote: z.string().nullable(),
  sourceUrl: z.string().nullable(),
  verifiedOn: z.string().nullable(),
  verifiedBy: z.string().nullable(),
  adminEdited: z.boolean(),
  pendingDefault: z.unknown().nullable().describe('a newer shipped version the admin has not accepted or dismissed'),
});

export type CreateDeadline = z.infer<typeof CreateDeadlineBody>;
export type UpdateDeadline = z.infer<typeof UpdateDeadlineBody>;
export type MyDeadlinesFilter = z.infer<typeof MyDeadlinesQuery>;
export type CreateRule = z.infer<typeof CreateRuleBody>;
export type UpdateRule = z.infer<typeof UpdateRuleBody>;
export type RuleImpact = z.infer<typeof RuleImpactQuery>;
