// BACKUP_* variables → config.backup (called from src/config.ts). Scheduled
// backups are encrypted to age recipients only: the server never holds a
// passphrase or anything else that decrypts them. With the schedule on and no
// recipient the process refuses to start (embedded mode generates a key pair
// before the config is read: src/lib/backup/embedded-identity.ts).
import path from 'node:path';
import { DATA_DIR } from '../paths.ts';
import { cronIsOff, cronProblem } from './cron.ts';

export type BackupConfig = {
  /** The BullMQ cron pattern (UTC), or null when scheduled backups are off. */
  cron: string | null;
  dir: string;
  keep: number;
  recipients: string[];
};

/** A backup older than this is "stale": reported by /health/ready and noticed to admins. */
export const BACKUP_STALE_SECONDS = 48 * 3600;

export function backupConfig(
  e: { BACKUP_CRON?: string; BACKUP_DIR?: string; BACKUP_KEEP: number; BACKUP_RECIPIENT?: string },
  problems: string[],
): BackupConfig {
  const cron = cronIsOff(e.BACKUP_CRON) ? null : e.BACKUP_CRON!.trim().replace(/\s+/g, ' ');
  const recipients = (e.BACKUP_RECIPIENT ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  if (cron) {
    const p = cronProblem(cron);
    if (p) problems.push(`BACKUP_CRON: ${p} (or "off")`);
  }
  const bad = recipients.find((r) => !/^age1[0-9a-z]{50,}$/.test(r));
  if (bad !== undefined) {
    problems.push('BACKUP_RECIPIENT: each recipient must be an age X25519 public key (age1…), comma-separated');
  }
  if (cron && !recipients.length) {
    problems.push(
      'BACKUP_RECIPIENT: missing, and BACKUP_CRON schedules backups. Scheduled backups are encrypted to a public key ' +
        'so the server holds nothing that decrypts them: run `npm run backup -- --new-identity FILE`, keep FILE off ' +
        'this machine, set BACKUP_RECIPIENT to the age1… recipient it prints (or set BACKUP_CRON=off)',
    );
  }
  return {
    cron,
    dir: path.resolve(e.BACKUP_DIR ?? path.join(DATA_DIR, 'backups')),
    keep: e.BACKUP_KEEP,
    recipients,
  };
}
