// The daily digest: each user with email on and open deadlines in the next
// seven days gets one email listing them (reference, pseudonym, due time;
// never legal names). A digest_log row claims the user-day first, so a
// retried or duplicated job sends nothing twice; a failed send frees it.
import type { FastifyBaseLogger } from 'fastify';
import type { Transporter } from 'nodemailer';
import type { AppConfig } from '../../config.ts';
import type { Db } from '../../db.ts';
import { myDeadlinesWhere } from '../../modules/access/visibility.ts';
import { digestLine } from './message.ts';

export type DigestDeps = {
  db: Db;
  config: AppConfig;
  clock: () => Date;
  log: FastifyBaseLogger;
  mailer: Transporter | null;
};

export async function sendDigests(deps: DigestDeps): Promise<{ sent: number; failed: number }> {
  const { db, clock, log, mailer, config } = deps;
  const now = clock();
  const day = now.toISOString().slice(0, 10);
  const weekAhead = new Date(now.getTime() + 7 * 86_400_000);
  const users = await db.user.findMany({
    where: { active: true },
    select: { id: true, email: true, role: true, memberships: { select: { teamId: true } } },
  });
  const optedOut = await db.notificationSettings.findMany({ where: { emailEnabled: false }, select: { userId: true } });
  const disabled = new Set(optedOut.map((s) => s.userId));
  let sent = 0;
  let failed = 0;
  for (const u of users) {
    if (disabled.has(u.id)) continue;
    const viewer = { userId: u.id, role: u.role, teamIds: u.memberships.map((m) => m.teamId) };
    const items = await db.deadline.findMany({
      where: { AND: [myDeadlinesWhere(viewer), { status: { in: ['OPEN', 'MISSED'] } }, { dueAt: { lte: weekAhead } }] },
      orderBy: { dueAt: 'asc' },
      take: 200,
      select: {
        title: true,
        status: true,
        dueAt: true,
        timeZone: true,
        case: { select: { reference: true, person: { select: { pseudonym: true } } } },
      },
    });
    if (!items.length) continue;
    const claimed = await db.digestLog.createMany({ data: [{ userId: u.id, day }], skipDuplicates: true });
    if (!claimed.count) continue;
    const text = ['Open deadlines in the next 7 days:', '', ...items.map((d) => digestLine(d, now))].join('\n');
    try {
      if (!mailer) throw new Error('no SMTP server configured (SMTP_URL)');
      await mailer.sendMail({
        from: config.mail.from,
        to: u.email,
        subject: `Deadlines for the week ahead (${items.length})`,
        text,
      });
      await db.digestLog.update({ where: { userId_day: { userId: u.id, day } }, data: { sentAt: clock() } });
      sent++;
    } catch (err) {
      await db.digestLog.delete({ where: { userId_day: { userId: u.id, day } } }).catch(() => {});
      log.error({ userId: u.id, error: errorMessage(err).slice(0, 200) }, 'digest delivery failed');
      failed++;
    }
  }
  return { sent, failed };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
