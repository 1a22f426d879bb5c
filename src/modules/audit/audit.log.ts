// The audit log: every write, and every response that reveals decrypted
// personal data, appends one entry in the same transaction as what it records.
//
// Writers only INSERT (no lock, no read of an earlier entry), so audited reads
// and writes never wait for or conflict with each other. Tamper evidence comes
// afterwards: the sequencer (./audit.sequencer.ts, worker role) gives each
// committed entry a leaf index in a Merkle tree log (RFC 9162) and signs
// checkpoints that witnesses keep outside the database.
//
// Entries written before the tree existed carry a per-case hash chain
// (chain, seq, prev_hash, hash); ./legacy-chain.ts still verifies them.
import type { Tx } from '../../db.ts';
import type pg from 'pg';
import { canonicalJson } from '../../lib/canonical-json.ts';
import { rawSql, sql, type SqlFragment } from '../../lib/sql.ts';

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

export function jsonSafe(value: unknown): unknown {
  return value === undefined
    ? null
    : JSON.parse(JSON.stringify(value, (_k, v) => (v instanceof Date ? v.toISOString() : v)));
}

/** Appends one entry: a single INSERT, safe inside or outside a transaction and under any concurrency. */
export async function appendAudit(tx: Tx, input: AuditInput, now: Date = new Date()): Promise<void> {
  await tx.auditEntry.create({
    data: {
      chain: input.caseId ?? GLOBAL_CHAIN,
      at: now,
      actorId: input.actorId,
      action: input.action,
      entityType: input.entityType,
      entityId: input.entityId ?? null,
      caseId: input.caseId ?? null,
      requestId: input.requestId ?? null,
      // Prisma's Json input type has no null member; jsonSafe returns plain JSON or null.
      changes: (jsonSafe(input.changes ?? null) ?? undefined) as object | undefined,
    },
  });
}

/**
 * The same single INSERT on plain pg, for audited reads outside a transaction
 * (the request path's hot reads): no ORM round trip on every reveal; or on a
 * plain-pg transaction's client (document uploads and deletions).
 */
export async function appendAuditSql(
  pool: pg.Pool | pg.PoolClient,
  input: AuditInput,
  now: Date = new Date(),
): Promise<void> {
  const q = sql`INSERT INTO audit_entries (chain, at, actor_id, action, entity_type, entity_id, case_id, request_id, changes)
    VALUES (${input.caseId ?? GLOBAL_CHAIN}, ${now}, ${input.actorId}::uuid, ${input.action}, ${input.entityType},
            ${input.entityId ?? null}, ${input.caseId ?? null}::uuid, ${input.requestId ?? null},
            ${input.changes == null ? null : JSON.stringify(jsonSafe(input.changes))}::jsonb)`;
  await pool.query(q.text, q.values);
}

/**
 * An INSERT of one entry per row of the CTE `source`, for a data-modifying
 * WITH: an audited read and its entry in one statement, one round trip
 * (`entityId`/`caseId` name that CTE's columns). Measured on GET /v1/cases/:id
 * with bench/api.bench.ts: see README (Benchmarks).
 */
export function auditInsertFrom(
  source: string,
  columns: { entityId: string; caseId: string },
  input: Omit<AuditInput, 'entityId' | 'caseId'>,
  now: Date,
): SqlFragment {
  const [from, entityId, caseId] = [source, columns.entityId, columns.caseId].map((c) => {
    if (!/^[a-z_][a-z0-9_]*(\.("[A-Za-z]+"|[a-z_]+))?$/.test(c)) throw new TypeError(`not a column: ${c}`);
    return rawSql(c);
  });
  const changes = input.changes == null ? null : JSON.stringify(jsonSafe(input.changes));
  return sql`INSERT INTO audit_entries (chain, at, actor_id, action, entity_type, entity_id, case_id, request_id, changes)
    SELECT ${caseId}::text, ${now}, ${input.actorId}::uuid, ${input.action}, ${input.entityType},
           ${entityId}::text, ${caseId}, ${input.requestId ?? null}, ${changes}::jsonb
      FROM ${from}`;
}

/** The fields of an entry that its leaf commits to, as stored. */
export type LeafSource = {
  id: bigint | string;
  at: Date;
  actorId: string | null;
  action: string;
  entityType: string;
  entityId: string | null;
  caseId: string | null;
  requestId: string | null;
  changes: unknown;
};

/**
 * The entry as a leaf commits to it: what a custody file carries and what an
 * outside verifier hashes (SHA-256(0x00 ‖ canonical JSON), RFC 9162 §2.1.1).
 */
export function leafEntry(r: LeafSource) {
  return {
    v: 1,
    id: r.id.toString(),
    at: r.at.toISOString(),
    actorId: r.actorId,
    action: r.action,
    entityType: r.entityType,
    entityId: r.entityId,
    caseId: r.caseId,
    requestId: r.requestId,
    changes: r.changes ?? null,
  };
}

export function leafData(r: LeafSource): Buffer {
  return Buffer.from(canonicalJson(leafEntry(r)), 'utf8');
}

/**
 * Field-level diff for the audit log. Fields listed in `personal` are named
 * but their values never enter the log.
 */
export function diffChanges(before: object | null, after: object, personal: readonly string[] = []): AuditChanges {
  const out: AuditChanges = {};
  for (const [key, next] of Object.entries(after)) {
    if (next === undefined) continue;
    const prev: unknown = before ? Reflect.get(before, key) : undefined;
    if (canonicalJson(jsonSafe(prev)) === canonicalJson(jsonSafe(next))) continue;
    out[key] = personal.includes(key)
      ? { personal: true }
      : { old: before ? jsonSafe(prev) : undefined, new: jsonSafe(next) };
  }
  return out;
}
