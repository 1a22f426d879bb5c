// Security notices: the user hears of every change an attacker holding their
// session would make first — a second factor added or removed, the password
// changed or reset, reminder channels changed (the new webhook host named) —
// so a compromise is noticed. Queued in the transaction of the change (an
// outbox: no change without its notice) and emailed by the worker through the
// reminder mail path (src/workers/reminders/security-notices.ts). A notice
// never holds case data.
import { randomUUID } from 'node:crypto';
import type { Tx } from '../../db.ts';

export type NoticeKind = 'factor_added' | 'factor_removed' | 'password_changed' | 'password_reset' | 'channels_changed';
export type NoticeDetail = Record<string, string | number | boolean | null>;

export async function queueSecurityNotice(
  tx: Tx,
  userId: string,
  kind: NoticeKind,
  detail: NoticeDetail,
  now: Date,
): Promise<void> {
  await tx.securityNotice.create({
    data: { id: randomUUID(), userId, kind, detail, createdAt: now, nextAttemptAt: now },
  });
}

const WHAT: Record<NoticeKind, (d: NoticeDetail) => string> = {
  factor_added: (d) =>
    `A second factor was added to your account (${d.factor === 'webauthn' ? 'passkey' : 'authenticator app'}${d.name ? `: ${d.name}` : ''}).`,
  factor_removed: (d) =>
    `A second factor was removed from your account (${d.factor === 'webauthn' ? 'passkey' : 'authenticator app'}${d.name ? `: ${d.name}` : ''}).`,
  password_changed: () => 'Your password was changed. Every other session was signed out.',
  password_reset: () => 'An administrator reset your password. Every session was signed out.',
  channels_changed: (d) =>
    `Your reminder channels were changed (email ${d.emailEnabled ? 'on' : 'off'}; webhook ${
      d.webhookEnabled ? `on, to ${d.webhookHost}` : 'off'
    }).`,
};

export function securityNoticeMessage(kind: string, detail: NoticeDetail, at: Date): { subject: string; text: string } {
  const what = kind in WHAT ? WHAT[kind as NoticeKind](detail) : 'A security setting of your account changed.';
  return {
    subject: 'Security notice: your account changed',
    text: [
      what,
      `When: ${at.toISOString()} (UTC).`,
      '',
      'If this was you, nothing needs doing. If it was not, someone may hold your password or a session:',
      'sign in, sign out everywhere (POST /v1/me/revoke-sessions), change your password and tell your administrator at once.',
    ].join('\n'),
  };
}
