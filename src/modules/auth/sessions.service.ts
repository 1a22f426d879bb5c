// The caller's sessions (one per login) and ending them: one, every other one
// (self-service after a compromise), or all of a user's (admin).
//
// Ending sessions after a compromise also cuts what an attacker may have set
// up to keep receiving data without a session: the user's reminder webhook is
// disabled (its URL and secret are kept so the owner can re-enable it after
// checking it) and its pending webhook reminders are cancelled, and every
// calendar feed token is revoked. All of it happens in one transaction with the
// session revocation, each change audited, so nothing outlives the response.
//
// `lastUsedAt` is the last login or token refresh of a session, not the last
// request: the auth hook stays one read per request (src/plugins/auth.ts).
// IP and User-Agent are the client's at login; they are never logged.
import type { FastifyInstance } from 'fastify';
import type { Tx } from '../../db.ts';
import { AppError } from '../../lib/app-error.ts';
import { iso } from '../../lib/http-schemas.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { Keyset, type ListPage } from '../../lib/keyset.ts';

// Newest first.
const sessionOrder = new Keyset<{ createdAt: Date; id: string }>('sessions', [
  { name: 'createdAt', kind: 'date', dir: 'desc', get: (r) => r.createdAt },
  { name: 'id', kind: 'string', dir: 'desc', get: (r) => r.id },
]);

/** At most this many sessions are listed (newest first); revoke-sessions ends them all regardless. */
export const MAX_LISTED_SESSIONS = 500;

/** Longest User-Agent kept with a session (the column has a CHECK to match). */
export const USER_AGENT_MAX = 300;

/** A User-Agent header as stored with a session: at most USER_AGENT_MAX characters, or null. */
export function sessionUserAgent(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  const trimmed = value?.trim();
  return trimmed ? trimmed.slice(0, USER_AGENT_MAX) : null;
}

export type SessionDto = {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
};

export type EndedChannels = { webhookDisabled: boolean; webhookRemindersCancelled: number; calendarTokens: number };

export class SessionsService {
  constructor(private readonly app: Pick<FastifyInstance, 'db' | 'clock'>) {}

  /** The user's live sessions (not revoked, not expired), newest first; `current` marks `currentSessionId`. */
  async list(
    userId: string,
    currentSessionId: string,
    q: ListPage,
  ): Promise<{ items: SessionDto[]; nextCursor: string | null }> {
    const rows = await this.app.db.session.findMany({
      where: { AND: [{ userId, revokedAt: null, expiresAt: { gt: this.app.clock() } }, sessionOrder.where(q.cursor)] },
      orderBy: sessionOrder.orderBy(),
      take: Math.min(q.limit, MAX_LISTED_SESSIONS) + 1,
      select: { id: true, createdAt: true, lastUsedAt: true, ip: true, userAgent: true },
    });
    const p = sessionOrder.page(rows, Math.min(q.limit, MAX_LISTED_SESSIONS));
    const items = p.rows.map((s) => ({
      id: s.id,
      createdAt: iso(s.createdAt),
      lastUsedAt: iso(s.lastUsedAt),
      ip: s.ip,
      userAgent: s.userAgent,
      current: s.id === currentSessionId,
    }));
    return { items, nextCursor: p.nextCursor };
  }

  /**
   * Ends one of the user's sessions (the current one included: that is a
   * logout). 404 for an unknown id or another user's session; a session of the
   * user that already ended is left as it is (204, nothing written).
   */
  async endOne(userId: string, sessionId: string, requestId: string): Promise<void> {
    const now = this.app.clock();
    await this.app.db.$transaction(async (tx) => {
      const { count } = await tx.session.updateMany({
        where: { id: sessionId, userId, revokedAt: null, expiresAt: { gt: now } },
        data: { revokedAt: now, revokeReason: 'user_ended' },
      });
      if (!count) {
        const own = await tx.session.findFirst({ where: { id: sessionId, userId }, select: { id: true } });
        if (!own) throw new AppError('NOT_FOUND', 'Session not found.');
        return;
      }
      await appendAudit(
        tx,
        {
          actorId: userId,
          action: 'auth.session_revoked',
          entityType: 'session',
          entityId: sessionId,
          requestId,
          changes: { reason: 'user_ended' },
        },
        now,
      );
    });
  }

