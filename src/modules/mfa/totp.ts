// TOTP (RFC 6238) through otplib: SHA-1, 6 digits, 30 s steps as every
// authenticator app expects; a code is accepted within ±1 step and only for a
// step later than the last one accepted (the caller stores it atomically, so a
// code observed over a shoulder or replayed by a proxy is refused).
import { generateSecret, generateURI, verify } from 'otplib';

export const TOTP_PERIOD_SECONDS = 30;

export const newTotpSecret = (): string => generateSecret({ length: 20 });

export const totpUri = (issuer: string, label: string, secret: string): string =>
  generateURI({ issuer, label, secret, period: TOTP_PERIOD_SECONDS });

/** The time step this code belongs to (within ±1 step of `now`, after `afterStep`), or null. */
export async function matchTotp(secret: string, code: string, now: Date, afterStep: number): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  const result = await verify({
    secret,
    token: code,
    epoch: Math.floor(now.getTime() / 1000),
    epochTolerance: TOTP_PERIOD_SECONDS,
    afterTimeStep: afterStep,
  });
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}
