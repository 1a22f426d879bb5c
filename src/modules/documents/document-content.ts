// Download: the body decrypted chunk by chunk as it streams, whole or a single
// byte range (RFC 9110 §14). Before the first byte is sent, the data key is
// unwrapped, the chunk manifest is checked (swapped, reordered, truncated or
// foreign chunks fail here) and the first chunk is opened, so a damaged
// document answers a clean 500; a chunk whose body was altered in place is
// found only when it is reached, and then the response is cut off (never
// completed with unauthenticated bytes). Every failure is audited as an
// integrity failure; every download as a download, with the document's hash.
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import type { Actor } from '../../plugins/auth.ts';
import { appendAuditSql } from '../audit/audit.log.ts';
import { CHUNK_SIZE, DocumentKey, IntegrityError } from './document-crypto.ts';
import type { ChunkLayout, DocumentStores } from './document-store.ts';
import type { DocumentRow } from './documents.dto.ts';
import type { DocumentsService } from './documents.service.ts';

/** Chunks fetched before the response starts (1 MiB), and per query after unless the store asks for more. */
const READ_BATCH = 16;

const layout = (doc: DocumentRow): ChunkLayout => ({ id: doc.id, chunkCount: doc.chunkCount, size: Number(doc.size) });

export type ByteRange = { start: number; end: number };

