// Upload: the multipart body is read as a stream and never held whole. Bytes
// flow source → size limit and original hash → type check and metadata
// stripping → 64 KiB chunks → AES-256-GCM → INSERT, all inside one
// transaction on one connection: the document row, its chunks and its audit
// entry commit together or not at all (with the bucket store: the object is
// written before the row commits and deleted on rollback). Memory stays at a
// few chunks (images and PDFs excepted: they are parsed whole to be rewritten).
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Multipart } from '@fastify/multipart';
import type pg from 'pg';
import { AppError, fieldError } from '../../lib/app-error.ts';
import type { Actor } from '../../plugins/auth.ts';
import { appendAuditSql } from '../audit/audit.log.ts';
import { inspectContent, type ContentReport } from './content-safety.ts';
import { CHUNK_SIZE, DocumentKey } from './document-crypto.ts';
import type { ChunkWriter, DocumentStore, SealedChunk } from './document-store.ts';
import { authoriseDocuments } from './documents.access.ts';
import { UploadFields } from './documents.schemas.ts';
import { DOCUMENT_COLUMNS, toDocumentDto, type DocumentRow } from './documents.dto.ts';

type Suggestion = { code: string; field: string; message: string };
/** Document kinds whose appeal term runs from the day they were served. */
const SERVICE_STARTS_TERMS = new Set(['COURT_DECISION', 'DETENTION_ORDER']);

type StoredBody = ContentReport & { size: number; sha256: string; chunkCount: number; manifestMac: string };

/** Cuts the body into CHUNK_SIZE chunks, seals each and hands it to the store. */
async function sealInto(
  body: AsyncIterable<Buffer>,
  key: DocumentKey,
  write: (idx: number, sealed: SealedChunk) => Promise<void>,
  hashed: boolean,
) {
  // Not hashed again when the body is the upload itself: its hash is the original's.
  const hash = hashed ? createHash('sha256') : null;
  const tags: Buffer[] = [];
  // The pieces of the chunk being gathered: views into what the body yielded, never joined by a copy.
  let carry: Buffer[] = [];
  let carryLength = 0;
  let size = 0;
  const emit = async (plain: readonly Buffer[], last: boolean) => {
    const sealed = key.seal(tags.length, last, plain);
    tags.push(sealed[sealed.length - 1]);
    await write(tags.length - 1, sealed);
  };
  for await (const piece of body) {
    hash?.update(piece);
    size += piece.length;
    let rest = piece;
    // Strictly more than a chunk: the chunk cut now is known not to be the last.
    while (carryLength + rest.length > CHUNK_SIZE) {
      const take = CHUNK_SIZE - carryLength;
      if (take) carry.push(rest.subarray(0, take));
      await emit(carry, false);
      carry = [];
      carryLength = 0;
      rest = rest.subarray(take);
    }
    if (rest.length) {
      carry.push(rest);
      carryLength += rest.length;
    }
  }
  await emit(carry, true);
  return { size, sha256: hash?.digest('hex'), chunkCount: tags.length, manifestMac: key.manifestMac(tags) };
}

export class DocumentUploads {
  constructor(
    private readonly app: FastifyInstance,
    private readonly store: DocumentStore,
    private readonly pool: pg.Pool,
  ) {}

  private async storeBody(writer: ChunkWriter, key: DocumentKey, file: AsyncIterable<Buffer>) {
    const content = await inspectContent(file, this.app.config.documents.maxBytes);
    const sealed = await sealInto(content.body, key, (idx, body) => writer.put(idx, body), !content.unchanged);
    await writer.flush();
    const report = content.report();
    return { ...report, ...sealed, sha256: sealed.sha256 ?? report.originalSha256 } satisfies StoredBody;
  }

