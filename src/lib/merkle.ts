/**
 * RFC 9162 (Certificate Transparency v2) Merkle tree: hashing, proofs and verification.
 *
 * Pure and I/O-free. Storage model: the tree is kept as levels of *complete* subtrees. Node (level, index)
 * is the hash of the perfect subtree over leaves [index·2^level, (index+1)·2^level); level 0 holds the leaf
 * hashes. A node exists only once its subtree is full, so stored nodes never change after they are written
 * (append-only rows, no updates). Anything on the ragged right edge of a tree is recomputed from the
 * O(log n) complete subtrees that cover it (see {@link rangeHash}).
 *
 * Proofs and their verification live in ./merkle-proof.ts. Every proof is done in two steps so a database can answer it with ONE query:
 *   1. plan:     `inclusionProofNodes(i, n)` / `consistencyProofNodes(m, n)` / `rootNodes(n)` → NodeKey[]
 *   2. assemble: `inclusionProofFrom(i, n, nodes)` / `consistencyProofFrom(m, n, nodes)` / `rootAt(n, nodes)`
 * The async `inclusionProof` / `consistencyProof` wrap both steps around a reader callback.
 *
 * Sizes and indexes are JS numbers and must be safe integers (< 2^53); all arithmetic avoids 32-bit bitwise
 * operators so logs beyond 2^31 entries keep working.
 */
import { createHash } from 'node:crypto';

export const HASH_SIZE = 32;

export interface NodeKey {
  level: number;
  index: number;
}
export interface StoredNode extends NodeKey {
  hash: Buffer;
}
/** Already-fetched nodes: a Map keyed by {@link nodeKeyString}, or a synchronous lookup. */
export type NodeSource = ReadonlyMap<string, Buffer> | ((level: number, index: number) => Buffer | undefined);
/**
 * Where the async helpers get nodes from: a per-node callback (sync or async; called concurrently), or a
 * batch reader answering a whole list at once, either positionally (same order as `refs`) or as a Map.
 */
export type NodeReader =
  | ((level: number, index: number) => Buffer | undefined | Promise<Buffer | undefined>)
  | {
      getNodes(
        refs: NodeKey[],
      ):
        | Promise<(Buffer | undefined)[] | ReadonlyMap<string, Buffer>>
        | (Buffer | undefined)[]
        | ReadonlyMap<string, Buffer>;
    };

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

export function toBuffer(b: Buffer | Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** SHA-256(0x00 ‖ data): the domain-separated hash of one log entry. */
export function leafHash(data: Buffer | Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(toBuffer(data)).digest();
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Buffer | Uint8Array, right: Buffer | Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(toBuffer(left)).update(toBuffer(right)).digest();
}

/** MTH({}) = SHA-256(""): the root of an empty log. */
export function emptyRoot(): Buffer {
  return createHash('sha256').digest();
}

/** Stable string key for a node, used by the Maps this module accepts and returns. */
export function nodeKeyString(level: number, index: number): string {
  return `${level}/${index}`;
}

/** Map keyed by {@link nodeKeyString}; convenient for merging fetched rows with freshly appended ones. */
export function nodeMap(nodes: Iterable<StoredNode>): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (const n of nodes) m.set(nodeKeyString(n.level, n.index), n.hash);
  return m;
}

