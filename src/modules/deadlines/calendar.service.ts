// The caller's deadlines as an iCalendar feed (RFC 5545) behind a secret URL:
// the token is stored hashed, replaced or revoked by its owner, and the feed
// shows what the owner may see now (pseudonyms only, never legal names).
import { randomBytes, randomUUID } from 'node:crypto';
import ical, { ICalAlarmType } from 'ical-generator';
import type { AppConfig } from '../../config.ts';
import type { Db } from '../../db.ts';
import type { Deadline } from '../../generated/prisma/client.ts';
import { AppError } from '../../lib/app-error.ts';
import { wallTime } from '../../lib/legal-time.ts';
import { hashToken } from '../../lib/token-hash.ts';
import { vtimezone } from '../../lib/vtimezone.ts';
import { myDeadlinesWhere, type Viewer } from '../access/visibility.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { deadlineWarnings } from './judicial-recess.ts';

export type CalendarDeps = { db: Db; config: Pick<AppConfig, 'publicBaseUrl'>; clock: () => Date };

type FeedDeadline = Deadline & {
  case: { reference: string; person: { pseudonym: string } };
  rule: { jurisdiction: string; finalOnly: boolean } | null;
};

/** Feed file names: `cal_<token>.ics`. */
export const CALENDAR_FILE = /^cal_[A-Za-z0-9_-]{20,100}\.ics$/;

export class CalendarService {
  constructor(private readonly deps: CalendarDeps) {}

  /** Creates (or replaces) the user's feed token; the URL is shown once. */
  async createToken(userId: string, requestId: string): Promise<{ url: string }> {
    const { db, clock, config } = this.deps;
    const token = `cal_${randomBytes(32).toString('base64url')}`;
    const now = clock();
    await db.$transaction(async (tx) => {
      await tx.calendarToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: now } });
      await tx.calendarToken.create({
        data: { id: randomUUID(), userId, tokenHash: hashToken(token), createdAt: now },
      });
      await appendAudit(
        tx,
        { actorId: userId, action: 'calendar_token.create', entityType: 'user', entityId: userId, requestId },
        now,
      );
    });
    return { url: `${config.publicBaseUrl}/v1/calendar/${token}.ics` };
  }

  async revokeToken(userId: string, requestId: string): Promise<void> {
    const { db, clock } = this.deps;
    const now = clock();
    await db.$transaction(async (tx) => {
      const { count } = await tx.calendarToken.updateMany({
        where: { userId, revokedAt: null },
        data: { revokedAt: now },
      });
      if (count) {
        await appendAudit(
          tx,
          { actorId: userId, action: 'calendar_token.revoke', entityType: 'user', entityId: userId, requestId },
          now,
        );
      }
    });
  }

  /** The feed of a `cal_….ics` file name; 404 for an unknown or revoked token or an inactive user. */
  async feed(file: string): Promise<string> {
    const { db, clock } = this.deps;
    const token = file.slice(0, -4);
    const row = await db.calendarToken.findUnique({
      where: { tokenHash: hashToken(token) },
      select: { userId: true, revokedAt: true },
    });
    const user =
      row && !row.revokedAt
        ? await db.user.findUnique({
            where: { id: row.userId },
            select: { id: true, role: true, active: true, memberships: { select: { teamId: true } } },
          })
        : null;
    if (!user?.active) throw new AppError('NOT_FOUND', 'No such calendar.');
    const viewer: Viewer = { userId: user.id, role: user.role, teamIds: user.memberships.map((m) => m.teamId) };
    const items = await db.deadline.findMany({
      where: {
        AND: [
          myDeadlinesWhere(viewer),
          { status: { in: ['OPEN', 'MISSED', 'DONE'] } },
          { dueAt: { gte: new Date(clock().getTime() - 90 * 86_400_000) } },
        ],
      },
      orderBy: { dueAt: 'asc' },
      take: 2000,
      include: {
        case: { select: { reference: true, person: { select: { pseudonym: true } } } },
        rule: { select: { jurisdiction: true, finalOnly: true } },
      },
    });
    return renderCalendar(items);
  }
}

/**
 * ical-generator writes a Date given with a TZID from its local-time fields:
 * this builds the Date whose fields (in the process's zone) are the wall clock
 * in `tz`. Null when the process's own zone cannot show that wall time (a DST
 * gap there): the event is then written in UTC, still the right instant.
 */
function asWallClock(instant: Date, tz: string): Date | null {
  const w = wallTime(instant, tz);
  const local = new Date(w.y, w.m - 1, w.d, w.h, w.mi, w.s);
  const same =
    local.getFullYear() === w.y &&
    local.getMonth() === w.m - 1 &&
    local.getDate() === w.d &&
    local.getHours() === w.h &&
    local.getMinutes() === w.mi;
  return same ? local : null;
}

function renderCalendar(items: FeedDeadline[]): string {
  const cal = ical({
    name: 'Case deadlines',
    prodId: { company: 'exile-case-backend', product: 'deadlines', language: 'EN' },
    ttl: 900,
  });
  // Times are shown in the zone of the court that set them (the deadline's zone), with a VTIMEZONE per zone.
  const years = items.map((d) => d.dueAt.getUTCFullYear());
  const [fromYear, toYear] = [Math.min(...years) - 1, Math.max(...years) + 1];
  cal.timezone({ name: null, generator: (tz) => vtimezone(tz, fromYear, toYear) });
  for (const d of items) {
    const prefix = d.status === 'DONE' ? '[done] ' : d.status === 'MISSED' ? '[MISSED] ' : '';
    const timed = d.hourBased || !d.dueDate;
    const startUtc = timed ? d.dueAt : new Date(d.dueAt.getTime() - 30 * 60_000);
    const endUtc = timed ? new Date(d.dueAt.getTime() + 30 * 60_000) : d.dueAt;
    const [start, end] = [asWallClock(startUtc, d.timeZone), asWallClock(endUtc, d.timeZone)];
    const zoned = start && end ? { start, end, timezone: d.timeZone } : { start: startUtc, end: endUtc };
    cal.createEvent({
      id: `${d.id}@exile-case-backend`,
      ...zoned,
      stamp: d.updatedAt,
      sequence: d.version,
      summary: `${prefix}${d.case.reference} (${d.case.person.pseudonym}): ${d.title}`,
      description: [
        `Kind: ${d.kind}`,
        `Due: ${d.dueAt.toISOString()} (${d.timeZone}${d.dueDate ? `, end of ${d.dueDate}` : ''})`,
        d.citation ? `Source: ${d.citation}` : '',
        d.source === 'RULE' ? 'Computed, verify with counsel.' : '',
        ...deadlineWarnings(d).map((w) => `Warning: ${w.message}`),
      ]
        .filter(Boolean)
        .join('\n'),
      alarms:
        d.status === 'OPEN'
          ? [
              { type: ICalAlarmType.display, trigger: 86_400 },
              { type: ICalAlarmType.display, trigger: 3_600 },
            ]
          : [],
    });
  }
  return cal.toString();
}
