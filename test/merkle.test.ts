// Pure tests of the RFC 9162 Merkle tree (src/lib/merkle.ts), the C2SP signed checkpoints
// (src/lib/checkpoint.ts) and the offline custody verifier (scripts/verify-custody.mjs). No database.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/lib/canonical-json.ts';
import {
  formatCheckpoint,
  generateSigningSeed,
  keyIdOf,
  parseCheckpoint,
  parseSignedNote,
  parseVerifierKey,
  privateKeyFromSeed,
  publicKeyFromRaw,
  publicKeyRaw,
  signNote,
  verifierKey,
  verifyCheckpoint,
  verifyNote,
} from '../src/lib/checkpoint.ts';
import {
  appendLeaves,
  emptyRoot,
  leafHash,
  nodeHash,
  nodeKeyString,
  nodeMap,
  rangeHash,
  rangeNodes,
  rootAt,
  rootFromLeafHashes,
  rootNodes,
  type NodeKey,
} from '../src/lib/merkle.ts';
import {
  consistencyProof,
  consistencyProofFrom,
  consistencyProofNodes,
  inclusionProof,
  inclusionProofFrom,
  inclusionProofNodes,
  verifyConsistency,
  verifyInclusion,
} from '../src/lib/merkle-proof.ts';

const hex = (s: string) => Buffer.from(s, 'hex');
const b64 = (s: string) => Buffer.from(s, 'base64');
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'verify-custody.mjs');

// ---------------------------------------------------------------------------------------------------------
// Known-answer vectors. Source: github.com/transparency-dev/merkle (Apache-2.0), the Go library behind
// Trillian and the CT ecosystem: proof/verify_test.go (leaves, roots, inclusionProofs, consistencyProofs),
// rfc6962/rfc6962_test.go (hasher vectors) and proof/proof_test.go (which node ids a proof reads).
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(
  hex,
);
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
].map(hex);
// Go's table numbers leaves from 1; these are 0-based indexes.
const INCLUSION_VECTORS = [
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  { index: 0, size: 1, proof: [] },
];
const CONSISTENCY_VECTORS = [
  { m: 1, n: 1, proof: [] as string[] },
  {
    m: 1,
    n: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    m: 6,
    n: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    m: 2,
    n: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    m: 6,
    n: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];
// proof/proof_test.go: the stored nodes (level, index) each proof reads, including the right-edge nodes
// Go "rehashes" into an ephemeral node — exactly what rangeHash folds.
// Node ids are written "level,index" as Go's compact.NewNodeID(level, index).
const INCLUSION_NODE_VECTORS: [size: number, index: number, ids: string][] = [
  [1, 0, ''],
  [2, 0, '0,1'],
  [2, 1, '0,0'],
  [3, 1, '0,0 0,2'],
  [7, 0, '0,1 1,1 0,6 1,2'],
  [7, 1, '0,0 1,1 0,6 1,2'],
  [7, 2, '0,3 1,0 0,6 1,2'],
  [7, 3, '0,2 1,0 0,6 1,2'],
  [7, 4, '0,5 0,6 2,0'],
  [7, 5, '0,4 0,6 2,0'],
  [7, 6, '1,2 2,0'],
  [4, 2, '0,3 1,0'],
  [5, 3, '0,2 1,0 0,4'],
  [6, 3, '0,2 1,0 1,2'],
  [6, 4, '0,5 2,0'],
  [15, 10, '0,11 1,4 0,14 1,6 3,0'],
  [31, 24, '0,25 1,13 0,30 1,14 3,2 4,0'],
  [95, 81, '0,80 1,41 2,21 0,94 1,46 2,22 4,4 6,0'],
];
const CONSISTENCY_NODE_VECTORS: [m: number, n: number, ids: string][] = [
  [1, 2, '0,1'],
  [1, 4, '0,1 1,1'],
  [1, 6, '0,1 1,1 1,2'],
  [2, 3, '0,2'],
  [2, 8, '1,1 2,1'],
  [3, 7, '0,2 0,3 1,0 0,6 1,2'],
  [4, 7, '0,6 1,2'],
  [5, 7, '0,4 0,5 0,6 2,0'],
  [6, 7, '1,2 0,6 2,0'],
  [7, 8, '0,6 0,7 1,2 2,0'],
  [5, 5, ''],
  [2, 4, '1,1'],
  [3, 5, '0,2 0,3 1,0 0,4'],
  [3, 6, '0,2 0,3 1,0 1,2'],
  [4, 6, '1,2'],
  [1, 7, '0,1 1,1 0,6 1,2'],
  [10, 15, '1,4 1,5 0,14 1,6 3,0'],
  [24, 31, '3,2 0,30 1,14 2,6 4,0'],
  [81, 95, '0,80 0,81 1,41 2,21 0,94 1,46 2,22 4,4 6,0'],
];

// ---------------------------------------------------------------------------------------------------------
// Helpers: an independent reference (RFC 9162 PATH/SUBPROOF straight over the leaf list) and stores.

function refPath(m: number, d: Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return m < k
    ? [...refPath(m, d.slice(0, k)), rootFromLeafHashes(d.slice(k))]
    : [...refPath(m - k, d.slice(k)), rootFromLeafHashes(d.slice(0, k))];
}
function refSubproof(m: number, d: Buffer[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [rootFromLeafHashes(d)];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return m <= k
    ? [...refSubproof(m, d.slice(0, k), b), rootFromLeafHashes(d.slice(k))]
    : [...refSubproof(m - k, d.slice(k), false), rootFromLeafHashes(d.slice(0, k))];
}

/** Every complete subtree of the tree over `leaves`, computed level by level (no appender involved). */
function fullStore(leaves: Buffer[]): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  let level = leaves.slice();
  for (let l = 0; level.length > 0; l++) {
    level.forEach((h, i) => m.set(nodeKeyString(l, i), h));
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i], level[i + 1]));
    level = next;
  }
  return m;
}

