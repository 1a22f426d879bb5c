import { z } from 'zod';
import { CountryCode, Instant, IsoDate, PageQuery, Timestamp, Uuid } from '../../lib/http-schemas.ts';
import { PersonSchema } from '../people/people.schemas.ts';
import { DocumentSchema } from '../documents/documents.schemas.ts';
import { DeadlineSchema, TreatyEnum } from '../deadlines/deadlines.schemas.ts';
// The database enums are the single source of allowed values (the API contract lists the same).
import {
  AssignmentRole,
  CaseStatus,
  ChargeCategory,
  ChargeStatus,
  DatePrecision,
  EventType,
  PoliticalMotivation,
  RiskLevel,
  Verification,
  WantedMechanism,
} from '../../generated/prisma/enums.ts';

export const CaseStatusEnum = z.enum(CaseStatus);
export const RiskLevelEnum = z.enum(RiskLevel);

export const CreateCaseBody = z.strictObject({
  personId: Uuid,
  teamId: Uuid,
  hostCountry: CountryCode,
  summary: z.string().trim().max(5000).optional(),
  riskLevel: RiskLevelEnum.optional(),
  status: CaseStatusEnum.optional(),
});

export const UpdateCaseBody = z
  .strictObject({
    hostCountry: CountryCode.optional(),
    status: CaseStatusEnum.optional(),
    riskLevel: RiskLevelEnum.optional(),
    summary: z.string().trim().max(5000).nullable().optional(),
    version: z.number().int().positive().optional().describe('alternative to the If-Match header'),
  })
  .refine((b) => Object.keys(b).some((k) => k !== 'version'), 'at least one field is required');

