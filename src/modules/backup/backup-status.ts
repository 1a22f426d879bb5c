// The health of scheduled backups: one row in backup_status, written by the
// worker after every run, read by /health/ready on every API instance.
// lastError is shown on the public readiness probe, so it is reduced to a
// short, path-free reason (the full error goes to the worker's log).
import { BACKUP_STALE_SECONDS } from '../../lib/backup/backup-config.ts';
import type { Db } from '../../db.ts';

type Row = {
  last_good_at: Date | null;
  last_error: string | null;
  last_error_at: Date | null;
  watch_since: Date;
};

export type BackupHealth = {
  lastGoodAt: string | null;
  ageSeconds: number | null;
  stale: boolean;
  lastError?: string;
  lastErrorAt?: string;
};

/** A failure as the probe and the notice may show it: an error code or a short message, no paths, no data. */
export function backupErrorReason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  const cleaned = message
    .replace(/(?:[A-Za-z]:)?[/\\][^\s'",)]*/g, '<path>')
    .replace(/\s+/g, ' ')
    .slice(0, 200);
  const coded = typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) && !cleaned.startsWith(code);
  return coded ? `${code}: ${cleaned}` : cleaned;
}

/** The row exists from the worker's first start on; its watch_since starts the clock of a first backup. */
export async function ensureBackupStatus(db: Db, now: Date): Promise<void> {
  await db.$executeRaw`INSERT INTO backup_status (id, watch_since) VALUES (1, ${now}::timestamptz)
    ON CONFLICT (id) DO NOTHING`;
}

export async function recordBackupSuccess(
  db: Db,
  r: { startedAt: Date; file: string; bytes: number },
  now: Date,
): Promise<void> {
  await db.$executeRaw`INSERT INTO backup_status (id, watch_since) VALUES (1, ${now}::timestamptz)
    ON CONFLICT (id) DO NOTHING`;
  await db.$executeRaw`UPDATE backup_status
    SET last_good_at = ${r.startedAt}::timestamptz, last_good_file = ${r.file}, last_good_bytes = ${r.bytes},
        last_attempt_at = ${now}::timestamptz, last_error = NULL, last_error_at = NULL
    WHERE id = 1`;
}

export async function recordBackupFailure(db: Db, reason: string, now: Date): Promise<void> {
  await db.$executeRaw`INSERT INTO backup_status (id, watch_since) VALUES (1, ${now}::timestamptz)
    ON CONFLICT (id) DO NOTHING`;
  await db.$executeRaw`UPDATE backup_status
    SET last_attempt_at = ${now}::timestamptz, last_error = ${reason}, last_error_at = ${now}::timestamptz
    WHERE id = 1`;
}

/** When the last good scheduled backup started (its snapshot's time), or null. */
export async function lastGoodBackupAt(db: Db): Promise<Date | null> {
  const rows = await db.$queryRaw<{ at: Date | null }[]>`SELECT last_good_at AS at FROM backup_status WHERE id = 1`;
  return rows[0]?.at ?? null;
}

/** True when no good backup is younger than 48 hours (counted from watch_since while there was none yet). */
export function isStale(row: Pick<Row, 'last_good_at' | 'watch_since'> | undefined, now: Date): boolean {
  if (!row) return false;
  const since = row.last_good_at ?? row.watch_since;
  return now.getTime() - since.getTime() > BACKUP_STALE_SECONDS * 1000;
}

export async function readBackupStatus(db: Db): Promise<Row | undefined> {
  const rows = await db.$queryRaw<Row[]>`
    SELECT last_good_at, last_error, last_error_at, watch_since FROM backup_status WHERE id = 1`;
  return rows[0];
}

export async function backupHealth(db: Db, now: Date): Promise<BackupHealth> {
  const row = await readBackupStatus(db);
  const good = row?.last_good_at ?? null;
  const out: BackupHealth = {
    lastGoodAt: good ? good.toISOString() : null,
    ageSeconds: good ? Math.max(0, Math.floor((now.getTime() - good.getTime()) / 1000)) : null,
    stale: isStale(row, now),
  };
  // An error is current while no good backup came after it.
  if (row?.last_error && row.last_error_at && (!good || row.last_error_at > good)) {
    out.lastError = row.last_error;
    out.lastErrorAt = row.last_error_at.toISOString();
  }
  return out;
}
