/**
 * Signed checkpoints of the audit Merkle log, in the C2SP formats the transparency ecosystem reads:
 *   - c2sp.org/signed-note (Go's golang.org/x/mod/sumdb/note): text + blank line + "— name base64(keyid‖sig)"
 *   - c2sp.org/tlog-checkpoint: the note text is "origin\nsize\nbase64(root)\n[extension lines]"
 * Ed25519 only (signature type 0x01). node:crypto only, no I/O.
 *
 * Because the wire format matches Go's note package byte for byte, third parties can verify our
 * checkpoints with stock tooling (e.g. witnesses), given the verifier key from {@link verifierKey}.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';

const SIG_PREFIX = '\u2014 '; // EM DASH + space
const ALG_ED25519 = 0x01;
const MAX_SIGNATURES = 100; // Go's note.Open limit: bounds the work an attacker-supplied note can cause.
const ED25519_SIG_SIZE = 64;
// DER wrappers for raw Ed25519 keys (RFC 8410): node:crypto imports keys only as PKCS8/SPKI/JWK.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface CheckpointInput {
  origin: string;
  size: number;
  rootHash: Buffer | Uint8Array;
  extensions?: readonly string[];
}
export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
  extensions: string[];
}
export interface NoteSigner {
  name: string;
  privateKey: KeyObject;
}
export interface NoteVerifier {
  name: string;
  /** Raw 32-byte Ed25519 public key, or a KeyObject. */
  publicKey: Buffer | Uint8Array | KeyObject;
}
export interface NoteSignature {
  name: string;
  /** 4-byte key id as sent (big-endian uint32). */
  keyId: Buffer;
  signature: Buffer;
}
export interface SignedNote {
  /** The signed text, including its final newline. */
  body: string;
  signatures: NoteSignature[];
}

// ---------------------------------------------------------------------------------------------------------
// Keys.

/** Ed25519 private key from a 32-byte seed (raw bytes or its base64). */
export function privateKeyFromSeed(seed: Buffer | Uint8Array | string): KeyObject {
  const raw = typeof seed === 'string' ? decodeBase64Strict(seed, 'seed') : Buffer.from(seed);
  if (raw.length !== 32) throw new Error(`an Ed25519 seed is 32 bytes, got ${raw.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

/** Raw 32-byte public key of an Ed25519 private or public KeyObject. */
export function publicKeyRaw(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 key, got ${pub.asymmetricKeyType}`);
  const der = pub.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - 32));
}

