// RFC 9162 inclusion and consistency proofs over the complete-subtree store of
// ./merkle.ts (plan the nodes, then assemble from one read), and their
// bit-by-bit verification (§2.1.3.2, §2.1.4.2).
import {
  HASH_SIZE,
  assertSize,
  emptyRoot,
  isPowerOfTwo,
  nodeHash,
  nodeKeyString,
  rangeHash,
  rangeNodes,
  splitPoint,
  toBuffer,
  type NodeKey,
  type Range,
  type NodeSource,
  type NodeReader,
} from './merkle.ts';
// ---------------------------------------------------------------------------------------------------------
// Proof planning (which ranges, in proof order) — RFC 9162 §2.1.3.1 PATH and §2.1.4.1 SUBPROOF.

function inclusionRanges(index: number, size: number): Range[] {
  assertSize('index', index);
  assertSize('size', size);
  if (index >= size) throw new RangeError(`leaf index ${index} is outside a tree of size ${size}`);
  const out: Range[] = [];
  // PATH(m, D[lo:hi]): the sibling of the deepest split comes first, so walk down and emit in reverse.
  const path = (m: number, lo: number, hi: number): void => {
    const n = hi - lo;
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      path(m, lo, lo + k);
      out.push({ start: lo + k, end: hi });
    } else {
      path(m - k, lo + k, hi);
      out.push({ start: lo, end: lo + k });
    }
  };
  path(index, 0, size);
  return out;
}

function consistencyRanges(m: number, n: number): Range[] {
  assertSize('m', m);
  assertSize('n', n);
  if (m > n) throw new RangeError(`old size ${m} is larger than new size ${n}`);
  // RFC 9162 defines proofs only for 0 < m < n; both edge cases are trivially consistent with no hashes.
  if (m === 0 || m === n) return [];
  const out: Range[] = [];
  const sub = (mm: number, lo: number, hi: number, b: boolean): void => {
    const size = hi - lo;
    if (mm === size) {
      if (!b) out.push({ start: lo, end: hi });
      return;
    }
    const k = splitPoint(size);
    if (mm <= k) {
      sub(mm, lo, lo + k, b);
      out.push({ start: lo + k, end: hi });
    } else {
      sub(mm - k, lo + k, hi, false);
      out.push({ start: lo, end: lo + k });
    }
  };
  sub(m, 0, n, true);
  return out;
}

function nodesFor(ranges: Range[]): NodeKey[] {
  const seen = new Set<string>();
  const out: NodeKey[] = [];
  for (const r of ranges) {
    for (const ref of rangeNodes(r.start, r.end)) {
      const key = nodeKeyString(ref.level, ref.index);
      if (!seen.has(key)) {
        seen.add(key);
        out.push(ref);
      }
    }
  }
  return out;
}

/** Exactly the stored nodes an inclusion proof for leaf `index` in a tree of `size` needs (O(log n)). */
export function inclusionProofNodes(index: number, size: number): NodeKey[] {
  return nodesFor(inclusionRanges(index, size));
}

/** Builds the RFC 9162 inclusion path from already-fetched nodes. */
export function inclusionProofFrom(index: number, size: number, nodes: NodeSource): Buffer[] {
  return inclusionRanges(index, size).map((r) => rangeHash(r.start, r.end, nodes));
}

/** Exactly the stored nodes a consistency proof from size m to size n needs (O(log n)). */
export function consistencyProofNodes(m: number, n: number): NodeKey[] {
  return nodesFor(consistencyRanges(m, n));
}

/** Builds the RFC 9162 consistency path from already-fetched nodes; [] when m == 0 or m == n. */
export function consistencyProofFrom(m: number, n: number, nodes: NodeSource): Buffer[] {
  return consistencyRanges(m, n).map((r) => rangeHash(r.start, r.end, nodes));
}

