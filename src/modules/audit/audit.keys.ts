// The audit log's Ed25519 key, derived once from AUDIT_SIGNING_KEY (a 32-byte seed).
import type { AppConfig } from '../../config.ts';
import { keyIdOf, privateKeyFromSeed, publicKeyRaw } from '../../lib/checkpoint.ts';
import type { KeyObject } from 'node:crypto';

type Signer = { name: string; privateKey: KeyObject };
const cache = new WeakMap<Buffer, { signer: Signer; publicKey: Buffer }>();

function derive(config: Pick<AppConfig, 'audit'>) {
  let hit = cache.get(config.audit.signingSeed);
  if (!hit) {
    const privateKey = privateKeyFromSeed(config.audit.signingSeed);
    hit = { signer: { name: config.audit.origin, privateKey }, publicKey: publicKeyRaw(privateKey) };
    cache.set(config.audit.signingSeed, hit);
  }
  return hit;
}

export function auditSigner(config: Pick<AppConfig, 'audit'>): Signer {
  return derive(config).signer;
}

/** What GET /v1/audit/public-key publishes. */
export function auditPublicKey(config: Pick<AppConfig, 'audit'>) {
  const { publicKey } = derive(config);
  return {
    keyId: keyIdOf(config.audit.origin, publicKey).toString('hex'),
    algorithm: 'Ed25519' as const,
    publicKey: publicKey.toString('base64'),
    origin: config.audit.origin,
  };
}