const leafHashesOf = (n: number, salt = 0) =>
  Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${salt}/${i}`)));
const flip = (b: Buffer, bit: number) => {
  const c = Buffer.from(b);
  c[Math.floor(bit / 8) % c.length] ^= 1 << (bit % 8);
  return c;
};
const idsOf = (keys: NodeKey[]) => keys.map((k) => `${k.level},${k.index}`).sort();
const parseIds = (s: string) => s.split(' ').filter(Boolean).sort();

// ---------------------------------------------------------------------------------------------------------

describe('RFC 6962/9162 hashing (known answers)', () => {
  it('hashes the empty tree, leaves and nodes as the Go reference does', () => {
    expect(emptyRoot().toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(leafHash(Buffer.alloc(0)).toString('hex')).toBe(
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
    expect(leafHash(Buffer.from('L123456')).toString('hex')).toBe(
      '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56',
    );
    expect(nodeHash(Buffer.from('N123'), Buffer.from('N456')).toString('hex')).toBe(
      'aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb',
    );
    expect(leafHash(new Uint8Array([0x10]))).toEqual(leafHash(Buffer.from([0x10])));
  });

  it('computes the published roots of sizes 0..8, directly and from stored nodes', () => {
    const hashes = LEAVES.map(leafHash);
    expect(rootFromLeafHashes([])).toEqual(emptyRoot());
    for (let n = 1; n <= 8; n++) {
      expect(rootFromLeafHashes(hashes.slice(0, n)).toString('hex'), `size ${n}`).toBe(ROOTS[n - 1].toString('hex'));
      expect(rootAt(n, fullStore(hashes)).toString('hex')).toBe(ROOTS[n - 1].toString('hex'));
    }
    expect(rootAt(0, new Map())).toEqual(emptyRoot());
  });

  it('produces and verifies the published inclusion proofs', async () => {
    const store = fullStore(LEAVES.map(leafHash));
    for (const v of INCLUSION_VECTORS) {
      const proof = v.proof.map(hex);
      expect(inclusionProofFrom(v.index, v.size, store).map((h) => h.toString('hex'))).toEqual(v.proof);
      expect(
        (await inclusionProof(v.index, v.size, (l, i) => store.get(nodeKeyString(l, i)))).map((h) => h.toString('hex')),
      ).toEqual(v.proof);
      expect(verifyInclusion(v.index, v.size, leafHash(LEAVES[v.index]), proof, ROOTS[v.size - 1])).toBe(true);
    }
  });

  it('produces and verifies the published consistency proofs', async () => {
    const store = fullStore(LEAVES.map(leafHash));
    for (const v of CONSISTENCY_VECTORS) {
      const proof = v.proof.map(hex);
      expect(consistencyProofFrom(v.m, v.n, store).map((h) => h.toString('hex'))).toEqual(v.proof);
      expect(
        (
          await consistencyProof(v.m, v.n, {
            getNodes: (refs) => refs.map((r) => store.get(nodeKeyString(r.level, r.index))),
          })
        ).map((h) => h.toString('hex')),
      ).toEqual(v.proof);
      expect(verifyConsistency(v.m, v.n, ROOTS[v.m - 1], ROOTS[v.n - 1], proof)).toBe(true);
    }
  });

  it('reads exactly the stored nodes the Go reference reads', () => {
    for (const [size, index, ids] of INCLUSION_NODE_VECTORS) {
      expect(idsOf(inclusionProofNodes(index, size)), `inclusion ${index}@${size}`).toEqual(parseIds(ids));
    }
    for (const [m, n, ids] of CONSISTENCY_NODE_VECTORS) {
      expect(idsOf(consistencyProofNodes(m, n)), `consistency ${m}->${n}`).toEqual(parseIds(ids));
    }
  });

  // The probes of Go's verifierCheck / verifierConsistencyCheck: each tampering must be rejected.
  it('rejects the corrupted variants of the published proofs', () => {
    const someHash = hex('abacaba000000000000000000000000000000000000000000060061e00123456');
    for (const v of INCLUSION_VECTORS.filter((x) => x.proof.length > 0)) {
      const proof = v.proof.map(hex);
      const root = ROOTS[v.size - 1];
      const leaf = leafHash(LEAVES[v.index]);
      const probes: [number, number, Buffer, Buffer[], Buffer][] = [
        [v.index - 1, v.size, leaf, proof, root],
        [v.index + 1, v.size, leaf, proof, root],
        [v.index ^ 2, v.size, leaf, proof, root],
        [v.index, v.size * 2, leaf, proof, root],
        [v.index, Math.floor(v.size / 2), leaf, proof, root],
        [v.index, v.size, leafHash(Buffer.from('WrongLeaf')), proof, root],
        [v.index, v.size, leaf, proof, emptyRoot()],
        [v.index, v.size, leaf, proof, someHash],
        [v.index, v.size, leaf, [...proof, root], root],
        [v.index, v.size, leaf, [root, ...proof], root],
        [v.index, v.size, leaf, [...proof, Buffer.alloc(0)], root],
        [v.index, v.size, leaf, proof.slice(0, -1), root],
        [v.index, v.size, leaf, [proof[0], someHash, ...proof.slice(1)], root],
      ];
      for (const [i, n, l, p, r] of probes) expect(verifyInclusion(i, n, l, p, r), `${i}@${n}`).toBe(false);
    }
    for (const v of CONSISTENCY_VECTORS.filter((x) => x.proof.length > 0)) {
      const proof = v.proof.map(hex);
      const [r1, r2] = [ROOTS[v.m - 1], ROOTS[v.n - 1]];
      const probes: [number, number, Buffer, Buffer, Buffer[]][] = [
        [v.m - 1, v.n, r1, r2, proof],
        [v.m + 1, v.n, r1, r2, proof],
        [v.m ^ 2, v.n, r1, r2, proof],
        [v.m, v.n * 2, r1, r2, proof],
        [v.m, Math.floor(v.n / 2), r1, r2, proof],
        [v.m, v.n, someHash, r2, proof],
        [v.m, v.n, r1, someHash, proof],
        [v.m, v.n, r2, r1, proof],
        [v.m, v.n, r1, r2, []],
        [v.m, v.n, r1, r2, [...proof, r1]],
        [v.m, v.n, r1, r2, [...proof, r2]],
        [v.m, v.n, r1, r2, [r1, ...proof]],
        [v.m, v.n, r1, r2, [r2, ...proof]],
        [v.m, v.n, r1, r2, [proof[0], ...proof]],
        [v.m, v.n, r1, r2, proof.slice(0, -1)],
        ...proof.map((_, i): [number, number, Buffer, Buffer, Buffer[]] => [
          v.m,
          v.n,
          r1,
          r2,
          proof.map((h, j) => (j === i ? flip(h, 4) : h)),
        ]),
      ];
      for (const [m, n, a, b, p] of probes) expect(verifyConsistency(m, n, a, b, p), `${m}->${n}`).toBe(false);
    }
  });
});

describe('verification edge cases', () => {
  const h = leafHash(Buffer.from('x'));
  it('inclusion: index >= size, size 0, negative or fractional numbers, wrong hash sizes are rejected', () => {
    expect(verifyInclusion(0, 1, h, [], h)).toBe(true);
    expect(verifyInclusion(0, 0, h, [], h)).toBe(false);
    expect(verifyInclusion(1, 1, h, [], h)).toBe(false);
    expect(verifyInclusion(2, 1, h, [], h)).toBe(false);
    expect(verifyInclusion(-1, 1, h, [], h)).toBe(false);
    expect(verifyInclusion(0.5, 1, h, [], h)).toBe(false);
    expect(verifyInclusion(0, 1, h.subarray(1), [], h.subarray(1))).toBe(false);
    expect(verifyInclusion(0, 1, Buffer.alloc(0), [], Buffer.alloc(0))).toBe(false);
    expect(verifyInclusion(0, 2, h, [h.subarray(0, 31)], h)).toBe(false);
    expect(() => inclusionProofNodes(3, 3)).toThrow(RangeError);
    expect(() => inclusionProofNodes(0, 0)).toThrow(RangeError);
  });

  it('consistency: m == n needs equal roots and no hashes; m == 0 needs the empty root; m > n fails', () => {
    const e = emptyRoot();
    expect(verifyConsistency(1, 1, h, h, [])).toBe(true);
    expect(verifyConsistency(1, 1, h, flip(h, 0), [])).toBe(false);
    expect(verifyConsistency(1, 1, h, h, [e])).toBe(false);
    expect(verifyConsistency(0, 0, e, e, [])).toBe(true);
    expect(verifyConsistency(0, 5, e, h, [])).toBe(true);
    expect(verifyConsistency(0, 5, h, h, [])).toBe(false); // a size-0 tree has exactly one root
    expect(verifyConsistency(0, 1, e, h, [e])).toBe(false);
    expect(verifyConsistency(2, 1, h, h, [])).toBe(false);
    expect(verifyConsistency(1, 2, h, h, [])).toBe(false);
    expect(consistencyProofNodes(0, 9)).toEqual([]);
    expect(consistencyProofNodes(9, 9)).toEqual([]);
    expect(() => consistencyProofNodes(9, 8)).toThrow(RangeError);
  });

  it('rangeHash refuses ranges that are not a Merkle subtree, and reports missing nodes', () => {
    expect(() => rangeNodes(1, 3)).toThrow(/not a subtree/);
    expect(() => rangeNodes(4, 4)).toThrow(RangeError);
    expect(rangeNodes(8, 15)).toEqual([
      { level: 2, index: 2 },
      { level: 1, index: 6 },
      { level: 0, index: 14 },
    ]);
    expect(() => rangeHash(0, 3, new Map())).toThrow(/missing stored node level=0 index=2/);
  });
});

describe('properties over random trees (node-store path)', () => {
  const sizeArb = fc.integer({ min: 1, max: 300 });

  it('every inclusion proof built from stored nodes equals the RFC reference and verifies', () => {
    fc.assert(
      fc.property(
        sizeArb.chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))),
        ([n, i]) => {
          const leaves = leafHashesOf(n);
          const store = fullStore(leaves);
          const refs = inclusionProofNodes(i, n);
          const proof = inclusionProofFrom(
            i,
            n,
            nodeMap(refs.map((r) => ({ ...r, hash: store.get(nodeKeyString(r.level, r.index))! }))),
          );
          expect(proof).toEqual(refPath(i, leaves));
          expect(refs.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(n)) + 1);
          expect(verifyInclusion(i, n, leaves[i], proof, rootFromLeafHashes(leaves))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('every consistency proof built from stored nodes equals the RFC reference and verifies', () => {
    const pair = sizeArb.chain((n) => fc.tuple(fc.integer({ min: 1, max: n }), fc.constant(n)));
    fc.assert(
      fc.property(pair, ([m, n]) => {
        const leaves = leafHashesOf(n);
        const store = fullStore(leaves);
        const proof = consistencyProofFrom(m, n, store);
        expect(proof).toEqual(m === n ? [] : refSubproof(m, leaves, true));
        expect(consistencyProofNodes(m, n).length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(n)) + 2);
        const [r1, r2] = [rootFromLeafHashes(leaves.slice(0, m)), rootFromLeafHashes(leaves)];
        expect(verifyConsistency(m, n, r1, r2, proof)).toBe(true);
        // A rewritten history: any leaf before m changed gives another old root the proof can't bridge.
        if (m < n) expect(verifyConsistency(m, n, rootFromLeafHashes(leafHashesOf(m, 1)), r2, proof)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('appending in random batches stores every complete subtree and yields the same root', () => {
    const batches = fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 15 });
    fc.assert(
      fc.property(batches, (sizes) => {
        const total = sizes.reduce((a, b) => a + b, 0);
        const leaves = leafHashesOf(total, 7);
        const stored = new Map<string, Buffer>();
        let size = 0;
        for (const k of sizes) {
          // Only the frontier is handed over, as a DB would after one query.
          const frontier = nodeMap(
            rootNodes(size).map((r) => ({ ...r, hash: stored.get(nodeKeyString(r.level, r.index))! })),
          );
          const written = appendLeaves(size, leaves.slice(size, size + k), frontier);
          for (const w of written) {
            expect(stored.has(nodeKeyString(w.level, w.index)), 'a node is written once').toBe(false);
            stored.set(nodeKeyString(w.level, w.index), w.hash);
          }
          size += k;
          const merged = new Map([...frontier, ...nodeMap(written)]);
          expect(rootAt(size, merged)).toEqual(rootFromLeafHashes(leaves.slice(0, size)));
        }
        expect(stored).toEqual(fullStore(leaves));
      }),
      { numRuns: 200 },
    );
  });

  it('one flipped bit in a proof hash, the leaf hash or a root makes verification fail', () => {
    const arb = sizeArb.chain((n) =>
      fc.record({
        n: fc.constant(n),
        i: fc.integer({ min: 0, max: n - 1 }),
        m: fc.integer({ min: 1, max: n }),
        bit: fc.nat(255),
      }),
    );
    fc.assert(
      fc.property(arb, fc.nat(), ({ n, i, m, bit }, which) => {
        const leaves = leafHashesOf(n, 3);
        const store = fullStore(leaves);
        const root = rootFromLeafHashes(leaves);
        const proof = inclusionProofFrom(i, n, store);
        expect(verifyInclusion(i, n, flip(leaves[i], bit), proof, root)).toBe(false);
        expect(verifyInclusion(i, n, leaves[i], proof, flip(root, bit))).toBe(false);
        if (proof.length) {
          const j = which % proof.length;
          expect(
            verifyInclusion(
              i,
              n,
              leaves[i],
              proof.map((h, k) => (k === j ? flip(h, bit) : h)),
              root,
            ),
          ).toBe(false);
        }
        const old = rootFromLeafHashes(leaves.slice(0, m));
        const cproof = consistencyProofFrom(m, n, store);
        expect(verifyConsistency(m, n, flip(old, bit), root, cproof)).toBe(false);
        expect(verifyConsistency(m, n, old, flip(root, bit), cproof)).toBe(false);
        if (cproof.length) {
          const j = which % cproof.length;
          expect(
            verifyConsistency(
              m,
              n,
              old,
              root,
              cproof.map((h, k) => (k === j ? flip(h, bit) : h)),
            ),
          ).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('async readers: a batch reader is asked once; a per-node async reader gives the same proof', async () => {
    const leaves = leafHashesOf(77);
    const store = fullStore(leaves);
    let batches = 0;
    const batch = {
      getNodes: async (refs: NodeKey[]) => {
        batches++;
        return new Map(refs.map((r) => [nodeKeyString(r.level, r.index), store.get(nodeKeyString(r.level, r.index))!]));
      },
    };
    const perNode = async (l: number, i: number) => store.get(nodeKeyString(l, i));
    expect(await inclusionProof(42, 77, batch)).toEqual(refPath(42, leaves));
    expect(await consistencyProof(13, 77, perNode)).toEqual(refSubproof(13, leaves, true));
    expect(batches).toBe(1);
    await expect(inclusionProof(42, 77, async () => undefined)).rejects.toThrow(/missing stored node/);
  });

  it('works beyond 2^32 leaves (no 32-bit bit operations), reading only O(log n) nodes', () => {
    // A virtual tree: every leaf is the same hash except one, so any node is computable on demand.
    const plain = leafHash(Buffer.from('plain'));
    const special = 2 ** 41 + 12_345;
    const constAt = [plain];
    for (let l = 1; l <= 52; l++) constAt.push(nodeHash(constAt[l - 1], constAt[l - 1]));
    const memo = new Map<string, Buffer>();
    const node = (level: number, index: number): Buffer => {
      if (Math.floor(special / 2 ** level) !== index) return constAt[level];
      if (level === 0) return leafHash(Buffer.from('special'));
      const k = nodeKeyString(level, index);
      if (!memo.has(k)) memo.set(k, nodeHash(node(level - 1, 2 * index), node(level - 1, 2 * index + 1)));
      return memo.get(k)!;
    };
    let reads = 0;
    const counted = (l: number, i: number) => {
      reads++;
      return node(l, i);
    };
    const n = 2 ** 45 + 2 ** 33 + 999;
    const root = rootAt(n, node);
    const proof = inclusionProofFrom(special, n, counted);
    expect(reads).toBeLessThanOrEqual(2 * 46);
    expect(verifyInclusion(special, n, node(0, special), proof, root)).toBe(true);
    expect(verifyInclusion(special + 1, n, node(0, special), proof, root)).toBe(false);
    expect(verifyInclusion(special, n, plain, proof, root)).toBe(false);
    const m = 2 ** 42 + 5;
    const cproof = consistencyProofFrom(m, n, node);
    expect(verifyConsistency(m, n, rootAt(m, node), root, cproof)).toBe(true);
    expect(verifyConsistency(m + 1, n, rootAt(m, node), root, cproof)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('C2SP signed notes and checkpoints', () => {
  // golang.org/x/mod/sumdb/note note_test.go: TestSign / TestOpen / TestNewVerifier. The skey is
  // "PRIVATE+KEY+PeterNeumann+c74f20a3+" + base64(0x01 ‖ seed); Ed25519 is deterministic, so signing the
  // same text with the same seed must give Go's exact bytes.
  const GO_SEED = b64('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz').subarray(1);
  const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
  const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
  const GO_TEXT =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
  const PETER_B64 = 'x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=';
  const PETER_SIG = `\u2014 PeterNeumann ${PETER_B64}\n`;
  const ENOCH_SIG =
    '\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

  it('matches Go sumdb/note byte for byte: key id, verifier key and signature', () => {
    const priv = privateKeyFromSeed(GO_SEED);
    const pub = publicKeyRaw(priv);
    expect(keyIdOf('PeterNeumann', pub).toString('hex')).toBe('c74f20a3');
    expect(verifierKey('PeterNeumann', pub)).toBe(GO_VKEY);
    expect(signNote(GO_TEXT, { name: 'PeterNeumann', privateKey: priv })).toBe(`${GO_TEXT}\n${PETER_SIG}`);
    expect(privateKeyFromSeed(GO_SEED.toString('base64')).export({ format: 'jwk' })).toEqual(
      priv.export({ format: 'jwk' }),
    );
  });

  it("opens Go's notes: unknown signers are ignored, a bad known signature rejects", () => {
    const peter = parseVerifierKey(GO_VKEY);
    const enoch = parseVerifierKey(ENOCH_VKEY);
    const msg = GO_TEXT + '\n' + PETER_SIG + ENOCH_SIG;
    expect(verifyNote(msg, peter).body).toBe(GO_TEXT);
    expect(verifyNote(msg, { name: enoch.name, publicKey: publicKeyFromRaw(enoch.publicKey) }).signatures).toHaveLength(
      2,
    );
    const broken = GO_TEXT + '\n' + PETER_SIG.slice(0, 60) + 'ABCD' + PETER_SIG.slice(60);
    expect(() => verifyNote(broken, peter)).toThrow(/invalid signature for key PeterNeumann\+c74f20a3/);
    expect(() => verifyNote(GO_TEXT + '\n' + ENOCH_SIG, peter)).toThrow(/no signature by key PeterNeumann/);
    expect(() => parseVerifierKey(GO_VKEY.replace('c74f20a3', 'c74f20a4'))).toThrow(/key id/);
    expect(() => parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')).toThrow();
  });

  it("rejects the malformed notes Go's Open rejects", () => {
    const bad = [
      GO_TEXT,
      GO_TEXT + '\n',
      GO_TEXT + '\n' + PETER_SIG.slice(0, -1),
      '\x01' + GO_TEXT + '\n' + PETER_SIG,
      `${GO_TEXT}\n\u2014 Bad Name ${PETER_B64}\n`,
      GO_TEXT + '\n' + PETER_SIG + 'Unexpected line.\n',
      GO_TEXT + '\n' + PETER_SIG.repeat(101),
      GO_TEXT + '\n' + PETER_SIG.replace('\u2014', '--'),
    ];
    for (const m of bad) expect(() => parseSignedNote(m), JSON.stringify(m.slice(-30))).toThrow(/malformed note/);
    expect(() =>
      parseSignedNote(Buffer.concat([Buffer.from([0xff]), Buffer.from(GO_TEXT + '\n' + PETER_SIG)])),
    ).toThrow(/UTF-8/);
    expect(parseSignedNote(Buffer.from(GO_TEXT + '\n' + PETER_SIG)).signatures[0].keyId.toString('hex')).toBe(
      'c74f20a3',
    );
  });

  const origin = 'ngo.example/audit-log';
  const seed = generateSigningSeed();
  const priv = privateKeyFromSeed(seed);
  const key = { name: origin, publicKey: publicKeyRaw(priv) };
  const root = leafHash(Buffer.from('some root'));

  it('round-trips a checkpoint through sign and verify', () => {
    expect(b64(seed)).toHaveLength(32);
    const body = formatCheckpoint({ origin, size: 1234, rootHash: root });
    expect(body).toBe(`${origin}\n1234\n${root.toString('base64')}\n`);
    const note = signNote(body, { name: origin, privateKey: priv });
    expect(note.startsWith(`${body}\n\u2014 ${origin} `)).toBe(true);
    const cp = verifyCheckpoint(note, key);
    expect(cp).toMatchObject({ origin, size: 1234, rootHash: root, extensions: [] });
    const withExt = signNote(formatCheckpoint({ origin, size: 0, rootHash: emptyRoot(), extensions: ['x y z'] }), {
      name: origin,
      privateKey: priv,
    });
    expect(verifyCheckpoint(withExt, key)).toMatchObject({ size: 0, rootHash: emptyRoot(), extensions: ['x y z'] });
    // The raw public key agrees with the one node:crypto derives itself.
    expect(publicKeyRaw(priv).toString('base64url')).toBe(priv.export({ format: 'jwk' }).x);
  });

  it('any one-character change, another key, or another key name fails', () => {
    const note = signNote(formatCheckpoint({ origin, size: 1234, rootHash: root }), { name: origin, privateKey: priv });
    expect(() => verifyCheckpoint(note.replace('\n1234\n', '\n1235\n'), key)).toThrow(/invalid signature/);
    for (let i = 0; i < note.length; i++) {
      const c = note[i] === 'A' ? 'B' : note[i] === '\n' ? ' ' : 'A';
      const changed = note.slice(0, i) + c + note.slice(i + 1);
      if (changed !== note) expect(() => verifyCheckpoint(changed, key), `char ${i}`).toThrow();
    }
    const other = generateKeyPairSync('ed25519').privateKey;
    const forged = signNote(formatCheckpoint({ origin, size: 1234, rootHash: root }), {
      name: origin,
      privateKey: other,
    });
    expect(() => verifyCheckpoint(forged, key)).toThrow(/no signature by key/);
    expect(() => verifyCheckpoint(note, { name: 'ngo.example/other', publicKey: key.publicKey })).toThrow(
      /no signature by key/,
    );
    // Same key id and name, but the signature bytes are someone else's: must be rejected, not skipped.
    const swapped = note.replace(
      / \S+\n$/,
      ` ${Buffer.concat([keyIdOf(origin, key.publicKey), Buffer.alloc(64, 1)]).toString('base64')}\n`,
    );
    expect(() => verifyCheckpoint(swapped, key)).toThrow(/invalid signature/);
  });

  it('accepts witness cosignatures next to the log signature; checks the origin line', () => {
    const witness = privateKeyFromSeed(generateSigningSeed());
    const body = formatCheckpoint({ origin, size: 9, rootHash: root });
    const note = signNote(body, [
      { name: origin, privateKey: priv },
      { name: 'witness.example', privateKey: witness },
    ]);
    expect(verifyCheckpoint(note, key).size).toBe(9);
    expect(
      verifyCheckpoint(note, { name: 'witness.example', publicKey: witness }, { expectedOrigin: origin }).size,
    ).toBe(9);
    expect(() => verifyCheckpoint(note, { name: 'witness.example', publicKey: witness })).toThrow(
      /expected "witness.example"/,
    );
  });

  it('parses the tlog-checkpoint example and refuses ambiguous bodies', () => {
    const cp = parseCheckpoint('example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n');
    expect(cp).toMatchObject({ origin: 'example.com/behind-the-sofa', size: 20852163, extensions: [] });
    expect(cp.rootHash).toHaveLength(32);
    const r = root.toString('base64');
    for (const bad of [
      `o\n01\n${r}\n`,
      `o\n-1\n${r}\n`,
      `o\n1\n${r}`,
      `o\n1\n${r}\n\n`,
      `o\n1\n${r.slice(0, -1)}\n`,
      `o\n1\nAAAA\n`,
      `o\n1\n`,
    ]) {
      expect(() => parseCheckpoint(bad), JSON.stringify(bad)).toThrow(/malformed checkpoint|base64/);
    }
    expect(() => formatCheckpoint({ origin: 'a\nb', size: 1, rootHash: root })).toThrow();
    expect(() => formatCheckpoint({ origin, size: -1, rootHash: root })).toThrow();
    expect(() => formatCheckpoint({ origin, size: 1, rootHash: root.subarray(1) })).toThrow();
    expect(() => signNote('no newline', { name: origin, privateKey: priv })).toThrow(/newline/);
    expect(() => signNote('x\n', { name: 'has space', privateKey: priv })).toThrow(/invalid key name/);
    expect(() => privateKeyFromSeed(Buffer.alloc(31))).toThrow(/32 bytes/);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('scripts/verify-custody.mjs', () => {
  it('verifies a custody file offline and names the first problem when one byte changes', () => {
    const origin = 'ngo.example/audit';
    const priv = privateKeyFromSeed(generateSigningSeed());
    const pub = publicKeyRaw(priv);
    // Entries with keys out of order and nesting, so canonical JSON (not JSON.stringify) is what is hashed.
    const entries = Array.from({ length: 11 }, (_, i) => ({
      v: 1,
      id: String(100 + i),
      action: i % 2 ? 'case.update' : 'test.write',
      changes: { zeta: { new: i, old: null }, alpha: ['b', { y: 1, x: 'é' }] },
      caseId: i < 6 ? 'case-1' : 'case-2',
    }));
    const leaves = entries.map((e) => leafHash(Buffer.from(canonicalJson(e), 'utf8')));
    const written = appendLeaves(0, leaves.slice(0, 4), new Map());
    written.push(...appendLeaves(4, leaves.slice(4), nodeMap(written)));
    const store = nodeMap(written);
    const size = leaves.length;
    const checkpoint = signNote(formatCheckpoint({ origin, size, rootHash: rootAt(size, store) }), {
      name: origin,
      privateKey: priv,
    });
    const mine = [0, 3, 5].map((leafIndex) => ({
      entry: entries[leafIndex],
      leafIndex,
      proof: {
        leafIndex,
        treeSize: size,
        leafHash: leaves[leafIndex].toString('base64'),
        hashes: inclusionProofFrom(leafIndex, size, store).map((h) => h.toString('base64')),
      },
    }));
    const custody = {
      checkpoint,
      publicKey: {
        keyId: keyIdOf(origin, pub).toString('hex'),
        algorithm: 'Ed25519',
        publicKey: pub.toString('base64'),
        origin,
      },
      entries: mine,
      pending: 0,
    };
    const dir = mkdtempSync(path.join(os.tmpdir(), 'custody-'));
    const run = (content: string) => {
      const file = path.join(dir, 'custody.json');
      writeFileSync(file, content);
      return spawnSync(process.execPath, [SCRIPT, file], { encoding: 'utf8' });
    };
    const text = JSON.stringify(custody, null, 2);

    const ok = run(text);
    expect(ok.stdout + ok.stderr).toMatch(`OK: 3 entries verified against checkpoint ${origin} size 11`);
    expect(ok.status).toBe(0);

    const oneByte = run(text.replace('"action": "test.write"', '"action": "test.writf"'));
    expect(oneByte.status).toBe(1);
    expect(oneByte.stderr).toMatch(/entry #0 .*does not hash to the leaf/);

    const nested = run(text.replace('"x": "é"', '"x": "e"'));
    expect(nested.status).toBe(1);

    // The attacker recomputes the leaf hash too: then the inclusion proof no longer reaches the signed root.
    const forged = structuredClone(custody);
    forged.entries[1].entry.action = 'case.delete';
    forged.entries[1].proof.leafHash = leafHash(Buffer.from(canonicalJson(forged.entries[1].entry))).toString('base64');
    const proofFail = run(JSON.stringify(forged));
    expect(proofFail.status).toBe(1);
    expect(proofFail.stderr).toMatch(/entry #1 .*inclusion proof/);

    const truncated = structuredClone(custody);
    truncated.entries[2].proof.hashes.pop();
    expect(run(JSON.stringify(truncated)).stderr).toMatch(/inclusion proof/);

    const resigned = {
      ...custody,
      checkpoint: signNote(formatCheckpoint({ origin, size, rootHash: rootAt(size, store) }), {
        name: origin,
        privateKey: generateKeyPairSync('ed25519').privateKey,
      }),
    };
    const sigFail = run(JSON.stringify(resigned));
    expect(sigFail.status).toBe(1);
    expect(sigFail.stderr).toMatch(/no signature by/);

    const bumped = run(
      JSON.stringify({ ...custody, checkpoint: checkpoint.replace(`\n${size}\n`, `\n${size + 1}\n`) }),
    );
    expect(bumped.status).toBe(1);
    expect(bumped.stderr).toMatch(/signature is invalid/);

    expect(run('not json').status).toBe(1);
  });
});
