// Passkeys (WebAuthn) through @simplewebauthn/server. The relying party is
// WEBAUTHN_RP_ID / WEBAUTHN_ORIGIN (defaults: PUBLIC_BASE_URL's host and
// origin). User verification is required (a PIN or biometric on the
// authenticator), attestation is not requested (we do not restrict models).
//
// The library (and its CBOR/ASN.1/crypto dependencies, ~20 MB resident) is
// loaded on the first passkey operation, not by every API process at start.
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { AppConfig } from '../../config.ts';

const webauthnLib = () => import('@simplewebauthn/server');

export type StoredCredential = { credentialId: string; publicKey: Uint8Array; counter: number; transports: string[] };

const CHALLENGE_TIMEOUT_MS = 5 * 60_000;

export async function registrationOptions(
  config: AppConfig,
  user: { id: string; email: string; displayName: string },
  existing: StoredCredential[],
) {
  const { rpId, rpName } = config.auth.webauthn;
  const { generateRegistrationOptions } = await webauthnLib();
  return generateRegistrationOptions({
    rpName,
    rpID: rpId,
    userName: user.email,
    userDisplayName: user.displayName,
    userID: new TextEncoder().encode(user.id),
    timeout: CHALLENGE_TIMEOUT_MS,
    attestationType: 'none',
    excludeCredentials: existing.map((c) => ({ id: c.credentialId, transports: c.transports })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
  });
}

/** The verified new credential, or null when the response does not verify. */
export async function verifyRegistration(config: AppConfig, response: RegistrationResponseJSON, challenge: string) {
  const { rpId, origin } = config.auth.webauthn;
  // Outside the try: a library that cannot load is a server error, not a credential that fails to verify.
  const { verifyRegistrationResponse } = await webauthnLib();
  try {
    const result = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: origin,
      expectedRPID: rpId,
      requireUserVerification: true,
    });
    if (!result.verified) return null;
    const { credential } = result.registrationInfo;
    return {
      credentialId: credential.id,
      publicKey: credential.publicKey,
      counter: credential.counter,
      transports: credential.transports ?? response.response.transports ?? [],
    };
  } catch {
    return null;
  }
}

export async function authenticationOptions(config: AppConfig, credentials: StoredCredential[]) {
  const { generateAuthenticationOptions } = await webauthnLib();
  return generateAuthenticationOptions({
    rpID: config.auth.webauthn.rpId,
    timeout: CHALLENGE_TIMEOUT_MS,
    userVerification: 'required',
    allowCredentials: credentials.map((c) => ({ id: c.credentialId, transports: c.transports })),
  });
}

/** The authenticator's new counter when the assertion verifies (signature, origin, RP, challenge, counter), else null. */
export async function verifyAssertion(
  config: AppConfig,
  response: AuthenticationResponseJSON,
  challenge: string,
  credential: StoredCredential,
): Promise<number | null> {
  const { rpId, origin } = config.auth.webauthn;
  const { verifyAuthenticationResponse } = await webauthnLib();
  try {
    const result = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: origin,
      expectedRPID: rpId,
      requireUserVerification: true,
      credential: {
        id: credential.credentialId,
        publicKey: new Uint8Array(credential.publicKey),
        counter: credential.counter,
        transports: credential.transports,
      },
    });
    return result.verified ? result.authenticationInfo.newCounter : null;
  } catch {
    return null;
  }
}
