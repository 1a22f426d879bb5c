// Seals the audit log of a test database (sequence, sign a checkpoint) and
// verifies it the way `npm run audit:verify` does.
import { auditPublicKey } from '../src/modules/audit/audit.keys.ts';
import { AuditSequencer } from '../src/modules/audit/audit.sequencer.ts';
import { verifyAuditLog, type VerifyReport } from '../src/modules/audit/audit.verify.ts';
import type { TestEnv } from './helpers.ts';

export async function sealAndVerify(
  env: TestEnv,
  oldCheckpoint?: string,
): Promise<VerifyReport & { checkpoint: string | null }> {
  const sequencer = new AuditSequencer({ db: env.db, config: env.config, log: env.app.log });
  await sequencer.drain();
  const cp = await sequencer.checkpoint();
  const key = auditPublicKey(env.config);
  const report = await verifyAuditLog(async (sql, params) => env.sql(sql, params), {
    publicKey: Buffer.from(key.publicKey, 'base64'),
    origin: key.origin,
    oldCheckpoint,
  });
  return { ...report, checkpoint: cp?.note ?? null };
}
