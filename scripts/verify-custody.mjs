#!/usr/bin/env node
// Verifies a case's chain-of-custody file offline with nothing but Node: each entry hashes to its leaf, each
// leaf is in the signed checkpoint's tree (RFC 9162 inclusion proof), and the checkpoint (C2SP signed note)
// carries the log's Ed25519 signature. No dependencies, so an outside expert can read all of it.
// Usage: node scripts/verify-custody.mjs custody.json
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';

const sha256 = (...parts) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
const b64 = (s) => Buffer.from(String(s ?? ''), 'base64');
const fail = (msg) => {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
};
// Must stay byte-identical to src/lib/canonical-json.ts: keys sorted at every depth, no whitespace.
const canonicalJson = (v) => {
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const sorted = Object.entries(v)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${sorted.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
};
// RFC 9162 §2.1.3.2, verbatim.
const verifyInclusion = (index, size, leaf, proof, root) => {
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) return false;
  let [fn, sn, r] = [index, size - 1, leaf];
  for (const p of proof) {
    if (sn === 0 || p.length !== 32) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = sha256(Buffer.from([1]), p, r);
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn / 2, Math.floor(sn / 2)];
    } else r = sha256(Buffer.from([1]), r, p);
    [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  }
  return sn === 0 && r.equals(root);
};

if (process.argv.length !== 3) fail('usage: node scripts/verify-custody.mjs custody.json');
let file;
try {
  file = JSON.parse(readFileSync(process.argv[2], 'utf8'));
} catch (e) {
  fail(`cannot read the custody file: ${e.message}`);
}
const { checkpoint, publicKey: pk, entries } = file ?? {};
const shapeOk = typeof checkpoint === 'string' && typeof pk?.origin === 'string' && Array.isArray(entries);
if (!shapeOk) fail('not a custody file: it needs checkpoint, publicKey and entries');
const pub = b64(pk.publicKey);
if (pk.algorithm !== 'Ed25519' || pub.length !== 32) fail('the public key is not a 32-byte Ed25519 key');

// Signed note: text, blank line, "— <name> base64(key id(4) ‖ signature(64))" lines. The key id commits to
// name and key (SHA-256(name ‖ \n ‖ 0x01 ‖ key)[:4]); lines from other keys (witnesses) are ignored.
const keyId = sha256(pk.origin, Buffer.from([0x0a, 0x01]), pub).subarray(0, 4);
if (pk.keyId && pk.keyId !== keyId.toString('hex')) fail(`key id ${pk.keyId} does not match the key and origin`);
const split = checkpoint.lastIndexOf('\n\n');
if (split < 0) fail('the checkpoint is not a signed note');
const body = checkpoint.slice(0, split + 1);
const sigs = checkpoint
  .slice(split + 2)
  .split('\n')
  .map((l) => /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(l))
  .filter(Boolean);
const mine = sigs.filter((m) => m[1] === pk.origin && b64(m[2]).subarray(0, 4).equals(keyId)).map((m) => b64(m[2]));
if (!mine.length) fail(`the checkpoint has no signature by ${pk.origin}+${keyId.toString('hex')}`);
const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub]);
const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
if (!mine.every((s) => verify(null, Buffer.from(body, 'utf8'), key, s.subarray(4)))) {
  fail('the checkpoint signature is invalid: the checkpoint was altered or signed with another key');
}
const [origin, sizeLine, rootLine] = body.split('\n');
const [size, root] = [Number(sizeLine), b64(rootLine)];
if (origin !== pk.origin || !/^(0|[1-9]\d*)$/.test(sizeLine) || root.length !== 32) fail('malformed checkpoint');

entries.forEach((e, i) => {
  const [p, what] = [e?.proof ?? {}, `entry #${i} (leaf ${e?.leafIndex})`];
  const leaf = sha256(Buffer.from([0]), Buffer.from(canonicalJson(e?.entry), 'utf8'));
  if (!leaf.equals(b64(p.leafHash))) fail(`${what}: its content does not hash to the leaf in its proof`);
  if (p.leafIndex !== e.leafIndex || p.treeSize !== size) fail(`${what}: its proof is for another leaf or tree`);
  const hashes = Array.isArray(p.hashes) ? p.hashes.map(b64) : [];
  if (!verifyInclusion(p.leafIndex, size, leaf, hashes, root)) fail(`${what}: inclusion proof does not reach the root`);
});
console.log(`OK: ${entries.length} entries verified against checkpoint ${origin} size ${size}`);
