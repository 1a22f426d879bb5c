// The Merkle tree of the audit log, stored as the hash of every complete
// subtree (audit_tree_nodes: level, idx). Appending n leaves writes about 2n
// rows in all; an inclusion or consistency proof reads O(log n) of them in one
// statement. The tree maths is pure (src/lib/merkle.ts); this file only moves
// hashes between it and PostgreSQL.
import type { Tx } from '../../db.ts';
import { appendLeaves, rootFromNodes, rootNodes, type NodeKey } from '../../lib/merkle.ts';
import {
  consistencyProofFrom,
  consistencyProofNodes,
  inclusionProofFrom,
  inclusionProofNodes,
} from '../../lib/merkle-proof.ts';

type Sql = Pick<Tx, '$queryRawUnsafe' | '$executeRawUnsafe'>;

const key = (level: number, index: number) => `${level}:${index}`;

/** Reads the given nodes in one statement. */
export async function readNodes(db: Sql, keys: readonly NodeKey[]): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  if (!keys.length) return out;
  const rows = await db.$queryRawUnsafe<{ level: number; idx: bigint; hash: Uint8Array }[]>(
    `SELECT n.level, n.idx, n.hash FROM audit_tree_nodes n
     JOIN unnest($1::int[], $2::bigint[]) AS k(level, idx) ON n.level = k.level AND n.idx = k.idx`,
    keys.map((k) => k.level),
    keys.map((k) => k.index),
  );
  for (const r of rows) out.set(key(r.level, Number(r.idx)), Buffer.from(r.hash));
  return out;
}

function lookup(nodes: Map<string, Buffer>) {
  return (level: number, index: number): Buffer => {
    const h = nodes.get(key(level, index));
    if (!h) throw new Error(`audit tree node ${level}/${index} is missing`);
    return h;
  };
}

/** The number of leaves in the stored tree. */
export async function treeSize(db: Sql): Promise<number> {
  const [row] = await db.$queryRawUnsafe<{ n: bigint | null }[]>(
    `SELECT max(idx) + 1 AS n FROM audit_tree_nodes WHERE level = 0`,
  );
  return row?.n == null ? 0 : Number(row.n);
}

export async function rootAt(db: Sql, size: number): Promise<Buffer> {
  const nodes = await readNodes(db, rootNodes(size));
  return rootFromNodes(size, lookup(nodes));
}

/** Appends leaf hashes at the end of a tree of `size` leaves; writes every subtree they complete. */
export async function appendToTree(
  db: Sql,
  size: number,
  leafHashes: readonly Buffer[],
): Promise<{ size: number; root: Buffer }> {
  const frontier = await readNodes(db, rootNodes(size));
  const written = appendLeaves(size, leafHashes, lookup(frontier));
  for (let i = 0; i < written.length; i += 5000) {
    const chunk = written.slice(i, i + 5000);
    await db.$executeRawUnsafe(
      `INSERT INTO audit_tree_nodes (level, idx, hash) SELECT * FROM unnest($1::int[], $2::bigint[], $3::bytea[])`,
      chunk.map((n) => n.level),
      chunk.map((n) => n.index),
      chunk.map((n) => n.hash),
    );
  }
  const newSize = size + leafHashes.length;
  const all = new Map(frontier);
  for (const n of written) all.set(key(n.level, n.index), n.hash);
  return { size: newSize, root: rootFromNodes(newSize, lookup(all)) };
}

export async function inclusionProof(db: Sql, leafIndex: number, size: number): Promise<Buffer[]> {
  const nodes = await readNodes(db, inclusionProofNodes(leafIndex, size));
  return inclusionProofFrom(leafIndex, size, lookup(nodes));
}

/** Inclusion proofs of many leaves in one tree size, from one read of the nodes they need. */
export async function inclusionProofs(
  db: Sql,
  leafIndexes: readonly number[],
  size: number,
): Promise<Map<number, { leafHash: Buffer; hashes: Buffer[] }>> {
  const wanted = new Map<string, NodeKey>();
  for (const i of leafIndexes) {
    for (const k of [...inclusionProofNodes(i, size), { level: 0, index: i }]) wanted.set(key(k.level, k.index), k);
  }
  const get = lookup(await readNodes(db, [...wanted.values()]));
  return new Map(leafIndexes.map((i) => [i, { leafHash: get(0, i), hashes: inclusionProofFrom(i, size, get) }]));
}

export async function leafHashAt(db: Sql, leafIndex: number): Promise<Buffer | null> {
  const nodes = await readNodes(db, [{ level: 0, index: leafIndex }]);
  return nodes.get(key(0, leafIndex)) ?? null;
}

export async function consistencyProof(db: Sql, from: number, to: number): Promise<Buffer[]> {
  const nodes = await readNodes(db, consistencyProofNodes(from, to));
  return consistencyProofFrom(from, to, lookup(nodes));
}