/**
 * One satisfiable byte range, null to send the whole body (no header, or one
 * we do not serve: several ranges, other units), or 'unsatisfiable' (416).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (!m[1] && !m[2])) return null;
  if (!m[1]) {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  if (m[2] && Number(m[2]) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

const EXTENSIONS: Record<string, string> = {
  'application/pdf': 'pdf',
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/heic': 'heic',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.oasis.opendocument.text': 'odt',
};

export type OpenedContent = {
  status: 200 | 206;
  headers: Record<string, string>;
  stream: Readable;
};

export class DocumentContent {
  constructor(
    private readonly app: FastifyInstance,
    private readonly stores: DocumentStores,
    private readonly documents: DocumentsService,
  ) {}

  private async integrityFailure(actor: Actor, doc: DocumentRow, reason: string, requestId: string) {
    this.app.log.error({ documentId: doc.id, reason, requestId }, 'document integrity failure');
    await appendAuditSql(this.app.sqlPool, {
      actorId: actor.userId,
      action: 'document.integrity_failure',
      entityType: 'document',
      entityId: doc.id,
      caseId: doc.caseId,
      requestId,
      changes: { sha256: doc.sha256, reason },
    }).catch((e: unknown) => this.app.log.error({ err: String(e) }, 'integrity failure could not be audited'));
  }

  private async verified(doc: DocumentRow): Promise<DocumentKey> {
    const key = DocumentKey.unwrap(doc.id, doc.wrappedKey ?? '', this.app.crypto);
    const tags = await this.stores.of(doc).tags(layout(doc));
    if (tags.length !== doc.chunkCount || tags.some((t, i) => t.idx !== i)) {
      throw new IntegrityError('chunks missing or out of place');
    }
    key.checkManifest(
      tags.map((t) => t.tag),
      doc.manifestMac,
    );
    return key;
  }

  private async chunk(key: DocumentKey, doc: DocumentRow, from: number, to: number): Promise<Buffer[]> {
    const rows = await this.stores.of(doc).read(layout(doc), from, to);
    if (rows.length !== to - from + 1) throw new IntegrityError('chunks missing');
    return rows.map((r, i) => {
      if (r.idx !== from + i) throw new IntegrityError('chunks out of place');
      return key.open(r.idx, r.idx === doc.chunkCount - 1, r.body);
    });
  }

  async open(actor: Actor, id: string, rangeHeader: string | undefined, requestId: string): Promise<OpenedContent> {
    const doc = await this.documents.loadVisible(actor, id, 'see');
    const size = Number(doc.size);
    const range = parseRange(rangeHeader, size);
    if (range === 'unsatisfiable') {
      throw new AppError('RANGE_NOT_SATISFIABLE', `range: the document has ${size} bytes`, {
        errors: [{ path: 'headers.range', message: `must start below ${size}` }],
      });
    }
    const { start, end } = range ?? { start: 0, end: size - 1 };
    const first = Math.floor(start / CHUNK_SIZE);
    const last = Math.floor(end / CHUNK_SIZE);
    let key: DocumentKey;
    let head: Buffer[];
    try {
      // Offsets below assume this version's chunk size; a body cut otherwise would be served misplaced.
      if (doc.chunkSize !== CHUNK_SIZE) throw new IntegrityError(`chunk size ${doc.chunkSize}, expected ${CHUNK_SIZE}`);
      key = await this.verified(doc);
      head = await this.chunk(key, doc, first, Math.min(last, first + READ_BATCH - 1));
    } catch (e) {
      if (!(e instanceof IntegrityError)) throw e;
      await this.integrityFailure(actor, doc, e.reason, requestId);
      // A generic 500: what failed stays in the log and the audit entry.
      throw new Error('document integrity check failed');
    }
    await appendAuditSql(this.app.sqlPool, {
      actorId: actor.userId,
      action: 'document.download',
      entityType: 'document',
      entityId: doc.id,
      caseId: doc.caseId,
      requestId,
      changes: { sha256: doc.sha256, ...(range ? { range: `${start}-${end}` } : {}) },
    });

    const self = this;
    const store = this.stores.of(doc);
    const batchSize = store.readBatch ?? READ_BATCH;
    /** The chunks after the first batch, one by one, from a stream when the store has one. */
    async function* streamed(from: number) {
      let expected = from;
      for await (const r of store.stream!(layout(doc), from, last)) {
        if (r.idx !== expected) throw new IntegrityError('chunks out of place');
        yield key.open(r.idx, r.idx === doc.chunkCount - 1, r.body);
        expected++;
      }
      if (expected !== last + 1) throw new IntegrityError('chunks missing');
    }
    function* slice(plain: Buffer, idx: number) {
      const offset = idx * CHUNK_SIZE;
      yield plain.subarray(Math.max(start - offset, 0), Math.min(end - offset + 1, plain.length));
    }
    async function* body() {
      if (store.stream) {
        let idx = first;
        for (const plain of head) yield* slice(plain, idx++);
        if (idx <= last) for await (const plain of streamed(idx)) yield* slice(plain, idx++);
        return;
      }
      let idx = first;
      let batch: Buffer[] | null = head;
      while (idx <= last) {
        batch ??= await self.chunk(key, doc, idx, Math.min(last, idx + batchSize - 1));
        // The next batch is fetched while this one is sent.
        const nextFrom: number = idx + batch.length;
        const next: Promise<Buffer[]> | null =
          nextFrom <= last ? self.chunk(key, doc, nextFrom, Math.min(last, nextFrom + batchSize - 1)) : null;
        next?.catch(() => {});
        for (const plain of batch) {
          const offset = idx * CHUNK_SIZE;
          const from = Math.max(start - offset, 0);
          const to = Math.min(end - offset + 1, plain.length);
          yield plain.subarray(from, to);
          idx++;
        }
        batch = next ? await next : null;
      }
    }
    const stream = Readable.from(
      (async function* guarded() {
        try {
          yield* body();
        } catch (e) {
          if (e instanceof IntegrityError) await self.integrityFailure(actor, doc, e.reason, requestId);
          throw e;
        }
      })(),
      { objectMode: false },
    );
    const ext = EXTENSIONS[doc.mediaType] ?? 'txt';
    const headers: Record<string, string> = {
      'content-type': doc.mediaType,
      'content-length': String(end - start + 1),
      // The stored name is never the client's file name: no header injection, no path, no personal data.
      'content-disposition': `attachment; filename="document-${doc.id}.${ext}"`,
      'content-security-policy': "default-src 'none'; sandbox; frame-ancestors 'none'",
      'cross-origin-resource-policy': 'same-origin',
      'accept-ranges': 'bytes',
      etag: `"${doc.sha256}"`,
    };
    if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    return { status: range ? 206 : 200, headers, stream };
  }
}
