// Recovery codes: ten single-use codes of 60 random bits each, shown once and
// stored as HMAC-SHA256 under a key derived from BLIND_INDEX_KEY (a dump of
// the table alone does not let anyone test guesses offline). Typed with or
// without dashes, in either case.
import { createHmac, randomInt } from 'node:crypto';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

export const recoveryHmacKey = (blindIndexKey: Buffer): Buffer =>
  createHmac('sha256', blindIndexKey).update('exile-case/recovery-codes/v1').digest();

const normalise = (code: string) => code.toLowerCase().replace(/[\s-]/g, '');

export const looksLikeRecoveryCode = (code: string): boolean => /^[a-z0-9]{12}$/.test(normalise(code));

export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = Array.from({ length: 12 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`;
  });
}

export const recoveryCodeHash = (key: Buffer, code: string): string =>
  createHmac('sha256', key).update(normalise(code)).digest('base64url');
