import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { IdParams, problems, Timestamp, Uuid } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import { AuditService } from './audit.service.ts';

const AuditEntrySchema = z.object({
  id: z.string().describe('entry id (decimal); the list cursor'),
  leafIndex: z.number().int().nullable().describe('position in the Merkle tree log; null until sequenced (seconds)'),
  seq: z
    .number()
    .int()
    .nullable()
    .describe('legacy per-case chain position (entries before the Merkle log); null since'),
  at: Timestamp,
  actorId: Uuid.nullable(),
  action: z.string(),
  entityType: z.string(),
  entityId: z.string().nullable(),
  caseId: Uuid.nullable(),
  requestId: z.string().nullable(),
  changes: z.unknown().describe('changed fields with old/new values; personal fields only named'),
  prevHash: z.string().nullable().describe('legacy chain only'),
  hash: z.string().nullable().describe('legacy chain only'),
});

const Base64 = z.string().describe('base64');
const InclusionProof = z.object({
  leafIndex: z.number().int(),
  treeSize: z.number().int(),
  leafHash: Base64,
  hashes: z.array(Base64),
});
const PublicKey = z.object({
  keyId: z.string(),
  algorithm: z.literal('Ed25519'),
  publicKey: Base64.describe('raw 32-byte Ed25519 key, base64'),
  origin: z.string(),
});

export const auditRoutes: FastifyPluginAsyncZod = async (app) => {
  const audit = new AuditService({ db: app.db, config: app.config, clock: app.clock });

  app.get('/v1/audit', {
    config: { roles: ['ADMIN'] },
    schema: {
      tags: ['audit'],
      summary: 'The audit entries of a case (or global entries without caseId), oldest first',
      querystring: z.strictObject({
        caseId: Uuid.optional(),
        cursor: z.string().max(40).optional().describe('nextCursor of the previous page'),
        afterSeq: z.coerce.number().int().min(0).optional().describe('deprecated: legacy chain position; use cursor'),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      response: {
        200: z.object({
          items: z.array(AuditEntrySchema),
          nextCursor: z.string().nullable(),
          nextAfterSeq: z.number().int().nullable().describe('deprecated'),
        }),
        ...problems(400, 401, 403, 404),
      },
    },
    handler: async (req) => audit.list(req.query),
  });

  app.get('/v1/audit/checkpoint', {
    schema: {
      tags: ['audit'],
      summary:
        'The latest signed checkpoint (C2SP tlog-checkpoint: origin, tree size, root hash, Ed25519 signature line)',
      response: { 200: z.string(), ...problems(401, 404) },
    },
    handler: async (_req, reply) =>
      reply
        .type('text/plain; charset=utf-8')
        .serializer((p: unknown) => String(p))
        .send(await audit.checkpointText()),
  });

  app.get('/v1/audit/public-key', {
    schema: {
      tags: ['audit'],
      summary: 'The key that signs checkpoints',
      response: { 200: PublicKey, ...problems(401) },
    },
    handler: async () => audit.publicKey(),
  });

  app.get('/v1/audit/proof/inclusion', {
    config: { roles: ['ADMIN'] },
    schema: {
      tags: ['audit'],
      summary:
        'Inclusion proof of an entry in a tree size (RFC 9162 §2.1.3); treeSize defaults to the latest checkpoint',
      querystring: z.strictObject({
        entryId: z.string().regex(/^\d{1,19}$/, 'an audit entry id'),
        treeSize: z.coerce.number().int().min(1).optional(),
      }),
      response: { 200: InclusionProof, ...problems(400, 401, 403, 404, 409) },
    },
    handler: async (req) => audit.inclusion(req.query.entryId, req.query.treeSize),
  });

  app.get('/v1/audit/proof/consistency', {
    config: { roles: ['ADMIN'] },
    schema: {
      tags: ['audit'],
      summary: 'Consistency proof between two tree sizes (RFC 9162 §2.1.4)',
      querystring: z.strictObject({ from: z.coerce.number().int().min(1), to: z.coerce.number().int().min(1) }),
      response: {
        200: z.object({ from: z.number().int(), to: z.number().int(), hashes: z.array(Base64) }),
        ...problems(400, 401, 403),
      },
    },
    handler: async (req) => audit.consistency(req.query.from, req.query.to),
  });

  app.get('/v1/cases/:id/custody', {
    schema: {
      tags: ['audit'],
      summary:
        "A case's chain of custody: its audit entries with inclusion proofs against one signed checkpoint, verifiable offline",
      description: 'ADMIN, or a caseworker of the case. Verify with `node scripts/verify-custody.mjs file.json`.',
      params: IdParams,
      response: {
        200: z.object({
          checkpoint: z.string(),
          publicKey: PublicKey,
          entries: z.array(
            z.object({ entry: z.record(z.string(), z.unknown()), leafIndex: z.number().int(), proof: InclusionProof }),
          ),
          pending: z.number().int().describe('entries of the case not yet covered by a signed checkpoint'),
        }),
        ...problems(401, 403, 404, 409),
      },
    },
    handler: async (req) => audit.custody(requireActor(req), req.params.id, req.id),
  });
};
