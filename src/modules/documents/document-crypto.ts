// Per-document encryption: a random 256-bit data key per document, the body
// cut into 64 KiB chunks, each sealed with AES-256-GCM (the STREAM construction
// of Hoang, Reyhanitabar, Rogaway and Vizár: nonce = chunk index ‖ last-chunk
// flag under a key used for one document only, so nonces never repeat).
//
// What each chunk's associated data binds, and the attack it stops:
//   document id      a chunk moved from another document fails (and the keys differ anyway)
//   chunk index      chunks swapped or reordered fail
//   last-chunk flag  a truncated body fails: its new last chunk was sealed as "not last"
// On top, a manifest MAC (HMAC-SHA256 over the document id, the chunk count
// and every chunk's tag) is checked before a download sends its first byte,
// so swaps, reorders, truncations and foreign chunks answer a clean 500 rather
// than a response cut off mid-way.
//
// The data key never touches storage in clear: it is wrapped by the
// field-encryption keyring (src/lib/field-crypto.ts, the document id bound as
// associated data), so `rotate-keys` re-wraps it without reading file bodies.
// Two subkeys are derived with HKDF: one for GCM, one for the manifest MAC.
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import type { FieldCrypto } from '../../lib/field-crypto.ts';

export const CHUNK_SIZE = 64 * 1024;
export const TAG_BYTES = 16;

/** Raised when stored ciphertext fails authentication: tampering or corruption, never the caller's fault. */
export class IntegrityError extends Error {
  constructor(readonly reason: string) {
    super(`document integrity check failed: ${reason}`);
    this.name = 'IntegrityError';
  }
}

export const wrapRef = (documentId: string) => ({ table: 'documents', column: 'wrapped_key', rowId: documentId });

export class DocumentKey {
  /** A KeyObject: not copied into OpenSSL again for every chunk. */
  private readonly encKey: KeyObject;
  private readonly macKey: Buffer;
  private readonly idBytes: Buffer;

  private constructor(
    readonly documentId: string,
    dataKey: Buffer,
  ) {
    this.encKey = createSecretKey(
      Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), 'exile-case/document/v1/enc', 32)),
    );
    this.macKey = Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), 'exile-case/document/v1/mac', 32));
    this.idBytes = Buffer.from(documentId.replace(/-/g, ''), 'hex');
    if (this.idBytes.length !== 16) throw new Error('document id must be a UUID');
  }

  /** A fresh key for a new document, and its wrapped form for the documents row. */
  static generate(documentId: string, crypto: FieldCrypto): { key: DocumentKey; wrapped: string } {
    const dataKey = randomBytes(32);
    const wrapped = crypto.encrypt(dataKey.toString('base64'), wrapRef(documentId));
    return { key: new DocumentKey(documentId, dataKey), wrapped };
  }

  static unwrap(documentId: string, wrapped: string, crypto: FieldCrypto): DocumentKey {
    let dataKey: Buffer;
    try {
      dataKey = Buffer.from(crypto.decrypt(wrapped, wrapRef(documentId)), 'base64');
    } catch {
      throw new IntegrityError('data key does not unwrap');
    }
    if (dataKey.length !== 32) throw new IntegrityError('data key has the wrong length');
    return new DocumentKey(documentId, dataKey);
  }

  private nonce(index: number, last: boolean): Buffer {
    const n = Buffer.alloc(12);
    n.writeUInt32BE(index, 7);
    n[11] = last ? 1 : 0;
    return n;
  }

  private aad(index: number, last: boolean): Buffer {
    const a = Buffer.alloc(16 + 4 + 1);
    this.idBytes.copy(a, 0);
    a.writeUInt32BE(index, 16);
    a[20] = last ? 1 : 0;
    return Buffer.concat([Buffer.from('exile-case/document-chunk/v1\u0000'), a]);
  }

  /**
   * Ciphertext ‖ tag of one chunk whose plaintext is given whole or in pieces, as pieces (the ciphertext of
   * each plaintext piece, then the tag): stored back to back, never joined by a copy.
   */
  seal(index: number, last: boolean, plain: Buffer | readonly Buffer[]): Buffer[] {
    const c = createCipheriv('aes-256-gcm', this.encKey, this.nonce(index, last));
    c.setAAD(this.aad(index, last));
    const out: Buffer[] = [];
    for (const p of Buffer.isBuffer(plain) ? [plain] : plain) if (p.length) out.push(c.update(p));
    // GCM's final() emits no bytes.
    const rest = c.final();
    if (rest.length) out.push(rest);
    out.push(c.getAuthTag());
    return out;
  }

  open(index: number, last: boolean, body: Buffer): Buffer {
    if (body.length < TAG_BYTES) throw new IntegrityError(`chunk ${index} is too short`);
    try {
      const d = createDecipheriv('aes-256-gcm', this.encKey, this.nonce(index, last));
      d.setAAD(this.aad(index, last));
      d.setAuthTag(body.subarray(body.length - TAG_BYTES));
      const plain = d.update(body.subarray(0, body.length - TAG_BYTES));
      // final() checks the tag; for GCM it returns no bytes, so the plaintext is not copied again.
      const rest = d.final();
      return rest.length ? Buffer.concat([plain, rest]) : plain;
    } catch {
      throw new IntegrityError(`chunk ${index} fails authentication`);
    }
  }

  /** HMAC over the id, the count and every chunk's tag, in order (base64url). */
  manifestMac(tags: readonly Buffer[]): string {
    const h = createHmac('sha256', this.macKey);
    h.update('exile-case/document-manifest/v1\u0000');
    h.update(this.idBytes);
    const count = Buffer.alloc(4);
    count.writeUInt32BE(tags.length);
    h.update(count);
    for (const t of tags) h.update(t);
    return h.digest('base64url');
  }

  checkManifest(tags: readonly Buffer[], expected: string): void {
    const actual = Buffer.from(this.manifestMac(tags));
    const want = Buffer.from(expected);
    if (actual.length !== want.length || !timingSafeEqual(actual, want)) {
      throw new IntegrityError('chunk manifest does not match');
    }
  }
}
