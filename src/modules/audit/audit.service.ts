// Reading the audit log: lists, the latest signed checkpoint, proofs, and a
// case's custody file (its entries with inclusion proofs against one signed
// checkpoint, verifiable offline with scripts/verify-custody.mjs).
import type { AppConfig } from '../../config.ts';
import type { Db } from '../../db.ts';
import { AppError } from '../../lib/app-error.ts';
import { iso } from '../../lib/http-schemas.ts';
import { authoriseCase } from '../../plugins/access.ts';
import type { Actor } from '../../plugins/auth.ts';
import { appendAudit, GLOBAL_CHAIN, leafEntry } from './audit.log.ts';
import { auditPublicKey } from './audit.keys.ts';
import { consistencyProof, inclusionProof, inclusionProofs, leafHashAt, treeSize } from './audit.tree.ts';

type Deps = { db: Db; config: AppConfig; clock: () => Date };

const b64 = (b: Buffer) => b.toString('base64');

export class AuditService {
  constructor(private readonly deps: Deps) {}

  async list(q: { caseId?: string; cursor?: string; afterSeq?: number; limit: number }) {
    const { db } = this.deps;
    if (q.caseId && !(await db.case.findUnique({ where: { id: q.caseId }, select: { id: true } }))) {
      throw new AppError('NOT_FOUND', 'Case not found.');
    }
    const chain = q.caseId ?? GLOBAL_CHAIN;
    let after: bigint | null = null;
    if (q.cursor !== undefined) {
      if (!/^\d{1,19}$/.test(q.cursor)) {
        throw new AppError('VALIDATION', 'cursor: malformed', {
          errors: [{ path: 'querystring.cursor', message: 'malformed cursor' }],
        });
      }
      after = BigInt(q.cursor);
    }
    const rows = await db.auditEntry.findMany({
      where: {
        chain,
        ...(after !== null ? { id: { gt: after } } : {}),
        // afterSeq (deprecated) counts legacy chain positions only.
        ...(q.afterSeq ? { OR: [{ seq: { gt: q.afterSeq } }, { seq: null }] } : {}),
      },
      orderBy: { id: 'asc' },
      take: q.limit + 1,
    });
    const more = rows.length > q.limit;
    const kept = more ? rows.slice(0, q.limit) : rows;
    const last = kept[kept.length - 1];
    return {
      items: kept.map((r) => ({
        id: r.id.toString(),
        leafIndex: r.leafIndex === null ? null : Number(r.leafIndex),
        seq: r.seq,
        at: iso(r.at),
        actorId: r.actorId,
        action: r.action,
        entityType: r.entityType,
        entityId: r.entityId,
        caseId: r.caseId,
        requestId: r.requestId,
        changes: r.changes,
        prevHash: r.prevHash,
        hash: r.hash,
      })),
      nextCursor: more ? last.id.toString() : null,
      nextAfterSeq: more && last.seq !== null ? last.seq : null,
    };
  }

  async latestCheckpoint(): Promise<{ treeSize: number; rootHash: Buffer; note: string } | null> {
    const row = await this.deps.db.auditCheckpoint.findFirst({ orderBy: { treeSize: 'desc' } });
    return row ? { treeSize: Number(row.treeSize), rootHash: Buffer.from(row.rootHash), note: row.note } : null;
  }

  async checkpointText(): Promise<string> {
    const cp = await this.latestCheckpoint();
    if (!cp) {
      throw new AppError(
        'NOT_FOUND',
        'No checkpoint has been signed yet; the worker role signs one within seconds of the first entries.',
      );
    }
    return cp.note;
  }

  publicKey() {
    return auditPublicKey(this.deps.config);
  }

  /** treeSize defaults to the latest signed checkpoint, the size a verifier can check the root of. */
  private async resolveSize(requested: number | undefined, path: string): Promise<number> {
    const size = await treeSize(this.deps.db);
    if (requested === undefined) {
      const cp = await this.latestCheckpoint();
      if (!cp) throw new AppError('CONFLICT', 'No checkpoint has been signed yet.');
      return cp.treeSize;
    }
    if (requested < 1 || requested > size) {
      throw new AppError('VALIDATION', `${path}: the tree has ${size} leaves`, {
        errors: [{ path, message: `must be between 1 and ${size}` }],
      });
    }
    return requested;
  }

