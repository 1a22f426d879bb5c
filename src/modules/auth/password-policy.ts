// Password policy after NIST SP 800-63B §3.1.1.2: a length floor and a
// blocklist, no composition rules ("one digit, one symbol") and no periodic
// expiry. Refused: fewer than PASSWORD_MIN_LENGTH characters, more than
// PASSWORD_MAX_LENGTH, the user's own email (or its local part) or name, one
// character repeated, a run of the keyboard or the alphabet, and the bundled
// list of the most common passwords (./common-passwords.ts) — also with
// digits or a year appended, the way people stretch a short favourite.
import { fieldError } from '../../lib/app-error.ts';
import { PASSWORD_MIN_LENGTH } from '../../lib/passwords.ts';
import { COMMON_PASSWORDS } from './common-passwords.ts';

export const PASSWORD_MAX_LENGTH = 200;

const SEQUENCES = [
  'abcdefghijklmnopqrstuvwxyz',
  'qwertyuiopasdfghjklzxcvbnm',
  '01234567890',
  'йцукенгшщзхъфывапролджэячсмитьбю',
];

const fold = (s: string) => s.normalize('NFKC').toLowerCase();

/** Why this password is refused, or null when it is acceptable. */
export function passwordWeakness(password: string, who: { email: string; displayName?: string }): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
  const p = fold(password);
  const compact = p.replace(/[\s._-]+/g, '');
  const email = fold(who.email);
  const local = email.split('@')[0] ?? '';
  if (
    compact.includes(email.replace(/[\s._-]+/g, '')) ||
    (local.length >= 4 && compact.includes(local.replace(/[\s._-]+/g, '')))
  ) {
    return 'must not contain your email address';
  }
  const nameParts = fold(who.displayName ?? '')
    .split(/\s+/)
    .filter((w) => w.length >= 4);
  if (nameParts.some((w) => compact.includes(w))) return 'must not contain your name';
  if (new Set(compact).size <= 2) return 'must not be one or two characters repeated';
  if (SEQUENCES.some((seq) => seq.includes(compact) || (seq + seq).includes(compact))) {
    return 'must not be a run of the keyboard or the alphabet';
  }
  // The common list also catches "password2024!" and "iloveyou1234".
  const stem = compact.replace(/[\d!@#$%^&*?]+$/, '');
  if (COMMON_PASSWORDS.has(compact) || (stem.length >= 4 && COMMON_PASSWORDS.has(stem))) {
    return 'is on the list of most common passwords';
  }
  return null;
}

/** Throws a 400 naming `field` when the password is refused. */
export function assertPasswordAcceptable(
  field: string,
  password: string,
  who: { email: string; displayName?: string },
) {
  const why = passwordWeakness(password, who);
  if (why) throw fieldError(field, why);
}
