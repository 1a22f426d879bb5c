// Encryption of the archive as it streams: the age format (age-encryption.org/v1)
// through the maintained `age-encryption` package. Chosen over libsodium's
// secretstream because age is a file format, not just a primitive: the
// header, key wrapping (scrypt passphrase or X25519 recipient), 64 KiB
// ChaCha20-Poly1305 chunks and the final-chunk flag (which makes truncation
// detectable) are specified and interoperable, so an operator can decrypt a
// backup with the `age` or `rage` command-line tools on any machine, without
// this code. Every chunk is authenticated before its plaintext is released.
import { Decrypter, Encrypter } from 'age-encryption';
import { PASSWORD_MIN_LENGTH } from '../passwords.ts';

export type BackupKey =
  { passphrase: string; scryptWorkFactor?: number } | { recipients: string[] } | { identities: string[] };

/** age's own default (2^18): about a second and 256 MiB, once per backup or restore. */
export const DEFAULT_SCRYPT_WORK_FACTOR = 18;

export class BackupKeyError extends Error {}

export function checkPassphrase(p: string): void {
  if (p.length < PASSWORD_MIN_LENGTH) {
    throw new BackupKeyError(`the backup passphrase must be at least ${PASSWORD_MIN_LENGTH} characters`);
  }
}

export async function encryptStream(
  plain: ReadableStream<Uint8Array>,
  key: BackupKey,
): Promise<ReadableStream<Uint8Array>> {
  const e = new Encrypter();
  if ('passphrase' in key) {
    checkPassphrase(key.passphrase);
    e.setScryptWorkFactor(key.scryptWorkFactor ?? DEFAULT_SCRYPT_WORK_FACTOR);
    e.setPassphrase(key.passphrase);
  } else if ('recipients' in key) {
    if (!key.recipients.length) throw new BackupKeyError('no recipient given');
    for (const r of key.recipients) {
      if (!/^age1[0-9a-z]+$/.test(r)) throw new BackupKeyError('a recipient must be an age public key (age1…)');
      e.addRecipient(r);
    }
  } else throw new BackupKeyError('a backup is encrypted to a passphrase or a recipient, not an identity');
  return e.encrypt(plain);
}

/** Rejects (before any plaintext) on a wrong passphrase or identity, or a damaged header. */
export async function decryptStream(
  cipher: ReadableStream<Uint8Array>,
  key: BackupKey,
): Promise<ReadableStream<Uint8Array>> {
  const d = new Decrypter();
  if ('passphrase' in key) d.addPassphrase(key.passphrase);
  else if ('identities' in key) for (const i of key.identities) d.addIdentity(i);
  else throw new BackupKeyError('restoring needs the passphrase or the identity (secret key), not the recipient');
  try {
    return await d.decrypt(cipher);
  } catch (e) {
    throw new BackupKeyError(describeAgeError(e));
  }
}

/** age's header errors in the operator's words (stream errors: see restore). */
export function describeAgeError(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  if (/no identity matched/i.test(m)) return 'cannot decrypt the backup: wrong passphrase or key';
  if (/header HMAC/i.test(m)) return 'the archive header was altered: refusing it';
  if (/stream ended|invalid version|invalid header|invalid stanza|non-ASCII/i.test(m)) {
    return `not a complete age archive (${m}): is it the right file, copied whole?`;
  }
  return `cannot open the archive: ${m}`;
}

/** A pull-based web stream over an async iterable: the source advances only as fast as it is read. */
export function webStreamFrom(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const r = await it.next();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      },
      async cancel(reason) {
        await it.return?.(reason);
      },
    },
    { highWaterMark: 1 },
  );
}
