import { z } from 'zod';
import { CountryCode, IsoDate, PageQuery, Timestamp, Uuid } from '../../lib/http-schemas.ts';
import { TravelDocumentStatus } from '../../generated/prisma/enums.ts';
import { nextCursorField, pageQuery } from '../../lib/keyset.ts';

// The database enum is the single source of the allowed values.
export const TravelDocumentStatusEnum = z.enum(TravelDocumentStatus);
export const ProfileTag = z.enum([
  'JOURNALIST',
  'ACTIVIST',
  'HUMAN_RIGHTS_DEFENDER',
  'DESERTER',
  'MOBILISATION_REFUSER',
  'LGBTQ',
  'RELIGIOUS_MINORITY',
  'POLITICIAN',
  'LAWYER',
  'ARTIST',
  'OTHER',
]);
export const Contact = z.strictObject({
  kind: z.enum(['PHONE', 'EMAIL', 'TELEGRAM', 'SIGNAL', 'WHATSAPP', 'ADDRESS', 'OTHER']),
  value: z.string().trim().min(1).max(300),
  note: z.string().max(300).optional(),
});

const Citizenship = z
  .union([CountryCode, z.array(CountryCode).min(1).max(5)])
  .transform((v) => (Array.isArray(v) ? [...new Set(v)] : [v]))
  .describe('one code (e.g. "RU") or a list for dual citizens');

export const CreatePersonBody = z.strictObject({
  pseudonym: z.string().trim().min(1).max(100).describe('the name everyone sees; never the legal name'),
  legalName: z.string().trim().min(1).max(300),
  dateOfBirth: IsoDate.optional(),
  citizenship: Citizenship,
  contacts: z.array(Contact).max(20).optional(),
  notes: z.string().max(20000).optional(),
  travelDocumentStatus: TravelDocumentStatusEnum,
  tags: z.array(ProfileTag).max(11).optional(),
});

export const UpdatePersonBody = z
  .strictObject({
    pseudonym: z.string().trim().min(1).max(100).optional(),
    legalName: z.string().trim().min(1).max(300).optional(),
    dateOfBirth: IsoDate.nullable().optional(),
    citizenship: Citizenship.optional(),
    contacts: z.array(Contact).max(20).nullable().optional(),
    notes: z.string().max(20000).nullable().optional(),
    travelDocumentStatus: TravelDocumentStatusEnum.optional(),
    tags: z.array(ProfileTag).max(11).optional(),
    version: z.number().int().positive().optional().describe('alternative to the If-Match header'),
  })
  .refine((b) => Object.keys(b).some((k) => k !== 'version'), 'at least one field is required');

export const PersonSchema = z.object({
  id: Uuid,
  pseudonym: z.string(),
  citizenship: z.array(z.string()),
  travelDocumentStatus: TravelDocumentStatusEnum,
  tags: z.array(z.string()),
  legalDataVisible: z
    .boolean()
    .describe('false when the caller may not see legal data (the fields below are then absent)'),
  version: z
    .number()
    .int()
    .optional()
    .describe('send it back as If-Match when you PATCH (also the ETag of writes); every change adds one'),
  legalName: z.string().optional(),
  dateOfBirth: z.string().nullable().optional(),
  contacts: z.array(Contact).nullable().optional(),
  notes: z.string().nullable().optional(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type PersonDto = z.infer<typeof PersonSchema>;

export const DuplicatesQuery = z.strictObject({
  legalName: z.string().trim().min(1).max(300),
  dateOfBirth: IsoDate.optional(),
  ...pageQuery(50, 100),
});

export const DuplicateSchema = z.object({
  id: Uuid,
  pseudonym: z.string(),
  score: z
    .number()
    .min(0)
    .max(1)
    .describe('1 for the same normalised name, 0.95 for the same name in another script, less for a partial match'),
  sameDateOfBirth: z.boolean().nullable(),
  cases: z.array(z.object({ id: Uuid, reference: z.string(), teamId: Uuid })),
});

export const DuplicatesResponse = z.object({
  items: z.array(DuplicateSchema).describe('matches the caller may see, best first'),
  hiddenMatches: z.number().int().describe('matches in teams the caller may not see: counted, never identified'),
  nextCursor: nextCursorField,
});

export const CreatedPersonSchema = PersonSchema.extend({
  duplicates: z
    .array(DuplicateSchema)
    .describe(
      'likely duplicates the caller may see, best first (at most 50), as GET /v1/people/duplicates gives them for the legal name (the date of birth is not used); never the person just created',
    ),
  hiddenMatches: z.number().int().describe('matches in teams the caller may not see: counted, never identified'),
  askTeam: z.boolean().describe('true when hiddenMatches > 0: POST /v1/people/duplicates/ask-team asks them'),
});
export type CreatedPersonDto = z.infer<typeof CreatedPersonSchema>;

export const ListPeopleQuery = z.strictObject({ ...PageQuery, q: z.string().trim().min(1).max(100).optional() });
