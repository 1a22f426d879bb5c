import { z } from 'zod';
import { IsoDate, PageQuery, Timestamp, Uuid } from '../../lib/http-schemas.ts';

export const DOCUMENT_KINDS = [
  'DETENTION_ORDER',
  'COURT_DECISION',
  'EXTRADITION_REQUEST',
  'INTERPOL_NOTICE',
  'ASYLUM_DECISION',
  'POWER_OF_ATTORNEY',
  'MEDICAL',
  'PHOTO',
  'CORRESPONDENCE',
  'OTHER',
] as const;
export const DocumentKindEnum = z.enum(DOCUMENT_KINDS);

/** The text fields of an upload (multipart form fields beside `file`). */
export const UploadFields = z.object({
  kind: DocumentKindEnum,
  eventId: Uuid.optional().describe('the event this document proves (same case)'),
  title: z.string().trim().min(1).max(300).optional(),
  language: z
    .string()
    .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a BCP 47 language tag, e.g. ru or ka')
    .optional(),
  documentDate: IsoDate.optional().describe('the date the document bears'),
});
export type UploadFieldsInput = z.infer<typeof UploadFields>;

export const DocumentSchema = z
  .object({
    id: Uuid,
    caseId: Uuid,
    eventId: Uuid.nullable(),
    kind: DocumentKindEnum,
    title: z.string().nullable(),
    language: z.string().nullable(),
    documentDate: IsoDate.nullable(),
    mediaType: z.string().describe('decided from the bytes, never from the file name'),
    size: z.number().int().describe('bytes stored (after metadata stripping)'),
    sha256: z.string().describe('SHA-256 (hex) of the stored file: what downloads return'),
    originalSha256: z.string().describe('SHA-256 (hex) of the file as uploaded, before stripping'),
    originalSize: z.number().int(),
    metadataStripped: z
      .boolean()
      .describe('true when the file was rewritten without its metadata (images re-encoded, PDF info and XMP removed)'),
    metadataFindings: z
      .array(z.string())
      .describe(
        'by name only, never values: with metadataStripped, what was removed (e.g. pdf:Author, pdf:XMP); ' +
          'without, what was left in place and why (e.g. pdf:encrypted, heic:not-re-encoded)',
      ),
    uploadedById: Uuid,
    createdAt: Timestamp,
  })
  .describe('A case document; its body is at /v1/documents/{id}/content');

export const SuggestionSchema = z.object({
  code: z.string(),
  field: z.string(),
  message: z.string(),
});

export const UploadResponse = DocumentSchema.extend({
  suggestions: z.array(SuggestionSchema).describe('follow-ups the upload prompts, e.g. to set an event field'),
});

export const ListDocumentsQuery = z.object({
  kind: DocumentKindEnum.optional(),
  eventId: Uuid.optional(),
  q: z.string().trim().min(1).max(200).optional().describe('words in the title (the body is never indexed)'),
  from: IsoDate.optional().describe('uploaded on or after this date (UTC)'),
  to: IsoDate.optional().describe('uploaded on or before this date (UTC)'),
  documentFrom: IsoDate.optional().describe('documentDate on or after this date (documents without one are left out)'),
  documentTo: IsoDate.optional().describe('documentDate on or before this date (documents without one are left out)'),
  ...PageQuery,
});

export const DocumentPage = z.object({ items: z.array(DocumentSchema), nextCursor: z.string().nullable() });