  private parseFields(fields: Record<string, string>) {
    const parsed = UploadFields.strict().safeParse(fields);
    if (parsed.success) return parsed.data;
    const errors = parsed.error.issues.map((i) => ({
      path: `body.${i.path.join('.') || (i.code === 'unrecognized_keys' ? i.keys.join(',') : '')}`,
      message: i.message,
    }));
    throw new AppError('VALIDATION', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
  }

  async upload(actor: Actor, caseId: string, parts: AsyncIterable<Multipart>, requestId: string) {
    await authoriseDocuments(this.app.sqlPool, actor, caseId, 'edit');
    const id = randomUUID();
    const { key, wrapped } = DocumentKey.generate(id, this.app.crypto);
    const tx = await this.pool.connect();
    // A bucket store writes outside the transaction: its object is removed again on rollback.
    const writer = this.store.writer(tx, id);
    let broken = false;
    try {
      await tx.query('BEGIN');
      const fields: Record<string, string> = {};
      let stored: StoredBody | null = null;
      for await (const part of parts) {
        if (part.type === 'field') {
          fields[part.fieldname] = String(part.value);
          continue;
        }
        if (part.fieldname !== 'file' || stored) {
          part.file.resume();
          throw fieldError(part.fieldname, 'one file only, in the field "file"');
        }
        stored = await this.storeBody(writer, key, part.file);
      }
      if (!stored) throw fieldError('file', 'required');
      const input = this.parseFields(fields);
      const suggestions: Suggestion[] = [];
      if (input.eventId) {
        const { rows: events } = await tx.query<{ unserved: boolean }>(
          'SELECT served_on IS NULL AS unserved FROM events WHERE id = $1::uuid AND case_id = $2::uuid',
          [input.eventId, caseId],
        );
        if (!events.length) throw fieldError('body.eventId', 'no such event in this case');
        // Appeal terms run from service, not from the decision's date: a
        // decision or detention order filed without it leaves the deadline
        // computed from the wrong day (or not at all).
        if (events[0].unserved && SERVICE_STARTS_TERMS.has(input.kind)) {
          suggestions.push({
            code: 'SET_SERVED_ON',
            field: 'servedOn',
            message: `Set servedOn on event ${input.eventId} (PATCH /v1/events/${input.eventId}): appeal terms run from the day the ${input.kind === 'COURT_DECISION' ? 'decision' : 'order'} was served.`,
          });
        }
      }
      const now = this.app.clock();
      const { rows } = await tx.query<DocumentRow>(
        `INSERT INTO documents (id, case_id, event_id, kind, title, language, document_date, media_type, size, sha256,
           original_sha256, original_size, metadata_stripped, metadata_findings, storage, chunk_size, chunk_count,
           wrapped_key, manifest_mac, uploaded_by_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
         RETURNING ${DOCUMENT_COLUMNS}`,
        [
          id,
          caseId,
          input.eventId ?? null,
          input.kind,
          input.title ?? null,
          input.language ?? null,
          input.documentDate ?? null,
          stored.mediaType,
          stored.size,
          stored.sha256,
          stored.originalSha256,
          stored.originalSize,
          stored.metadataStripped,
          stored.metadataFindings,
          this.store.name,
          CHUNK_SIZE,
          stored.chunkCount,
          wrapped,
          stored.manifestMac,
          actor.userId,
          now,
        ],
      );
      // Chain of custody: the hashes of what was received and what was kept.
      await appendAuditSql(
        tx,
        {
          actorId: actor.userId,
          action: 'document.upload',
          entityType: 'document',
          entityId: id,
          caseId,
          requestId,
          changes: {
            sha256: stored.sha256,
            originalSha256: stored.originalSha256,
            size: stored.size,
            originalSize: stored.originalSize,
            mediaType: stored.mediaType,
            kind: input.kind,
            eventId: input.eventId ?? null,
            metadataStripped: stored.metadataStripped,
            metadataFindings: stored.metadataFindings,
          },
        },
        now,
      );
      await tx.query('COMMIT');
      return { ...toDocumentDto(rows[0]), suggestions };
    } catch (e) {
      // The writer stops first: a COPY still open must end before the connection can take the ROLLBACK.
      await writer.abort().catch((err: unknown) => {
        broken = true;
        this.app.log.warn({ error: String(err) }, 'upload not undone');
      });
      await tx.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw e;
    } finally {
      // A connection left in an unknown state is closed, not given back to the pool.
      tx.release(broken || undefined);
    }
  }
}