  /**
   * After a compromise, by the user: ends every session but the current one,
   * disables the webhook channel and revokes calendar tokens. Returns how many
   * sessions ended.
   */
  async endOthers(userId: string, currentSessionId: string, requestId: string): Promise<number> {
    const now = this.app.clock();
    return this.app.db.$transaction(async (tx) => {
      const { count } = await tx.session.updateMany({
        where: { userId, revokedAt: null, id: { not: currentSessionId } },
        data: { revokedAt: now, revokeReason: 'user_revoked_others' },
      });
      const channels = await this.endExternalChannels(tx, userId, userId, 'user_revoked_others', requestId, now);
      await appendAudit(
        tx,
        {
          actorId: userId,
          action: 'auth.sessions_revoked',
          entityType: 'user',
          entityId: userId,
          requestId,
          changes: { reason: 'user_revoked_others', sessions: count, keptSession: currentSessionId, ...channels },
        },
        now,
      );
      return count;
    });
  }

  /**
   * By an admin: ends every session of the user, disables their webhook
   * channel and revokes their calendar tokens. 404 for an unknown user.
   */
  async endAll(userId: string, actorId: string, reason: string, requestId: string): Promise<number> {
    const now = this.app.clock();
    return this.app.db.$transaction((tx) => this.endAllWithin(tx, userId, actorId, reason, requestId, now));
  }

  /** endAll inside the caller's transaction (an admin's password reset ends everything with the password). */
  async endAllWithin(tx: Tx, userId: string, actorId: string, reason: string, requestId: string, now: Date) {
    const user = await tx.user.findUnique({ where: { id: userId }, select: { id: true } });
    if (!user) throw new AppError('NOT_FOUND', 'User not found.');
    const { count } = await tx.session.updateMany({
      where: { userId, revokedAt: null },
      data: { revokedAt: now, revokeReason: reason },
    });
    const channels = await this.endExternalChannels(tx, userId, actorId, reason, requestId, now);
    await appendAudit(
      tx,
      {
        actorId,
        action: 'auth.sessions_revoked',
        entityType: 'user',
        entityId: userId,
        requestId,
        changes: { reason, sessions: count, ...channels },
      },
      now,
    );
    return count;
  }

  /**
   * Within the caller's transaction: the webhook channel off (URL and secret
   * kept), the user's pending webhook reminders cancelled, every calendar
   * token revoked; each change audited.
   */
  private async endExternalChannels(
    tx: Tx,
    userId: string,
    actorId: string,
    reason: string,
    requestId: string,
    now: Date,
  ): Promise<EndedChannels> {
    const webhook = await tx.notificationSettings.updateMany({
      where: { userId, webhookEnabled: true },
      data: { webhookEnabled: false },
    });
    // Rows planned while the webhook was on would still be delivered to it.
    const reminders = await tx.reminder.updateMany({
      where: { recipientId: userId, channel: 'WEBHOOK', status: 'PENDING' },
      data: { status: 'CANCELLED' },
    });
    if (webhook.count || reminders.count) {
      await appendAudit(
        tx,
        {
          actorId,
          action: 'notification_settings.webhook_disabled',
          entityType: 'user',
          entityId: userId,
          requestId,
          changes: {
            webhookEnabled: { old: webhook.count > 0, new: false },
            reason,
            remindersCancelled: reminders.count,
          },
        },
        now,
      );
    }
    const calendar = await tx.calendarToken.updateMany({
      where: { userId, revokedAt: null },
      data: { revokedAt: now },
    });
    if (calendar.count) {
      await appendAudit(
        tx,
        {
          actorId,
          action: 'calendar_token.revoke',
          entityType: 'user',
          entityId: userId,
          requestId,
          changes: { reason, tokens: calendar.count },
        },
        now,
      );
    }
    return {
      webhookDisabled: webhook.count > 0,
      webhookRemindersCancelled: reminders.count,
      calendarTokens: calendar.count,
    };
  }
}
