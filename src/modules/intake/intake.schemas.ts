import { z } from 'zod';
import { CountryCode, IsoDate, PageQuery, Timestamp, Uuid } from '../../lib/http-schemas.ts';
import { EventTypeEnum } from '../cases/cases.schemas.ts';
import { RiskLevelEnum } from '../cases/cases.schemas.ts';
import { DuplicateSchema, TravelDocumentStatusEnum } from '../people/people.schemas.ts';

export const INTAKE_LANGUAGES = ['ru', 'en', 'kk', 'ky', 'hy', 'ka', 'sr', 'tr'] as const;
export const IntakeLanguage = z.enum(INTAKE_LANGUAGES);
export type IntakeLanguageCode = (typeof INTAKE_LANGUAGES)[number];

export const AltchaChallengeSchema = z.object({
  algorithm: z.literal('SHA-256'),
  challenge: z.string().describe('hex SHA-256 of salt + the secret number'),
  maxnumber: z.number().int().describe('the number lies in 0..maxnumber'),
  salt: z.string().describe('random, with its expiry as ?expires=<unix seconds>'),
  signature: z.string().describe('hex HMAC-SHA256 of the challenge under the server key'),
});

const Citizenship = z
  .union([CountryCode, z.array(CountryCode).min(1).max(5)])
  .transform((v) => (Array.isArray(v) ? [...new Set(v)] : [v]));

export const IntakeContent = z.strictObject({
  subject: z.strictObject({
    name: z.string().trim().min(1).max(300).describe('as the reporter writes it, in any script'),
    dateOfBirth: IsoDate.optional(),
    citizenship: Citizenship.optional(),
  }),
  event: z.strictObject({
    type: EventTypeEnum,
    country: CountryCode,
    city: z.string().trim().max(120).optional(),
    occurredOn: IsoDate.optional(),
    description: z.string().trim().min(1).max(10000),
  }),
  reporter: z.strictObject({
    name: z.string().trim().max(200).optional(),
    contact: z.string().trim().min(1).max(300).describe('how to reach the reporter: phone, Signal, Telegram, email'),
  }),
});
export type IntakeContentDto = z.infer<typeof IntakeContent>;

export const SubmitIntakeBody = z.strictObject({
  altcha: z
    .string()
    .min(1)
    .max(2000)
    .describe('base64 of JSON {algorithm, challenge, number, salt, signature}: a solved GET /v1/intake/challenge'),
  language: IntakeLanguage,
  ...IntakeContent.shape,
  consent: z.literal(true).describe('the reporter agrees that the NGO stores and uses the report'),
});

export const ReceiptSchema = z.object({ receipt: z.string().describe('quote it when you contact the NGO') });

export const IntakeStatus = z
  .enum(['NEW', 'ACCEPTED', 'REJECTED', 'EXPIRED'])
  .describe('EXPIRED: not vetted within the retention period, content erased');
export const ListIntakeQuery = z.strictObject({ ...PageQuery, status: IntakeStatus.default('NEW') });

/** The report as stored (output form: citizenship is always a list). */
const StoredContentSchema = z.object({
  subject: z.object({
    name: z.string(),
    dateOfBirth: z.string().optional(),
    citizenship: z.array(z.string()).optional(),
  }),
  event: IntakeContent.shape.event,
  reporter: IntakeContent.shape.reporter,
  consent: z.boolean(),
});

export const IntakeSubmissionSchema = z.object({
  id: Uuid,
  receipt: z.string(),
  status: IntakeStatus,
  country: z.string(),
  language: z.string(),
  createdAt: Timestamp,
  vettedAt: Timestamp.nullable(),
  caseId: Uuid.nullable(),
  content: StoredContentSchema.nullable().describe('decrypted report; null once erased (rejected submissions)'),
  duplicates: z
    .object({
      items: z.array(DuplicateSchema).describe('the best five people the caller may see, across scripts'),
      hiddenMatches: z.number().int().describe('matches in teams the caller may not see: counted, never identified'),
      askTeam: z.boolean().describe('true when hiddenMatches > 0: POST /v1/people/duplicates/ask-team asks them'),
    })
    .nullable()
    .describe(
      'likely duplicates of the reported name (NEW submissions; null otherwise); the date of birth is not used',
    ),
});

export const AcceptIntakeBody = z.strictObject({
  person: z
    .strictObject({
      pseudonym: z.string().trim().min(1).max(100).optional(),
      legalName: z.string().trim().min(1).max(300).optional(),
      dateOfBirth: IsoDate.nullable().optional(),
      citizenship: Citizenship.optional(),
      travelDocumentStatus: TravelDocumentStatusEnum.optional(),
    })
    .optional()
    .describe('pre-filled from the report; any field given here replaces it'),
  case: z.strictObject({
    teamId: Uuid,
    hostCountry: CountryCode.optional().describe("defaults to the reported event's country"),
    riskLevel: RiskLevelEnum.optional(),
  }),
  event: z
    .strictObject({
      type: EventTypeEnum.optional(),
      country: CountryCode.optional(),
      city: z.string().trim().max(120).nullable().optional(),
      occurredAt: IsoDate.optional(),
      details: z.string().max(20000).nullable().optional(),
    })
    .optional(),
});

export const AcceptedSchema = z.object({ personId: Uuid, caseId: Uuid, eventId: Uuid });
export const RejectIntakeBody = z.strictObject({ reason: z.string().trim().min(1).max(2000) });

export const AskTeamBody = z.strictObject({
  legalName: z.string().trim().min(1).max(300),
  dateOfBirth: IsoDate.optional(),
});
export const AskTeamResponse = z.object({
  asked: z.boolean().describe('false when no hidden match (with a case) was found: nobody was notified'),
});