  async inclusion(entryId: string, requestedSize: number | undefined) {
    const entry = /^\d{1,19}$/.test(entryId)
      ? await this.deps.db.auditEntry.findUnique({ where: { id: BigInt(entryId) }, select: { leafIndex: true } })
      : null;
    if (!entry) throw new AppError('NOT_FOUND', 'Audit entry not found.');
    if (entry.leafIndex === null) {
      throw new AppError('CONFLICT', 'The entry is not sequenced yet; try again in a few seconds.');
    }
    const size = await this.resolveSize(requestedSize, 'querystring.treeSize');
    const leafIndex = Number(entry.leafIndex);
    if (leafIndex >= size) {
      throw new AppError(
        'CONFLICT',
        `The entry is leaf ${leafIndex}, outside a tree of ${size}; ask for a larger treeSize.`,
      );
    }
    const [hashes, leaf] = await Promise.all([
      inclusionProof(this.deps.db, leafIndex, size),
      leafHashAt(this.deps.db, leafIndex),
    ]);
    return { leafIndex, treeSize: size, leafHash: b64(leaf!), hashes: hashes.map(b64) };
  }

  async consistency(from: number, to: number) {
    const size = await treeSize(this.deps.db);
    if (to > size) {
      throw new AppError('VALIDATION', `to: the tree has ${size} leaves`, {
        errors: [{ path: 'querystring.to', message: `must be at most ${size}` }],
      });
    }
    if (from < 1 || from > to) {
      throw new AppError('VALIDATION', 'from: must be between 1 and to', {
        errors: [{ path: 'querystring.from', message: 'must be between 1 and `to`' }],
      });
    }
    return { from, to, hashes: (await consistencyProof(this.deps.db, from, to)).map(b64) };
  }

  /** ADMIN, or a caseworker of the case's team; others 404 (or 403 when they see the case). */
  async custody(actor: Actor, caseId: string, requestId: string) {
    const { db } = this.deps;
    await authoriseCase(db, actor, caseId, 'see');
    if (actor.role !== 'ADMIN' && actor.role !== 'CASEWORKER') {
      throw new AppError('FORBIDDEN', "Only admins and the case's caseworkers may export its chain of custody.");
    }
    const cp = await this.latestCheckpoint();
    if (!cp) throw new AppError('CONFLICT', 'No checkpoint has been signed yet; try again in a few seconds.');
    const rows = await db.auditEntry.findMany({
      where: { chain: caseId, leafIndex: { not: null, lt: cp.treeSize } },
      orderBy: { leafIndex: 'asc' },
    });
    const proofs = await inclusionProofs(
      db,
      rows.map((r) => Number(r.leafIndex)),
      cp.treeSize,
    );
    const pending = await db.auditEntry.count({
      where: { chain: caseId, OR: [{ leafIndex: null }, { leafIndex: { gte: cp.treeSize } }] },
    });
    // Exporting evidence is itself recorded (after the file is assembled, so the export does not list itself).
    await appendAudit(
      db,
      {
        actorId: actor.userId,
        action: 'case.custody_export',
        entityType: 'case',
        entityId: caseId,
        caseId,
        requestId,
        changes: { treeSize: cp.treeSize, entries: rows.length },
      },
      this.deps.clock(),
    );
    return {
      checkpoint: cp.note,
      publicKey: this.publicKey(),
      entries: rows.map((r) => {
        const leafIndex = Number(r.leafIndex);
        // Present by construction: inclusionProofs answered for every index it was given.
        const p = proofs.get(leafIndex)!;
        return {
          entry: leafEntry(r),
          leafIndex,
          proof: { leafIndex, treeSize: cp.treeSize, leafHash: b64(p.leafHash), hashes: p.hashes.map(b64) },
        };
      }),
      pending,
    };
  }
}
