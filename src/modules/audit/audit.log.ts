// Tamper-evident audit log. Every entry hashes the previous entry of its chain;
// chains are per case (entries without a case share the `global` chain), so
// writers on different cases never wait for each other. Within a chain, a
// transaction-scoped advisory lock serialises appenders, and the entry is
// written in the same transaction as the change it records.
import { createHash } from 'node:crypto';
import type { Db, Tx } from '../../db.ts';
import { canonicalJson } from '../../lib/canonical-json.ts';

export const GENESIS_HASH = '0'.repeat(64);
export const GLOBAL_CHAIN = 'global';

/** Per field: old and new values, or for personal fields only that they changed. */
export type AuditChanges = Record<string, { old?: unknown; new?: unknown; personal?: true }>;

export type AuditInput = {
  actorId: string | null;
  action: string;
  entityType: string;
  entityId?: string | null;
  caseId?: string | null;
  requestId?: string | null;
  changes?: AuditChanges | Record<string, unknown> | null;
};

type HashedFields = {
  chain: string;
  seq: number;
  prevHash: string;
  at: string;
  actorId: string | null;
  action: string;
  entityType: string;
  entityId: string | null;
  caseId: string | null;
  requestId: string | null;
  changes: unknown;
};

export function entryHash(f: HashedFields): string {
  return createHash('sha256').update(canonicalJson(f)).digest('hex');
}

function jsonSafe(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value, (_k, v) => (v instanceof Date ? v.toISOString() : v)));
}

export async function appendAudit(tx: Tx, input: AuditInput, now: Date = new Date()): Promise<void> {
  const chain = input.caseId ?? GLOBAL_CHAIN;
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`audit:${chain}`}, 0))`;
  const last = await tx.auditEntry.findFirst({ where: { chain }, orderBy: { seq: 'desc' }, select: { seq: true, hash: true } });
  const fields: HashedFields = {
    chain,
    seq: (last?.seq ?? 0) + 1,
    prevHash: last?.hash ?? GENESIS_HASH,
    at: new Date(now.getTime()).toISOString(),
    actorId: input.actorId,
    action: input.action,
    entityType: input.entityType,
    entityId: input.entityId ?? null,
    caseId: input.caseId ?? null,
    requestId: input.requestId ?? null,
    changes: jsonSafe(input.changes ?? null),
  };
  await tx.auditEntry.create({
    data: { ...fields, at: new Date(fields.at), hash: entryHash(fields), changes: (fields.changes ?? undefined) as never },
  });
}

/**
 * Field-level diff for the audit log. Fields listed in `personal` are named
 * but their values never enter the log.
 */
export function diffChanges(before: Record<string, unknown> | null, after: Record<string, unknown>, personal: readonly string[] = []): AuditChanges {
  const out: AuditChanges = {};
  for (const [key, next] of Object.entries(after)) {
    if (next === undefined) continue;
    const prev = before ? before[key] : undefined;
    if (canonicalJson(jsonSafe(prev)) === canonicalJson(jsonSafe(next))) continue;
    out[key] = personal.includes(key) ? { personal: true } : { old: before ? jsonSafe(prev) : undefined, new: jsonSafe(next) };
  }
  return out;
}

export type ChainBreak = { chain: string; seq: number; id: string; reason: string };

/** Walks every chain in order; returns the first broken link of each broken chain. */
export async function verifyAuditChains(db: Db, batch = 2000): Promise<{ entries: number; chains: number; breaks: ChainBreak[] }> {
  const breaks: ChainBreak[] = [];
  let entries = 0;
  const chains = new Set<string>();
  let cursor: { chain: string; seq: number } | null = null;
  let current = { chain: '', expectedSeq: 1, prevHash: GENESIS_HASH, broken: false };
  for (;;) {
    const rows: Awaited<ReturnType<typeof db.auditEntry.findMany>> = await db.auditEntry.findMany({
      where: cursor ? { OR: [{ chain: { gt: cursor.chain } }, { chain: cursor.chain, seq: { gt: cursor.seq } }] } : undefined,
      orderBy: [{ chain: 'asc' }, { seq: 'asc' }],
      take: batch,
    });
    if (!rows.length) break;
    for (const r of rows) {
      entries++;
      if (r.chain !== current.chain) current = { chain: r.chain, expectedSeq: 1, prevHash: GENESIS_HASH, broken: false };
      chains.add(r.chain);
      if (current.broken) continue;
      const fields: HashedFields = {
        chain: r.chain,
        seq: r.seq,
        prevHash: r.prevHash,
        at: r.at.toISOString(),
        actorId: r.actorId,
        action: r.action,
        entityType: r.entityType,
        entityId: r.entityId,
        caseId: r.caseId,
        requestId: r.requestId,
        changes: r.changes ?? null,
      };
      let reason: string | null = null;
      if (r.seq !== current.expectedSeq) reason = `expected seq ${current.expectedSeq}, found ${r.seq} (an entry is missing)`;
      else if (r.prevHash !== current.prevHash) reason = 'prev_hash does not match the previous entry';
      else if (entryHash(fields) !== r.hash) reason = 'content does not match its hash (entry altered)';
      if (reason) {
        breaks.push({ chain: r.chain, seq: r.seq, id: r.id.toString(), reason });
        current.broken = true;
        continue;
      }
      current.expectedSeq++;
      current.prevHash = r.hash;
    }
    const lastRow = rows[rows.length - 1];
    cursor = { chain: lastRow.chain, seq: lastRow.seq };
  }
  return { entries, chains: chains.size, breaks };
}