export const CaseSchema = z.object({
  id: Uuid,
  reference: z.string().describe('human reference, e.g. ARK-2026-000123'),
  personId: Uuid,
  teamId: Uuid,
  hostCountry: z.string(),
  status: CaseStatusEnum,
  riskLevel: RiskLevelEnum,
  summary: z.string().nullable(),
  version: z.number().int(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  person: PersonSchema.optional(),
});
export type CaseDto = z.infer<typeof CaseSchema>;

export const ListCasesQuery = z.strictObject({
  ...PageQuery,
  hostCountry: CountryCode.optional(),
  status: CaseStatusEnum.optional(),
  riskLevel: RiskLevelEnum.optional(),
  assignedTo: Uuid.optional().describe('lawyer user id with a current assignment'),
  teamId: Uuid.optional(),
  q: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .describe('matches the reference or pseudonym (part of it), or whole words of the summary'),
});

export const ChargeCategoryEnum = z.enum(ChargeCategory);
export const MechanismEnum = z.enum(WantedMechanism);
export const ChargeStatusEnum = z.enum(ChargeStatus);
export const PoliticalMotivationEnum = z.enum(PoliticalMotivation);

const chargeFields = {
  issuingCountry: CountryCode,
  code: z.string().trim().min(1).max(40).describe('legal code, e.g. RU-CC'),
  article: z.string().trim().min(1).max(40).describe('article, e.g. 207.3'),
  category: ChargeCategoryEnum,
  mechanism: MechanismEnum,
  status: ChargeStatusEnum,
  filedOn: IsoDate.nullable().optional(),
  politicalMotivation: PoliticalMotivationEnum.nullable().optional(),
  treaty: TreatyEnum.nullable()
    .optional()
    .describe(
      'legal basis of the extradition request: decides which custody terms apply (ECE 18/40 days, Minsk 40 days)',
    ),
};
export const CreateChargeBody = z.strictObject(chargeFields);
export const UpdateChargeBody = z
  .strictObject({
    ...Object.fromEntries(Object.entries(chargeFields).map(([k, v]) => [k, v.optional()])),
    version: z.number().int().positive().optional(),
  } as { [K in keyof typeof chargeFields]: z.ZodOptional<(typeof chargeFields)[K]> } & {
    version: z.ZodOptional<z.ZodNumber>;
  })
  .refine((b) => Object.keys(b).some((k) => k !== 'version'), 'at least one field is required');

export const ChargeSchema = z.object({
  id: Uuid,
  caseId: Uuid,
  issuingCountry: z.string(),
  code: z.string(),
  article: z.string(),
  category: ChargeCategoryEnum,
  mechanism: MechanismEnum,
  status: ChargeStatusEnum,
  filedOn: z.string().nullable(),
  politicalMotivation: PoliticalMotivationEnum.nullable(),
  treaty: TreatyEnum.nullable(),
  version: z.number().int(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const EventTypeEnum = z.enum(EventType);
export const PrecisionEnum = z.enum(DatePrecision);
export const VerificationEnum = z.enum(Verification);

const eventFields = {
  type: EventTypeEnum,
  country: CountryCode,
  occurredAt: z.union([Instant, IsoDate]).describe('instant with offset, or a calendar date'),
  occurredAtPrecision: PrecisionEnum.optional(),
  city: z.string().trim().max(120).nullable().optional(),
  authority: z.string().trim().max(300).nullable().optional(),
  legalBasis: z.string().trim().max(500).nullable().optional(),
  outcome: z.string().trim().max(500).nullable().optional(),
  sourceUrls: z
    .array(z.url({ protocol: /^https?$/ }).max(2000))
    .max(20)
    .optional(),
  details: z.string().max(20000).nullable().optional().describe('free text, encrypted at rest'),
  termDays: z.number().int().positive().max(3650).nullable().optional().describe('term the court set, for detentions'),
  isFinal: z
    .boolean()
    .nullable()
    .optional()
    .describe('decision events: no ordinary remedy is left (the ECHR four months run from final decisions only)'),
  servedOn: IsoDate.nullable().optional().describe('decision events: the day the decision was served or became known'),
  verification: VerificationEnum.optional(),
};
export const CreateEventBody = z.strictObject(eventFields);
export const UpdateEventBody = z
  .strictObject({
    ...Object.fromEntries(Object.entries(eventFields).map(([k, v]) => [k, v.optional()])),
    version: z.number().int().positive().optional(),
  } as { [K in keyof typeof eventFields]: z.ZodOptional<(typeof eventFields)[K]> } & {
    version: z.ZodOptional<z.ZodNumber>;
  })
  .refine((b) => Object.keys(b).some((k) => k !== 'version'), 'at least one field is required');

export const EventSchema = z.object({
  id: Uuid,
  caseId: Uuid,
  type: EventTypeEnum,
  country: z.string(),
  city: z.string().nullable(),
  occurredAt: Timestamp,
  occurredAtPrecision: PrecisionEnum,
  authority: z.string().nullable(),
  legalBasis: z.string().nullable(),
  outcome: z.string().nullable(),
  sourceUrls: z.array(z.string()),
  detailsVisible: z.boolean(),
  details: z.string().nullable().optional(),
  termDays: z.number().int().nullable(),
  isFinal: z.boolean().nullable(),
  servedOn: z.string().nullable(),
  verification: VerificationEnum,
  version: z.number().int(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

/** The 201 of POST /v1/cases/:id/events: the event and the rule-made deadlines it created (often none). */
export const CreatedEventSchema = EventSchema.extend({
  deadlines: z.array(DeadlineSchema).describe('deadlines this event made through the deadline rules, soonest first'),
});

export const AssignmentRoleEnum = z.enum(AssignmentRole);
export const CreateAssignmentBody = z.strictObject({ lawyerId: Uuid, role: AssignmentRoleEnum });
export const AssignmentSchema = z.object({
  id: Uuid,
  caseId: Uuid,
  lawyerId: Uuid,
  lawyerName: z.string(),
  role: AssignmentRoleEnum,
  startedAt: Timestamp,
  endedAt: Timestamp.nullable(),
});

/** An event of a linked case the caller may see: what places it, never its details (the other case's legal record). */
export const RelatedEventSchema = z.object({
  eventId: Uuid,
  caseId: Uuid.describe('the linked case'),
  reference: z.string().describe("the linked case's reference"),
  type: EventTypeEnum,
  country: z.string(),
  occurredAt: Timestamp,
  occurredAtPrecision: PrecisionEnum,
});

export const TimelineItemSchema = z.object({
  kind: z.enum(['charge', 'event', 'assignment_started', 'assignment_ended', 'deadline', 'document', 'related_event']),
  at: Timestamp,
  id: Uuid,
  summary: z.string(),
  // RelatedEventSchema last: it has no `id`, so no other item's data is read as one.
  data: z.union([ChargeSchema, EventSchema, AssignmentSchema, DeadlineSchema, DocumentSchema, RelatedEventSchema]),
});