export function assertSize(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative safe integer, got ${v}`);
}

/** Largest power of two strictly smaller than n (n ≥ 2): the RFC's split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

/** RFC 9162 §2.1.1 MTH over a full list of leaf hashes. O(n) hashing; meant for small trees and tests. */
export function rootFromLeafHashes(hashes: readonly Buffer[]): Buffer {
  if (hashes.length === 0) return emptyRoot();
  const mth = (lo: number, hi: number): Buffer => {
    if (hi - lo === 1) return hashes[lo];
    const k = splitPoint(hi - lo);
    return nodeHash(mth(lo, lo + k), mth(lo + k, hi));
  };
  return mth(0, hashes.length);
}

// ---------------------------------------------------------------------------------------------------------
// Ranges: a proof element is always MTH of a leaf range [start, end) whose start is aligned to the next
// power of two ≥ its length (true for every range PATH/SUBPROOF/MTH recursion produces). Such a range is
// exactly the binary decomposition of its length into complete subtrees, largest first.

export interface Range {
  start: number;
  end: number;
}

/**
 * The complete subtrees covering [start, end), left to right (sizes strictly decreasing). Requires
 * `start` to be aligned as described above; otherwise the fold would not equal any MTH, so it throws.
 */
export function rangeNodes(start: number, end: number): NodeKey[] {
  assertSize('start', start);
  assertSize('end', end);
  if (end <= start) throw new RangeError(`empty range [${start}, ${end})`);
  let span = 1;
  while (span < end - start) span *= 2;
  if (start % span !== 0) throw new RangeError(`range [${start}, ${end}) is not a subtree of any Merkle tree`);
  const out: NodeKey[] = [];
  let pos = start;
  let level = Math.log2(span);
  let width = span;
  while (pos < end) {
    if (pos + width <= end) {
      out.push({ level, index: pos / width });
      pos += width;
    }
    width /= 2;
    level -= 1;
  }
  return out;
}

export function lookup(source: NodeSource, level: number, index: number): Buffer {
  const h = typeof source === 'function' ? source(level, index) : source.get(nodeKeyString(level, index));
  if (!h) throw new Error(`merkle: missing stored node level=${level} index=${index}`);
  return h;
}

/** MTH of leaves [start, end): folds the covering complete subtrees right-to-left with nodeHash. */
export function rangeHash(start: number, end: number, source: NodeSource): Buffer {
  const refs = rangeNodes(start, end);
  let acc = lookup(source, refs[refs.length - 1].level, refs[refs.length - 1].index);
  for (let i = refs.length - 2; i >= 0; i--) acc = nodeHash(lookup(source, refs[i].level, refs[i].index), acc);
  return acc;
}

/**
 * Nodes needed for the root at `size`: the complete subtrees of its binary decomposition, ≤ log2(size)+1 of
 * them, left to right. They are also the tree's right frontier, which is all {@link appendLeaves} needs.
 * Empty for size 0.
 */
export function rootNodes(size: number): NodeKey[] {
  assertSize('size', size);
  return size === 0 ? [] : rangeNodes(0, size);
}
// Same list under the name that says why appendLeaves needs it.
export const frontierNodes = rootNodes;

/** Root hash of the tree of `size` leaves from the nodes of `rootNodes(size)`; emptyRoot() for size 0. */
export function rootAt(size: number, source: NodeSource): Buffer {
  assertSize('size', size);
  return size === 0 ? emptyRoot() : rangeHash(0, size, source);
}
// The name src/modules/audit/audit.tree.ts imports.
export const rootFromNodes = rootAt;

// ---------------------------------------------------------------------------------------------------------
// Appending.

/**
 * Appends leaf hashes to a tree of `size` leaves and returns every node that becomes complete: each new
 * leaf at level 0 plus each parent whose subtree fills up, in ascending creation order. `frontier` must
 * hold the nodes listed by `rootNodes(size)` — the only pre-existing nodes a new parent can have as
 * a left child — so a store fetches them in one query, inserts the returned rows, and is done.
 *
 * The new root is `rootAt(size + leaves.length, source)` where source is the old frontier plus the returned
 * nodes (every complete subtree of the new tree is one of the two).
 */
export function appendLeaves(
  size: number,
  newLeafHashes: readonly (Buffer | Uint8Array)[],
  frontier: NodeSource,
): StoredNode[] {
  assertSize('size', size);
  assertSize('size after append', size + newLeafHashes.length);
  // Working copy of the right frontier, one slot per level; only complete, still-unpaired left nodes live
  // here, which is exactly the binary decomposition of the current size.
  const stack = new Map<number, Buffer>();
  for (const ref of frontierNodes(size)) stack.set(ref.level, lookup(frontier, ref.level, ref.index));
  const out: StoredNode[] = [];
  let n = size;
  for (const raw of newLeafHashes) {
    if (raw.length !== HASH_SIZE) throw new RangeError(`leaf hash must be ${HASH_SIZE} bytes, got ${raw.length}`);
    let hash = toBuffer(raw);
    let level = 0;
    let index = n;
    out.push({ level, index, hash });
    // A node at (level, index) with odd index completes its parent; its left sibling is on the frontier.
    while (index % 2 === 1) {
      const left = stack.get(level);
      if (!left) throw new Error(`merkle: frontier lacks level ${level} for size ${n}`);
      stack.delete(level);
      hash = nodeHash(left, hash);
      level += 1;
      index = (index - 1) / 2;
      out.push({ level, index, hash });
    }
    stack.set(level, hash);
    n += 1;
  }
  return out;
}
