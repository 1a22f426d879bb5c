// Field-level encryption of personal data (AES-256-GCM) and keyed blind indexes.
//
// Stored form: "v1.<keyId>.<nonce b64url>.<ciphertext+tag b64url>". The table,
// column and row id are bound as associated data, so a ciphertext copied into
// another row or column fails authentication instead of decrypting there.
// Nonces are random 96-bit values: with far fewer than 2^32 encryptions per key
// the collision risk stays negligible (NIST SP 800-38D §8.3); rotate keys with
// `npm run cli -- rotate-keys`.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

export type FieldRef = { table: string; column: string; rowId: string };

export class FieldCrypto {
  constructor(
    private readonly keys: Map<string, Buffer>,
    readonly currentKeyId: string,
    private readonly blindIndexKey: Buffer,
  ) {
    if (!keys.has(currentKeyId)) throw new Error('current encryption key missing from keyring');
  }

  private aad(ref: FieldRef): Buffer {
    return Buffer.from(`${ref.table}\u0000${ref.column}\u0000${ref.rowId}`);
  }

  encrypt(plaintext: string, ref: FieldRef): string {
    const key = this.keys.get(this.currentKeyId)!;
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(this.aad(ref));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `v1.${this.currentKeyId}.${nonce.toString('base64url')}.${ct.toString('base64url')}`;
  }

  encryptNullable(plaintext: string | null | undefined, ref: FieldRef): string | null {
    return plaintext === null || plaintext === undefined ? null : this.encrypt(plaintext, ref);
  }

  decrypt(stored: string, ref: FieldRef): string {
    const parts = stored.split('.');
    if (parts.length !== 4 || parts[0] !== 'v1') throw new Error('malformed ciphertext');
    const key = this.keys.get(parts[1]);
    if (!key) throw new Error(`unknown encryption key id ${parts[1]}`);
    const nonce = Buffer.from(parts[2], 'base64url');
    const body = Buffer.from(parts[3], 'base64url');
    if (nonce.length !== 12 || body.length < 16) throw new Error('malformed ciphertext');
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(this.aad(ref));
    decipher.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
  }

  decryptNullable(stored: string | null | undefined, ref: FieldRef): string | null {
    return stored ? this.decrypt(stored, ref) : null;
  }

  keyIdOf(stored: string): string {
    return stored.split('.')[1] ?? '';
  }

  /** Re-encrypts under the current key when the value uses an older one. */
  reencrypt(stored: string, ref: FieldRef): string | null {
    if (this.keyIdOf(stored) === this.currentKeyId) return null;
    return this.encrypt(this.decrypt(stored, ref), ref);
  }

  /**
   * Keyed blind index (HMAC-SHA256) of a normalised value: equal inputs match
   * without the database ever holding the value. A purpose label keeps indexes
   * of different fields unlinkable.
   */
  blindIndex(purpose: string, value: string): string {
    return createHmac('sha256', this.blindIndexKey).update(`${purpose}\u0000${value}`).digest('base64url');
  }
}

/** Normalises a legal name for duplicate detection: case, accents, spacing, Cyrillic ё. */
export function normaliseName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/ё/g, 'е')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .split(' ')
    .filter(Boolean)
    .sort()
    .join(' ');
}