/** Fetches `refs` through a reader (one batch call when it has getNodes) into a Map keyed by nodeKeyString. */
export async function fetchNodes(refs: NodeKey[], reader: NodeReader): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  if (refs.length === 0) return out;
  if (typeof reader === 'function') {
    const hashes = await Promise.all(refs.map((r) => reader(r.level, r.index)));
    refs.forEach((r, i) => {
      const h = hashes[i];
      if (h) out.set(nodeKeyString(r.level, r.index), h);
    });
    return out;
  }
  const got = await reader.getNodes(refs);
  if (Array.isArray(got)) {
    refs.forEach((r, i) => {
      const h = got[i];
      if (h) out.set(nodeKeyString(r.level, r.index), h);
    });
  } else {
    for (const r of refs) {
      // Not an array, so the reader answered with the Map form of its union type.
      const h = (got as ReadonlyMap<string, Buffer>).get(nodeKeyString(r.level, r.index));
      if (h) out.set(nodeKeyString(r.level, r.index), h);
    }
  }
  return out;
}

/** Inclusion proof (RFC 9162 PATH) for leaf `index` in the tree of `size`, reading O(log n) nodes. */
export async function inclusionProof(index: number, size: number, reader: NodeReader): Promise<Buffer[]> {
  const nodes = await fetchNodes(inclusionProofNodes(index, size), reader);
  return inclusionProofFrom(index, size, nodes);
}

/** Consistency proof (RFC 9162 PROOF) from size m to size n, reading O(log n) nodes. */
export async function consistencyProof(m: number, n: number, reader: NodeReader): Promise<Buffer[]> {
  const nodes = await fetchNodes(consistencyProofNodes(m, n), reader);
  return consistencyProofFrom(m, n, nodes);
}

// ---------------------------------------------------------------------------------------------------------
// Verification — RFC 9162 §2.1.3.2 and §2.1.4.2, bit by bit. Never throws on bad input; returns false.

function isHash(b: unknown): b is Buffer | Uint8Array {
  return b instanceof Uint8Array && b.length === HASH_SIZE;
}

const lsb = (x: number): boolean => x % 2 === 1;
const shr = (x: number): number => Math.floor(x / 2);

/**
 * Checks an inclusion proof. Rejects index >= size, non-32-byte hashes, and proofs of the wrong length
 * (the `sn` bookkeeping catches both too-short and too-long paths).
 */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Buffer | Uint8Array,
  proof: readonly (Buffer | Uint8Array)[],
  root: Buffer | Uint8Array,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (!isHash(leaf) || !isHash(root) || !Array.isArray(proof) || !proof.every(isHash)) return false;
  let fn = index;
  let sn = size - 1;
  let r = toBuffer(leaf);
  for (const p of proof) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!lsb(fn) && fn !== 0) {
        fn = shr(fn);
        sn = shr(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = shr(fn);
    sn = shr(sn);
  }
  return sn === 0 && r.equals(toBuffer(root));
}

/**
 * Checks that the tree of size n with `newRoot` extends the tree of size m with `oldRoot`.
 * Edge cases (RFC 9162 only defines 0 < m < n): m > n is rejected; m == n needs an empty proof and equal
 * roots; m == 0 needs an empty proof and `oldRoot` equal to the empty-tree hash (stricter than Go's
 * transparency-dev, which ignores root1 there — a size-0 checkpoint with any other root is forged).
 */
export function verifyConsistency(
  m: number,
  n: number,
  oldRoot: Buffer | Uint8Array,
  newRoot: Buffer | Uint8Array,
  proof: readonly (Buffer | Uint8Array)[],
): boolean {
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(n) || m < 0 || m > n) return false;
  if (!isHash(oldRoot) || !isHash(newRoot) || !Array.isArray(proof) || !proof.every(isHash)) return false;
  const first = toBuffer(oldRoot);
  const second = toBuffer(newRoot);
  if (m === 0) return proof.length === 0 && first.equals(emptyRoot());
  if (m === n) return proof.length === 0 && first.equals(second);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(m) ? [first, ...proof] : [...proof];
  let fn = m - 1;
  let sn = n - 1;
  while (lsb(fn)) {
    fn = shr(fn);
    sn = shr(sn);
  }
  let fr = toBuffer(path[0]);
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i];
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!lsb(fn) && fn !== 0) {
        fn = shr(fn);
        sn = shr(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = shr(fn);
    sn = shr(sn);
  }
  return sn === 0 && fr.equals(first) && sr.equals(second);
}
