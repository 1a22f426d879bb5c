// Case documents (API contract: Documents). Multipart parsing is registered
// here only, so no other route accepts multipart bodies.
import multipart from '@fastify/multipart';
import pg from 'pg';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppError } from '../../lib/app-error.ts';
import { IdParams, problems } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import { DocumentContent } from './document-content.ts';
import { DocumentStores, PgDocumentStore } from './document-store.ts';
import { DocumentsService } from './documents.service.ts';
import { DocumentUploads } from './documents.upload.ts';
import { DocumentPage, DocumentSchema, ListDocumentsQuery, UploadResponse } from './documents.schemas.ts';

export const documentRoutes: FastifyPluginAsyncZod = async (app) => {
  const maxBytes = app.config.documents.maxBytes;
  // One byte over the limit reaches our own counter, which answers 413 while
  // the upload streams (busboy would otherwise truncate silently at the limit).
  await app.register(multipart, {
    limits: { fileSize: maxBytes + 1, files: 1, fields: 10, fieldSize: 1000, parts: 12, headerPairs: 100 },
  });
  // Uploads hold a connection for as long as the body streams: their own small
  // pool keeps slow uploads from starving the request path's (sessions, access).
  const pool = new pg.Pool({ connectionString: app.config.db.url, max: 4, application_name: 'documents' });
  pool.on('error', (err) => app.log.warn({ error: err.message }, 'idle documents connection lost'));
  // Each row names its store: documents written before DOCUMENTS_STORE changed stay readable.
  const pgStore = new PgDocumentStore(pool);
  const s3 = app.config.documents.s3;
  // The S3 SDK (~20 MB resident) is loaded only when a bucket is configured.
  const s3Module = s3 ? await import('./s3-document-store.ts') : null;
  const s3Store = s3 && s3Module ? new s3Module.S3DocumentStore(s3Module.s3Client(s3), s3.bucket, app.log) : null;
  const sweep = s3Store ? (await import('./s3-orphan-sweep.ts')).scheduleOrphanSweep(app, s3Store, pool) : null;
  app.addHook('onClose', async () => {
    await sweep?.stop();
    s3Store?.client.destroy();
    await pool.end();
  });
  const stores =
    app.config.documents.store === 's3' && s3Store
      ? new DocumentStores(s3Store, [pgStore])
      : new DocumentStores(pgStore, s3Store ? [s3Store] : []);
  const documents = new DocumentsService(app, stores, pool);
  const uploads = new DocumentUploads(app, stores.current, pool);
  const content = new DocumentContent(app, stores, documents);

  app.post('/v1/cases/:id/documents', {
    config: { location: '/v1/documents/:id' },
    schema: {
      tags: ['documents'],
      summary: 'Upload a document (multipart/form-data: file, kind, eventId?, title?, language?, documentDate?)',
      description:
        'Streamed, never buffered whole. The type is decided from the bytes (PDF, JPEG, PNG, HEIC, WebP, DOCX, ODT, ' +
        `TXT; others 415); more than ${maxBytes} bytes answers 413. Images are re-encoded without metadata. ` +
        'Send the text fields before the file part.',
      consumes: ['multipart/form-data'],
      params: IdParams,
      response: { 201: UploadResponse, ...problems(400, 401, 404, 413, 415, 422) },
    },
    handler: async (req, reply) => {
      if (!req.isMultipart()) {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send multipart/form-data with a `file` part.', {
          errors: [{ path: 'headers.content-type', message: 'must be multipart/form-data' }],
        });
      }
      try {
        const doc = await uploads.upload(requireActor(req), req.params.id, req.parts(), req.id);
        return await reply.code(201).send(doc);
      } catch (e) {
        // A refused upload (413, 415, 400) usually leaves body bytes unread: close
        // the connection after the answer instead of keeping a paused socket open.
        reply.header('connection', 'close');
        throw e;
      }
    },
  });

  app.get('/v1/cases/:id/documents', {
    schema: {
      tags: ['documents'],
      summary: "A case's documents, newest first",
      params: IdParams,
      querystring: ListDocumentsQuery,
      response: { 200: DocumentPage, ...problems(400, 401, 404) },
    },
    handler: async (req) => documents.list(requireActor(req), req.params.id, req.query),
  });

  app.get('/v1/documents/:id', {
    schema: {
      tags: ['documents'],
      summary: "A document's metadata (hashes, type, what was stripped)",
      params: IdParams,
      response: { 200: DocumentSchema, ...problems(401, 404) },
    },
    handler: async (req) => documents.get(requireActor(req), req.params.id),
  });

  app.get('/v1/documents/:id/content', {
    // No automatic HEAD: it would run the handler and audit a download that never happened.
    exposeHeadRoute: false,
    schema: {
      tags: ['documents'],
      summary: 'The decrypted file, as an attachment; a single `Range` is honoured (206); every download is audited',
      params: IdParams,
      headers: z.object({ range: z.string().max(200).optional() }),
      response: {
        200: z.any().describe('the file'),
        206: z.any().describe('the requested byte range'),
        ...problems(401, 404, 416, 500),
      },
    },
    handler: async (req, reply) => {
      try {
        const file = await content.open(requireActor(req), req.params.id, req.headers.range, req.id);
        return reply.code(file.status).headers(file.headers).send(file.stream);
      } catch (e) {
        if (e instanceof AppError && e.code === 'RANGE_NOT_SATISFIABLE') {
          const size = /has (\d+) bytes/.exec(e.detail ?? '')?.[1];
          if (size) reply.header('content-range', `bytes */${size}`);
        }
        throw e;
      }
    },
  });

  app.delete('/v1/documents/:id', {
    schema: {
      tags: ['documents'],
      summary: 'Delete a document: its data key is destroyed (crypto-shredding), the audit trail kept',
      params: IdParams,
      response: { 204: z.null(), ...problems(401, 404) },
    },
    handler: async (req, reply) => {
      await documents.remove(requireActor(req), req.params.id, req.id);
      return reply.code(204).send(null);
    },
  });
};
