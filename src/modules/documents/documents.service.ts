// Documents after upload: metadata, lists, deletion (crypto-shredding). The
// upload lives in ./documents.upload.ts, the body's download in
// ./document-content.ts.
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { z } from 'zod';
import { AppError } from '../../lib/app-error.ts';
import { decodeCursor, encodeCursor, literalContains } from '../../lib/pagination.ts';
import { joinSql, query, rawSql, sql, type SqlFragment } from '../../lib/sql.ts';
import type { Actor } from '../../plugins/auth.ts';
import { appendAuditSql } from '../audit/audit.log.ts';
import type { DocumentStores } from './document-store.ts';
import { authoriseDocuments } from './documents.access.ts';
import { DOCUMENT_COLUMNS, toDocumentDto, type DocumentRow } from './documents.dto.ts';
import type { ListDocumentsQuery } from './documents.schemas.ts';

const NOT_FOUND = 'Document not found.';

export class DocumentsService {
  constructor(
    private readonly app: FastifyInstance,
    private readonly stores: DocumentStores,
    private readonly pool: pg.Pool,
  ) {}

  /**
   * A live document the actor may read (or edit), else 404: deleted, another
   * team's, an unassigned lawyer's or a coordinator's request all look alike.
   */
  async loadVisible(actor: Actor, id: string, mode: 'see' | 'edit'): Promise<DocumentRow> {
    const [row] = await query<DocumentRow>(
      this.app.sqlPool,
      sql`SELECT ${rawSql(DOCUMENT_COLUMNS)} FROM documents WHERE id = ${id}::uuid AND deleted_at IS NULL`,
    );
    if (!row) throw new AppError('NOT_FOUND', NOT_FOUND);
    await authoriseDocuments(this.app.sqlPool, actor, row.caseId, mode, NOT_FOUND);
    return row;
  }

  async get(actor: Actor, id: string) {
    return toDocumentDto(await this.loadVisible(actor, id, 'see'));
  }

  async list(actor: Actor, caseId: string, q: z.infer<typeof ListDocumentsQuery>) {
    await authoriseDocuments(this.app.sqlPool, actor, caseId, 'see');
    const where: SqlFragment[] = [sql`case_id = ${caseId}::uuid`, rawSql('deleted_at IS NULL')];
    if (q.kind) where.push(sql`kind = ${q.kind}::"DocumentKind"`);
    if (q.eventId) where.push(sql`event_id = ${q.eventId}::uuid`);
    if (q.q) where.push(sql`title ILIKE ${`%${literalContains(q.q)}%`}`);
    if (q.from) where.push(sql`created_at >= ${q.from}::date`);
    if (q.to) where.push(sql`created_at < ${q.to}::date + 1`);
    if (q.documentFrom) where.push(sql`document_date >= ${q.documentFrom}::date`);
    if (q.documentTo) where.push(sql`document_date <= ${q.documentTo}::date`);
    const cursor = decodeCursor(q.cursor);
    if (cursor) where.push(sql`(created_at, id) < (${cursor.t}::timestamptz, ${cursor.id}::uuid)`);
    const rows = await query<DocumentRow>(
      this.app.sqlPool,
      sql`SELECT ${rawSql(DOCUMENT_COLUMNS)} FROM documents WHERE ${joinSql(where, ' AND ')}
          ORDER BY created_at DESC, id DESC LIMIT ${q.limit + 1}`,
    );
    const more = rows.length > q.limit;
    const kept = more ? rows.slice(0, q.limit) : rows;
    return { items: kept.map(toDocumentDto), nextCursor: more ? encodeCursor(kept[kept.length - 1]) : null };
  }

  /**
   * Crypto-shredding: the wrapped data key is destroyed first (the row keeps
   * its hashes and the audit trail), then the chunks, in one transaction; a
   * bucket object is deleted once that has committed (if that delete fails,
   * the orphan sweep retries it). Once committed no copy of the key is
   * reachable through the keyring, so chunks surviving elsewhere (dead row
   * versions until VACUUM, backups, a bucket's old versions) are ciphertext
   * nobody can open.
   */
  async remove(actor: Actor, id: string, requestId: string): Promise<void> {
    const doc = await this.loadVisible(actor, id, 'edit');
    const tx = await this.pool.connect();
    try {
      await tx.query('BEGIN');
      const now = this.app.clock();
      const { rowCount } = await tx.query(
        `UPDATE documents SET wrapped_key = NULL, deleted_at = $2, deleted_by_id = $3::uuid
          WHERE id = $1::uuid AND deleted_at IS NULL`,
        [id, now, actor.userId],
      );
      if (!rowCount) throw new AppError('NOT_FOUND', NOT_FOUND);
      await this.stores.of(doc).destroy(tx, id);
      await appendAuditSql(
        tx,
        {
          actorId: actor.userId,
          action: 'document.delete',
          entityType: 'document',
          entityId: id,
          caseId: doc.caseId,
          requestId,
          changes: { sha256: doc.sha256, originalSha256: doc.originalSha256, kind: doc.kind, cryptoShredded: true },
        },
        now,
      );
      await tx.query('COMMIT');
    } catch (e) {
      await tx.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      tx.release();
    }
    await this.stores.of(doc).discard(id);
  }
}
