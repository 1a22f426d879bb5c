import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppError } from '../../lib/app-error.ts';
import { GLOBAL_CHAIN } from './audit.log.ts';
import { iso, problems, Timestamp, Uuid } from '../../lib/http-schemas.ts';

const AuditEntrySchema = z.object({
  seq: z.number().int(),
  at: Timestamp,
  actorId: Uuid.nullable(),
  action: z.string(),
  entityType: z.string(),
  entityId: z.string().nullable(),
  caseId: Uuid.nullable(),
  requestId: z.string().nullable(),
  changes: z.unknown().describe('changed fields with old/new values; personal fields only named'),
  prevHash: z.string(),
  hash: z.string(),
});

export const auditRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/v1/audit', {
    config: { roles: ['ADMIN'] },
    schema: {
      tags: ['audit'],
      summary: 'The audit chain of a case (or the global chain without caseId), oldest first',
      querystring: z.strictObject({
        caseId: Uuid.optional(),
        afterSeq: z.coerce.number().int().min(0).default(0),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      response: { 200: z.object({ items: z.array(AuditEntrySchema), nextAfterSeq: z.number().int().nullable() }), ...problems(400, 401, 403, 404) },
    },
    handler: async (req) => {
      const chain = req.query.caseId ?? GLOBAL_CHAIN;
      if (req.query.caseId && !(await app.db.case.findUnique({ where: { id: req.query.caseId }, select: { id: true } }))) throw new AppError('NOT_FOUND', 'Case not found.');
      const rows = await app.db.auditEntry.findMany({ where: { chain, seq: { gt: req.query.afterSeq } }, orderBy: { seq: 'asc' }, take: req.query.limit + 1 });
      const more = rows.length > req.query.limit;
      const kept = more ? rows.slice(0, req.query.limit) : rows;
      return {
        items: kept.map((r) => ({ seq: r.seq, at: iso(r.at), actorId: r.actorId, action: r.action, entityType: r.entityType, entityId: r.entityId, caseId: r.caseId, requestId: r.requestId, changes: r.changes, prevHash: r.prevHash, hash: r.hash })),
        nextAfterSeq: more ? kept[kept.length - 1].seq : null,
      };
    },
  });
};
