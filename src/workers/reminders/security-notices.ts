// Emails the queued security notices (src/modules/auth/security-notices.ts)
// and intake notices (src/modules/intake/intake-notices.ts)
// and admins' backup notices (src/modules/backup/backup-notices.ts)
// through the reminder mailer, on every relay run. A batch is claimed with
// FOR UPDATE SKIP LOCKED and its next attempt pushed back before sending, so
// two workers never send one notice twice at once; a failed send is retried
// with backoff (1, 2, 4 … minutes, at most 10 attempts), a sent one marked.
// Without SMTP_URL notices stay queued (and are sent once it is configured).
import type { FastifyBaseLogger } from 'fastify';
import type { Transporter } from 'nodemailer';
import type { AppConfig } from '../../config.ts';
import type { Db } from '../../db.ts';
import { securityNoticeMessage, type NoticeDetail } from '../../modules/auth/security-notices.ts';
import { intakeNoticeMessage } from '../../modules/intake/intake-notices.ts';
import { backupNoticeMessage } from '../../modules/backup/backup-notices.ts';

const BATCH = 50;
export const NOTICE_MAX_ATTEMPTS = 10;

type Claimed = { id: string; kind: string; detail: NoticeDetail; created_at: Date; email: string };

export async function sendSecurityNotices(deps: {
  db: Db;
  config: AppConfig;
  clock: () => Date;
  log: FastifyBaseLogger;
  mailer: Transporter | null;
}): Promise<number> {
  const { db, config, log, mailer } = deps;
  if (!mailer) return 0;
  const now = deps.clock();
  const claimed = await db.$queryRaw<Claimed[]>`
    WITH c AS (
      SELECT n.id FROM security_notices n
      WHERE n.sent_at IS NULL AND n.attempts < ${NOTICE_MAX_ATTEMPTS} AND n.next_attempt_at <= ${now}::timestamptz
      ORDER BY n.next_attempt_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED
    )
    UPDATE security_notices n
    SET attempts = n.attempts + 1,
        next_attempt_at = ${now}::timestamptz + (power(2, n.attempts) * interval '1 minute')
    FROM c, users u
    WHERE n.id = c.id AND u.id = n.user_id
    RETURNING n.id, n.kind, n.detail, n.created_at, u.email`;
  let sent = 0;
  for (const n of claimed) {
    // The same outbox carries the intake's notices to caseworkers (a new report, a duplicate question).
    const m =
      intakeNoticeMessage(n.kind, n.detail, n.created_at, config) ??
      backupNoticeMessage(n.kind, n.detail, n.created_at) ??
      securityNoticeMessage(n.kind, n.detail, n.created_at);
    try {
      await mailer.sendMail({ from: config.mail.from, to: n.email, subject: m.subject, text: m.text });
      await db.securityNotice.update({ where: { id: n.id }, data: { sentAt: deps.clock() } });
      sent++;
    } catch (err) {
      log.warn({ noticeId: n.id, error: err instanceof Error ? err.name : 'unknown' }, 'security notice not sent');
    }
  }
  return sent;
}
