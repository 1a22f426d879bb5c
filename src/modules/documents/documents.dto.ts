// The documents row as plain SQL reads it, and the DTO that leaves the server.
import type pg from 'pg';
import type { z } from 'zod';
import { query, rawSql, sql, type SqlFragment } from '../../lib/sql.ts';
import type { DocumentSchema } from './documents.schemas.ts';

export type DocumentRow = {
  id: string;
  caseId: string;
  eventId: string | null;
  kind: z.infer<typeof DocumentSchema>['kind'];
  title: string | null;
  language: string | null;
  documentDate: string | null;
  mediaType: string;
  size: string;
  sha256: string;
  originalSha256: string;
  originalSize: string;
  metadataStripped: boolean;
  metadataFindings: string[] | null;
  chunkCount: number;
  /** Plaintext bytes per chunk (the last may be shorter), as written. */
  chunkSize: number;
  storage: string;
  wrappedKey: string | null;
  manifestMac: string;
  uploadedById: string;
  createdAt: Date;
};

/** Column list for SELECT/RETURNING (document_date as text: a calendar date, no time zone games). */
export const DOCUMENT_COLUMNS = `id, case_id AS "caseId", event_id AS "eventId", kind, title, language,
  to_char(document_date, 'YYYY-MM-DD') AS "documentDate", media_type AS "mediaType", size, sha256,
  original_sha256 AS "originalSha256", original_size AS "originalSize", metadata_stripped AS "metadataStripped",
  metadata_findings AS "metadataFindings", chunk_count AS "chunkCount",
  chunk_size AS "chunkSize", storage, wrapped_key AS "wrappedKey",
  manifest_mac AS "manifestMac", uploaded_by_id AS "uploadedById", created_at AS "createdAt"`;

export function toDocumentDto(r: DocumentRow): z.infer<typeof DocumentSchema> {
  return {
    id: r.id,
    caseId: r.caseId,
    eventId: r.eventId,
    kind: r.kind,
    title: r.title,
    language: r.language,
    documentDate: r.documentDate,
    mediaType: r.mediaType,
    size: Number(r.size),
    sha256: r.sha256,
    originalSha256: r.originalSha256,
    originalSize: Number(r.originalSize),
    metadataStripped: r.metadataStripped,
    metadataFindings: r.metadataFindings ?? [],
    uploadedById: r.uploadedById,
    createdAt: r.createdAt.toISOString(),
  };
}

/**
 * A case's live documents for its timeline, oldest first (callers have checked that the viewer may read
 * them): those matching `after` (a condition on created_at and id), at most `limit`.
 */
export async function documentsOfCase(pool: pg.Pool, caseId: string, after: SqlFragment, limit: number) {
  const rows = await query<DocumentRow>(
    pool,
    sql`SELECT ${rawSql(DOCUMENT_COLUMNS)} FROM documents
        WHERE case_id = ${caseId}::uuid AND deleted_at IS NULL AND ${after}
        ORDER BY created_at, id
        LIMIT ${limit}`,
  );
  return rows.map(toDocumentDto);
}