/** Ed25519 public KeyObject from its raw 32 bytes. */
export function publicKeyFromRaw(raw: Buffer | Uint8Array): KeyObject {
  if (raw.length !== 32) throw new Error(`an Ed25519 public key is 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** A fresh random 32-byte seed, base64 — what goes into the signing-key setting. */
export function generateSigningSeed(): string {
  return randomBytes(32).toString('base64');
}

/** C2SP key id: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ pub)[:4] — the first 4 bytes of a signature line. */
export function keyIdOf(name: string, publicKeyRaw32: Buffer | Uint8Array): Buffer {
  if (publicKeyRaw32.length !== 32) throw new Error(`an Ed25519 public key is 32 bytes, got ${publicKeyRaw32.length}`);
  const h = createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.from([0x0a, ALG_ED25519]));
  return h.update(publicKeyRaw32).digest().subarray(0, 4);
}

/**
 * The verifier key string of sumdb/note and C2SP witnesses: `name+hex(keyid)+base64(0x01 ‖ pub)`,
 * e.g. `PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW`. Publish it with the log.
 */
export function verifierKey(name: string, publicKeyRaw32: Buffer | Uint8Array): string {
  assertKeyName(name);
  const id = keyIdOf(name, publicKeyRaw32).toString('hex');
  return `${name}+${id}+${Buffer.concat([Buffer.from([ALG_ED25519]), publicKeyRaw32]).toString('base64')}`;
}

/** Parses a verifier key string, checking that its key id matches its name and key. */
export function parseVerifierKey(vkey: string): { name: string; keyId: Buffer; publicKey: Buffer } {
  const parts = vkey.split('+');
  if (parts.length !== 3 || !/^[0-9a-f]{8}$/.test(parts[1])) throw new Error('malformed verifier key');
  const [name, hex, b64] = parts;
  assertKeyName(name);
  const raw = decodeBase64Strict(b64, 'verifier key');
  if (raw.length !== 33 || raw[0] !== ALG_ED25519) throw new Error('verifier key is not a 32-byte Ed25519 key');
  const publicKey = raw.subarray(1);
  const keyId = keyIdOf(name, publicKey);
  if (keyId.toString('hex') !== hex) throw new Error('verifier key id does not match its name and key');
  return { name, keyId, publicKey };
}

// ---------------------------------------------------------------------------------------------------------
// Checkpoint body (c2sp.org/tlog-checkpoint).

/** The note text of a checkpoint, ending in a newline. Throws on anything a verifier would reject. */
export function formatCheckpoint({ origin, size, rootHash, extensions = [] }: CheckpointInput): string {
  if (!origin || /\n/.test(origin)) throw new Error('checkpoint origin must be one non-empty line');
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`checkpoint size must be a non-negative integer`);
  if (rootHash.length !== 32) throw new Error(`checkpoint root hash must be 32 bytes, got ${rootHash.length}`);
  if (extensions.some((e) => !e || /\n/.test(e))) throw new Error('checkpoint extension lines must be non-empty lines');
  const body = [origin, String(size), Buffer.from(rootHash).toString('base64'), ...extensions].join('\n') + '\n';
  assertNoteText(body);
  return body;
}

/** Parses checkpoint note text (already authenticated, or for display). */
export function parseCheckpoint(body: string): Checkpoint {
  if (!body.endsWith('\n')) throw new Error('malformed checkpoint: text must end with a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) throw new Error('malformed checkpoint: needs origin, size and root hash lines');
  if (lines.some((l) => l === '')) throw new Error('malformed checkpoint: empty line');
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  // No leading zeros, so one checkpoint has exactly one encoding (a signature can't be replayed on a twin).
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine)) throw new Error(`malformed checkpoint: bad tree size "${sizeLine}"`);
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw new Error(`malformed checkpoint: tree size ${sizeLine} is too large`);
  const rootHash = decodeBase64Strict(rootLine, 'checkpoint root hash');
  if (rootHash.length !== 32) throw new Error(`malformed checkpoint: root hash is ${rootHash.length} bytes, not 32`);
  return { origin, size, rootHash, extensions };
}

// ---------------------------------------------------------------------------------------------------------
// Signed notes (c2sp.org/signed-note).

/** Signs note text (must end with a newline) with one or more keys; returns the full signed note. */
export function signNote(body: string, signers: NoteSigner | readonly NoteSigner[]): string {
  assertNoteText(body);
  if (!body.endsWith('\n')) throw new Error('note text must end with a newline');
  // Array.isArray does not narrow a readonly array union; not an array means a single signer.
  const list = Array.isArray(signers) ? signers : [signers as NoteSigner];
  if (list.length === 0) throw new Error('signNote needs at least one signer');
  const data = Buffer.from(body, 'utf8');
  const lines = list.map(({ name, privateKey }) => {
    assertKeyName(name);
    const keyId = keyIdOf(name, publicKeyRaw(privateKey));
    const sig = sign(null, data, privateKey);
    return `${SIG_PREFIX}${name} ${Buffer.concat([keyId, sig]).toString('base64')}\n`;
  });
  return `${body}\n${lines.join('')}`;
}

/**
 * Splits a signed note into its text and signature lines, with the syntax checks of Go's note.Open.
 * Verifies nothing: the result is untrusted until {@link verifyNote} accepts it.
 */
export function parseSignedNote(text: string | Buffer | Uint8Array): SignedNote {
  let s: string;
  if (typeof text === 'string') {
    s = text;
    // Lone surrogates would be signed as U+FFFD bytes and so could never round-trip; reject them as Go does.
    if (Buffer.from(s, 'utf8').toString('utf8') !== s) throw new Error('malformed note: not valid UTF-8');
  } else {
    try {
      s = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(text);
    } catch {
      throw new Error('malformed note: not valid UTF-8');
    }
  }
  assertNoteText(s);
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw new Error('malformed note: no blank line before the signatures');
  const body = s.slice(0, split + 1);
  let sigs = s.slice(split + 2);
  if (sigs === '' || !sigs.endsWith('\n')) throw new Error('malformed note: no signature lines, or no final newline');
  const signatures: NoteSignature[] = [];
  while (sigs) {
    const nl = sigs.indexOf('\n');
    const line = sigs.slice(0, nl);
    sigs = sigs.slice(nl + 1);
    if (!line.startsWith(SIG_PREFIX)) throw new Error(`malformed note: "${line.slice(0, 40)}" is not a signature line`);
    const rest = line.slice(SIG_PREFIX.length);
    const sp = rest.indexOf(' ');
    const name = sp < 0 ? rest : rest.slice(0, sp);
    const b64 = sp < 0 ? '' : rest.slice(sp + 1);
    if (!isValidKeyName(name)) throw new Error('malformed note: bad key name in a signature line');
    let raw: Buffer;
    try {
      raw = decodeBase64Strict(b64, 'signature');
    } catch {
      throw new Error(`malformed note: signature by ${name} is not base64`);
    }
    if (raw.length < 5) throw new Error(`malformed note: signature by ${name} is too short`);
    if (signatures.length >= MAX_SIGNATURES) throw new Error(`malformed note: more than ${MAX_SIGNATURES} signatures`);
    signatures.push({ name, keyId: raw.subarray(0, 4), signature: raw.subarray(4) });
  }
  return { body, signatures };
}

/**
 * Verifies a signed note against one trusted key, following the spec: lines whose (name, key id) don't
 * match the key are ignored (other witnesses, rotated keys); a matching line that fails to verify
 * rejects the note; no matching line rejects it too. Returns the parsed note; throws with a reason.
 */
export function verifyNote(text: string | Buffer | Uint8Array, verifier: NoteVerifier): SignedNote {
  const note = parseSignedNote(text);
  const key = verifier.publicKey;
  const raw = isKeyObject(key) ? publicKeyRaw(key) : Buffer.from(key);
  const keyObject = isKeyObject(key) ? key : publicKeyFromRaw(raw);
  const keyId = keyIdOf(verifier.name, raw);
  const label = `${verifier.name}+${keyId.toString('hex')}`;
  const data = Buffer.from(note.body, 'utf8');
  let verified = false;
  for (const sig of note.signatures) {
    if (sig.name !== verifier.name || !sig.keyId.equals(keyId)) continue;
    const ok = sig.signature.length === ED25519_SIG_SIZE && verify(null, data, keyObject, sig.signature);
    if (!ok) throw new Error(`invalid signature for key ${label}: the note was altered or forged`);
    verified = true;
  }
  if (!verified) {
    const seen = note.signatures.map((s) => `${s.name}+${s.keyId.toString('hex')}`).join(', ');
    throw new Error(`note has no signature by key ${label} (signed by: ${seen})`);
  }
  return note;
}

/**
 * Verifies a signed checkpoint and returns its contents. By default the origin line must equal the key
 * name (tlog-checkpoint's SHOULD, made a MUST here so a checkpoint of another log signed by the same key
 * is not accepted); pass `expectedOrigin` to require a different one, or null to skip the check.
 */
export function verifyCheckpoint(
  text: string | Buffer | Uint8Array,
  verifier: NoteVerifier,
  options: { expectedOrigin?: string | null } = {},
): Checkpoint & { note: SignedNote } {
  const note = verifyNote(text, verifier);
  const cp = parseCheckpoint(note.body);
  const expected = options.expectedOrigin === undefined ? verifier.name : options.expectedOrigin;
  if (expected !== null && cp.origin !== expected) {
    throw new Error(`checkpoint is for log "${cp.origin}", expected "${expected}"`);
  }
  return { ...cp, note };
}

// ---------------------------------------------------------------------------------------------------------

function isKeyObject(k: unknown): k is KeyObject {
  return (
    // A structural probe: only a KeyObject has both members.
    typeof k === 'object' && k !== null && 'asymmetricKeyType' in k && typeof (k as KeyObject).export === 'function'
  );
}

/** Go's isValidName: non-empty, no Unicode white space (unicode.IsSpace), no '+'. */
function isValidKeyName(name: string): boolean {
  return name !== '' && !/[\p{White_Space}+]/u.test(name);
}

function assertKeyName(name: string): void {
  if (!isValidKeyName(name)) throw new Error(`invalid key name "${name}": must be non-empty, without spaces or "+"`);
}

function assertNoteText(s: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f]/.test(s)) throw new Error('malformed note: control characters other than newline');
}

/** Standard padded base64 (RFC 4648 §4), canonical only: Buffer.from(…, 'base64') alone accepts anything. */
function decodeBase64Strict(s: string, what: string): Buffer {
  const buf = Buffer.from(s, 'base64');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0 || buf.toString('base64') !== s) {
    throw new Error(`${what} is not canonical base64`);
  }
  return buf;
}
