// Self-hosted proof of work in ALTCHA's v1 format (no third-party CAPTCHA, no
// cookies): the client searches the number n ≤ maxnumber such that
// hex SHA-256(salt + n) = challenge, and sends back base64 of
// {algorithm, challenge, number, salt, signature}. The signature is an HMAC of
// the challenge under a key of our own, so the server keeps no state until a
// solution arrives; the salt carries its expiry (`?expires=<unix seconds>`), and
// a solved challenge is recorded (intake_used_challenges) so it is accepted once.
import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

export const ALTCHA_ALGORITHM = 'SHA-256' as const;
/** The search space: 20,000 hashes at most, a few seconds at worst on an old phone (Web Crypto digests one at a time). */
export const ALTCHA_MAX_NUMBER = 20_000;
/** How long a challenge may be solved and used. */
export const ALTCHA_TTL_SECONDS = 20 * 60;

export type AltchaChallenge = {
  algorithm: typeof ALTCHA_ALGORITHM;
  challenge: string;
  maxnumber: number;
  salt: string;
  signature: string;
};

/** The HMAC key of challenge signatures: derived from BLIND_INDEX_KEY with a label of its own. */
export const altchaHmacKey = (blindIndexKey: Buffer): Buffer =>
  createHmac('sha256', blindIndexKey).update('exile-case/intake-altcha/v1').digest();

const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');
const hmacHex = (key: Buffer, s: string) => createHmac('sha256', key).update(s).digest('hex');

export function createAltchaChallenge(key: Buffer, now: Date, maxnumber = ALTCHA_MAX_NUMBER): AltchaChallenge {
  const expires = Math.floor(now.getTime() / 1000) + ALTCHA_TTL_SECONDS;
  const salt = `${randomBytes(12).toString('hex')}?expires=${expires}`;
  const challenge = sha256Hex(salt + String(randomInt(0, maxnumber + 1)));
  return { algorithm: ALTCHA_ALGORITHM, challenge, maxnumber, salt, signature: hmacHex(key, challenge) };
}

/** Solves a challenge by search (tests and the benchmark; the browser does the same in the form's script). */
export function solveAltcha(c: Pick<AltchaChallenge, 'challenge' | 'salt' | 'maxnumber'>): number | null {
  for (let n = 0; n <= c.maxnumber; n++) if (sha256Hex(c.salt + String(n)) === c.challenge) return n;
  return null;
}

export type AltchaCheck =
  | { ok: true; challenge: string; expiresAt: Date }
  | { ok: false; reason: 'malformed' | 'signature' | 'solution' | 'expired' };

const safeEqualHex = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** Checks a solution's form, signature, work and expiry (not replay: that needs the store). */
export function checkAltcha(key: Buffer, payload: string, now: Date): AltchaCheck {
  let p: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'));
    if (!parsed || typeof parsed !== 'object') return { ok: false, reason: 'malformed' };
    p = parsed as Record<string, unknown>;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const { algorithm, challenge, number, salt, signature } = p;
  if (
    algorithm !== ALTCHA_ALGORITHM ||
    typeof challenge !== 'string' ||
    typeof salt !== 'string' ||
    typeof signature !== 'string' ||
    typeof number !== 'number' ||
    !Number.isInteger(number) ||
    number < 0 ||
    salt.length > 200 ||
    !/^[0-9a-f]{64}$/.test(challenge)
  ) {
    return { ok: false, reason: 'malformed' };
  }
  if (!safeEqualHex(signature, hmacHex(key, challenge))) return { ok: false, reason: 'signature' };
  if (sha256Hex(salt + String(number)) !== challenge) return { ok: false, reason: 'solution' };
  const expires = Number(new URLSearchParams(salt.split('?')[1] ?? '').get('expires'));
  if (!Number.isFinite(expires) || expires * 1000 <= now.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, challenge, expiresAt: new Date(expires * 1000) };
}
