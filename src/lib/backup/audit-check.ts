// After a restore: the audit log verified exactly as `npm run audit:verify`
// does, in a read-only snapshot, with the audit key the data was signed with.
import pg from 'pg';
import { privateKeyFromSeed, publicKeyRaw } from '../checkpoint.ts';
import { verifyAuditLog, type VerifyReport } from '../../modules/audit/audit.verify.ts';

export async function verifyRestoredAudit(
  url: string,
  opts: { signingSeed: Buffer; origin: string },
): Promise<VerifyReport> {
  const client = new pg.Client({ connectionString: url, application_name: 'exiles-restore-verify' });
  await client.connect();
  try {
    await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const report = await verifyAuditLog(async (sql, params) => (await client.query(sql, params)).rows, {
      publicKey: publicKeyRaw(privateKeyFromSeed(opts.signingSeed)),
      origin: opts.origin,
    });
    await client.query('COMMIT');
    return report;
  } finally {
    await client.end();
  }
}
