import { createHash } from 'node:crypto';

/**
 * How opaque bearer secrets (refresh tokens, calendar tokens) are stored: a
 * SHA-256 of a 256-bit random value cannot be reversed or guessed, so a
 * database dump reveals no usable token, and lookups stay one indexed equality.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
