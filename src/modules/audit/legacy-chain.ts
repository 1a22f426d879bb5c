// The per-case hash chains of entries written before the Merkle tree log
// (migration 20261128104552_audit_transparency_log). Each entry hashed the
// previous one of its chain; the walk below reports the first broken link of
// each chain. Used by `audit:verify` and, once, by the migration that turned
// those entries into the tree's first leaves (a broken chain stops it).
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../lib/canonical-json.ts';
import type { LeafSource } from './audit.log.ts';

export const GENESIS_HASH = '0'.repeat(64);

/** A row written before the Merkle log: the entry's fields plus its chain link. */
export type LegacyRow = Omit<LeafSource, 'id'> & {
  id: string;
  chain: string;
  seq: number;
  prevHash: string;
  hash: string;
};

export type ChainBreak = { chain: string; seq: number; id: string; reason: string };

export function legacyEntryHash(r: Omit<LegacyRow, 'id' | 'hash'>): string {
  const fields = {
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
  return createHash('sha256').update(canonicalJson(fields)).digest('hex');
}

/** SQL that reads legacy rows in chain order, for a keyset walk (`$1` chain, `$2` seq, `$3` limit). */
export const LEGACY_ROWS_SQL = `SELECT id::text AS id, chain, seq, prev_hash AS "prevHash", hash, at, actor_id::text AS "actorId", action,
    entity_type AS "entityType", entity_id AS "entityId", case_id::text AS "caseId", request_id AS "requestId", changes
  FROM audit_entries WHERE seq IS NOT NULL AND (chain, seq) > ($1, $2) ORDER BY chain, seq LIMIT $3`;

type Query = (sql: string, params: unknown[]) => Promise<LegacyRow[]>;

/** Walks every legacy chain in order; returns the first broken link of each broken chain. */
export async function verifyLegacyChains(
  query: Query,
  batch = 2000,
): Promise<{ entries: number; chains: number; breaks: ChainBreak[] }> {
  const breaks: ChainBreak[] = [];
  let entries = 0;
  const chains = new Set<string>();
  let cursor = { chain: '', seq: 0 };
  let current = { chain: '\u0000', expectedSeq: 1, prevHash: GENESIS_HASH, broken: false };
  for (;;) {
    const rows = await query(LEGACY_ROWS_SQL, [cursor.chain, cursor.seq, batch]);
    if (!rows.length) break;
    for (const r of rows) {
      entries++;
      if (r.chain !== current.chain) {
        current = { chain: r.chain, expectedSeq: 1, prevHash: GENESIS_HASH, broken: false };
      }
      chains.add(r.chain);
      if (current.broken) continue;
      let reason: string | null = null;
      if (r.seq !== current.expectedSeq) {
        reason = `expected seq ${current.expectedSeq}, found ${r.seq} (an entry is missing)`;
      } else if (r.prevHash !== current.prevHash) reason = 'prev_hash does not match the previous entry';
      else if (legacyEntryHash(r) !== r.hash) reason = 'content does not match its hash (entry altered)';
      if (reason) {
        breaks.push({ chain: r.chain, seq: r.seq, id: r.id, reason });
        current.broken = true;
        continue;
      }
      current.expectedSeq++;
      current.prevHash = r.hash;
    }
    const last = rows[rows.length - 1];
    cursor = { chain: last.chain, seq: last.seq };
  }
  return { entries, chains: chains.size, breaks };
}
