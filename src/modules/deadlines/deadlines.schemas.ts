import { z } from 'zod';
import { Instant, IsoDate, Timestamp, Uuid } from '../../lib/http-schemas.ts';
import { DeadlineKind, DeadlineStatus, EventType } from '../../generated/prisma/enums.ts';

// From the generated enums, not cases.schemas (which imports this file).
const EventTypeEnum = z.enum(EventType);
export const DeadlineKindEnum = z.enum(DeadlineKind);
export const DeadlineStatusEnum = z.enum(DeadlineStatus);

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
  })
  .refine((b) => !(b.dueAt && b.dueDate), { message: 'give at most one of dueAt or dueDate', path: ['dueAt'] })
  .refine((b) => Object.keys(b).length > 0, 'at least one field is required');

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
  manualOverride: z.boolean(),
  assigneeId: Uuid.nullable(),
  version: z.number().int(),
  completedAt: Timestamp.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const MyDeadlinesQuery = z.strictObject({
  from: Instant.optional(),
  to: Instant.optional(),
  status: z
    .string()
    .regex(/^(OPEN|DONE|MISSED|CANCELLED)(,(OPEN|DONE|MISSED|CANCELLED))*$/, 'comma-separated statuses')
    .optional()
    .describe('default OPEN,MISSED'),
  limit: z.coerce.number().int().min(1).max(500).default(200),
});

const ruleFields = {
  key: z.string().regex(/^[a-z0-9_-]{3,80}$/, 'lowercase letters, digits, - and _'),
  jurisdiction: z.string().regex(/^([A-Z]{2}|ECHR|INTERPOL|CIS|\*)$/, 'ISO country, ECHR, INTERPOL, CIS or *'),
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
  active: z.boolean().default(true),
};
export const CreateRuleBody = z.strictObject(ruleFields);
/**
 * Every field but the key, each optional; a field left out keeps its stored value (defaults apply to creation
 * only: an edit of the offset must not reactivate a deactivated rule or reset its anchor).
 */
export const UpdateRuleBody = CreateRuleBody.omit({ key: true, anchor: true, active: true })
  .extend({ anchor: z.enum(['EVENT', 'TERM_END']), active: z.boolean() })
  .partial();
export const RuleSchema = z.object({
  id: Uuid,
  version: z.number().int(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  ...ruleFields,
  timeZone: z.string().nullable(),
  cutoffTime: z.string().nullable(),
  holidayNote: z.string().nullable(),
});

export type CreateDeadline = z.infer<typeof CreateDeadlineBody>;
export type UpdateDeadline = z.infer<typeof UpdateDeadlineBody>;
export type MyDeadlinesFilter = z.infer<typeof MyDeadlinesQuery>;
export type CreateRule = z.infer<typeof CreateRuleBody>;
export type UpdateRule = z.infer<typeof UpdateRuleBody>;
