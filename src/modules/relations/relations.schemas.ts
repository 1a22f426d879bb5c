import { z } from 'zod';
import { IsoDate, Timestamp, Uuid } from '../../lib/http-schemas.ts';

export const RelationKind = z
  .enum(['SPOUSE', 'PARENT', 'CHILD', 'SIBLING', 'RELATIVE', 'CO_DEFENDANT', 'SAME_ORGANISATION', 'OTHER'])
  .describe(
    'what the other person is to this one (PARENT: the other is the parent); read from the other side, PARENT and CHILD swap',
  );
export const CaseLinkKind = z.enum(['SAME_PROCEEDINGS', 'SAME_REQUEST', 'RELATED']);

export const CreateRelationBody = z
  .strictObject({
    otherPersonId: Uuid,
    kind: RelationKind,
    since: IsoDate.optional(),
    until: IsoDate.optional(),
    note: z.string().trim().min(1).max(2000).optional().describe('free text, encrypted at rest'),
  })
  .refine((b) => !b.since || !b.until || b.since <= b.until, { message: 'until is before since', path: ['until'] });

export const RelationSchema = z.object({
  id: Uuid,
  personId: Uuid.describe('the person this relation is read from'),
  otherPersonId: Uuid,
  otherPseudonym: z.string(),
  kind: RelationKind,
  since: z.string().nullable(),
  until: z.string().nullable(),
  note: z.string().nullable(),
  createdAt: Timestamp,
});

export const CreateCaseLinkBody = z.strictObject({ otherCaseId: Uuid, kind: CaseLinkKind });

export const CaseLinkSchema = z.object({
  id: Uuid,
  caseId: Uuid.describe('the case this link is read from'),
  otherCaseId: Uuid,
  otherReference: z.string(),
  kind: CaseLinkKind,
  createdAt: Timestamp,
});
