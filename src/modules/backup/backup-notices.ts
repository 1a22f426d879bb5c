// Admin notices of scheduled backups: a scheduled backup failed, or the last
// good one is older than 48 hours. Queued in the outbox of security notices
// (security_notices rows, one per active ADMIN) and emailed by the reminder
// worker on its next relay run, with its retries and backoff
// (src/workers/reminders/security-notices.ts).
//
// Once per incident: an incident is "no good backup since <last good one>"
// (or "never"). One statement claims it on backup_status and queues the
// notices, so two workers noticing at once queue one set; a failure and the
// staleness that follows it are the same incident; the next good backup ends it.
// A notice holds no personal data: the time of the last good backup and an
// error code at most.
import type { Db } from '../../db.ts';
import type { NoticeDetail } from '../auth/security-notices.ts';

export const BACKUP_NOTICE_KINDS = ['backup_failed', 'backup_stale'] as const;
export type BackupNoticeKind = (typeof BACKUP_NOTICE_KINDS)[number];

/** Queues the notice to every active admin unless this incident was noticed already; returns how many were queued. */
export function noticeBackupIncident(
  db: Db,
  kind: BackupNoticeKind,
  reason: string | null,
  now: Date,
): Promise<number> {
  return db.$executeRaw`
    WITH claim AS (
      UPDATE backup_status SET noticed_incident = coalesce(last_good_at::text, 'never')
      WHERE id = 1 AND noticed_incident IS DISTINCT FROM coalesce(last_good_at::text, 'never')
      RETURNING last_good_at
    )
    INSERT INTO security_notices (id, user_id, kind, detail, created_at, next_attempt_at)
    SELECT gen_random_uuid(), u.id, ${kind},
           jsonb_build_object('lastGoodAt', to_char(claim.last_good_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                              'reason', ${reason}::text),
           ${now}::timestamptz, ${now}::timestamptz
    FROM claim, users u
    WHERE u.role = 'ADMIN' AND u.active`;
}

/** The email of a backup notice, or null when `kind` is not one. */
export function backupNoticeMessage(
  kind: string,
  detail: NoticeDetail,
  at: Date,
): { subject: string; text: string } | null {
  if (!(BACKUP_NOTICE_KINDS as readonly string[]).includes(kind)) return null;
  const last = typeof detail.lastGoodAt === 'string' ? `${detail.lastGoodAt} (UTC)` : 'none yet';
  const what =
    kind === 'backup_failed'
      ? `A scheduled backup failed${typeof detail.reason === 'string' ? ` (${detail.reason.split(':')[0]})` : ''}.`
      : 'The last good backup is older than 48 hours.';
  return {
    subject: kind === 'backup_failed' ? 'Backup notice: a scheduled backup failed' : 'Backup notice: no recent backup',
    text: [
      what,
      `Last good backup: ${last}.`,
      `Noticed: ${at.toISOString()} (UTC).`,
      '',
      'GET /health/ready shows the state of the backups; the worker log has the full error.',
      'Until a backup succeeds, a lost disk loses everything since the last good one: check BACKUP_DIR (space,',
      'permissions) and the worker, or run `npm run backup -- --out FILE` by hand.',
      'You hear of this incident once; the next good backup ends it.',
    ].join('\n'),
  };
}
