// The stand-alone verifier behind `npm run audit:verify`. It reads the
// database only (SELECTs), recomputes every leaf from its entry and the tree
// from the leaves, and checks the result against the checkpoints: those in the
// database (their signatures with the audit key) and, above all, an old one
// that someone kept outside it. It stops at the first problem in the tree and
// says what it means in words.
import { verifyCheckpoint } from '../../lib/checkpoint.ts';
import { leafHash, nodeHash } from '../../lib/merkle.ts';
import { leafData, type LeafSource } from './audit.log.ts';
import { verifyLegacyChains, type LegacyRow } from './legacy-chain.ts';
import { errorMessage } from '../../lib/error-message.ts';

/** Runs one SELECT and returns its rows (pg's `client.query(...).rows`). */
type Query = (sql: string, params: unknown[]) => Promise<object[]>;

export type VerifyOptions = {
  publicKey: Buffer;
  origin: string;
  /** The text of a checkpoint kept outside the database (a witness's copy). */
  oldCheckpoint?: string;
};

export type VerifyReport = { ok: boolean; problems: string[]; notes: string[] };

/** The root of a growing prefix of leaves, in O(log n) memory (the compact range of [0, n)). */
class PrefixRoot {
  private readonly stack: { level: number; hash: Buffer }[] = [];
  size = 0;
  push(leaf: Buffer) {
    let node = { level: 0, hash: leaf };
    while (this.stack.length && this.stack[this.stack.length - 1].level === node.level) {
      const left = this.stack.pop()!;
      node = { level: node.level + 1, hash: nodeHash(left.hash, node.hash) };
    }
    this.stack.push(node);
    this.size++;
  }
  root(): Buffer {
    let h = this.stack[this.stack.length - 1].hash;
    for (let i = this.stack.length - 2; i >= 0; i--) h = nodeHash(this.stack[i].hash, h);
    return h;
  }
}

type EntryRow = LeafSource & { leafIndex: string; stored: Uint8Array | null };

export async function verifyAuditLog(run: Query, opts: VerifyOptions): Promise<VerifyReport> {
  // Each row is shaped by the SELECT list written next to its type below.
  const query = async <T>(sql: string, params: unknown[]) => (await run(sql, params)) as T[];
  const problems: string[] = [];
  const notes: string[] = [];
  const key = { name: opts.origin, publicKey: opts.publicKey };

  const legacy = await verifyLegacyChains((sql, params) => query<LegacyRow>(sql, params));
  for (const b of legacy.breaks) {
    problems.push(`legacy chain ${b.chain} is broken at seq ${b.seq} (entry ${b.id}): ${b.reason}`);
  }
  if (legacy.entries) {
    notes.push(`${legacy.entries} entries written before the Merkle log: ${legacy.chains} hash chains checked`);
  }

  // Every checkpoint the database holds must carry the audit key's signature.
  const checkpoints = await query<{ treeSize: string; note: string }>(
    'SELECT tree_size::text AS "treeSize", note FROM audit_checkpoints ORDER BY tree_size',
    [],
  );
  const expectRoot = new Map<number, { root: Buffer; what: string }>();
  for (const c of checkpoints) {
    try {
      const parsed = verifyCheckpoint(c.note, key);
      if (parsed.size !== Number(c.treeSize)) throw new Error(`it says size ${parsed.size}`);
      expectRoot.set(parsed.size, { root: parsed.rootHash, what: `the signed checkpoint of size ${parsed.size}` });
    } catch (e) {
      problems.push(
        `the checkpoint stored for tree size ${c.treeSize} does not verify with the audit key (${errorMessage(e)}): it was forged or signed with another key`,
      );
      return { ok: false, problems, notes };
    }
  }
  let old: { size: number; root: Buffer } | null = null;
  if (opts.oldCheckpoint !== undefined) {
    try {
      const parsed = verifyCheckpoint(opts.oldCheckpoint, key);
      old = { size: parsed.size, root: parsed.rootHash };
      const same = expectRoot.get(old.size);
      if (same && !same.root.equals(old.root)) {
        problems.push(
          `the checkpoint you kept (size ${old.size}) and the one in the database for that size have different roots: the history was rewritten`,
        );
        return { ok: false, problems, notes };
      }
      expectRoot.set(old.size, { root: old.root, what: `the checkpoint you kept (size ${old.size})` });
    } catch (e) {
      problems.push(`the checkpoint you gave does not verify with the audit key (${errorMessage(e)})`);
      return { ok: false, problems, notes };
    }
  }

  const prefix = new PrefixRoot();
  let after = -1n;
  for (;;) {
    const rows = await query<EntryRow>(
      `SELECT e.id, e.at, e.actor_id::text AS "actorId", e.action, e.entity_type AS "entityType", e.entity_id AS "entityId",
              e.case_id::text AS "caseId", e.request_id AS "requestId", e.changes, e.leaf_index::text AS "leafIndex", n.hash AS stored
       FROM audit_entries e LEFT JOIN audit_tree_nodes n ON n.level = 0 AND n.idx = e.leaf_index
       WHERE e.leaf_index > $1 ORDER BY e.leaf_index LIMIT 5000`,
      [after.toString()],
    );
    if (!rows.length) break;
    for (const r of rows) {
      const index = Number(r.leafIndex);
      if (index !== prefix.size) {
        problems.push(`leaf ${prefix.size} is missing (the next entry is leaf ${index}): an audit entry was deleted`);
        return { ok: false, problems, notes };
      }
      const leaf = leafHash(leafData(r));
      if (!r.stored || !leaf.equals(Buffer.from(r.stored))) {
        problems.push(
          `audit entry ${r.id} (leaf ${index}, ${r.action} at ${r.at.toISOString()}) was altered: its content no longer matches the leaf hash in the tree`,
        );
        return { ok: false, problems, notes };
      }
      prefix.push(leaf);
      const expected = expectRoot.get(prefix.size);
      if (expected && !expected.root.equals(prefix.root())) {
        problems.push(
          `the log's first ${prefix.size} entries no longer hash to the root of ${expected.what}: the history was rewritten`,
        );
        return { ok: false, problems, notes };
      }
    }
    after = BigInt(rows[rows.length - 1].leafIndex);
  }
  const largest = Math.max(0, ...expectRoot.keys());
  if (largest > prefix.size) {
    const what = expectRoot.get(largest)!.what;
    problems.push(`the log holds ${prefix.size} entries but ${what} covers ${largest}: the end of the history was cut`);
    return { ok: false, problems, notes };
  }
  const [{ n: unsequenced }] = await query<{ n: number }>(
    'SELECT count(*)::int AS n FROM audit_entries WHERE leaf_index IS NULL',
    [],
  );
  notes.push(
    `${prefix.size} leaves recomputed from their entries; ${checkpoints.length} signed checkpoint(s) verified${old ? `, and the one you kept (size ${old.size}) is consistent` : ''}`,
  );
  if (unsequenced) notes.push(`${unsequenced} entries not sequenced yet (the worker role does it within seconds)`);
  return { ok: problems.length === 0, problems, notes };
}
