// The reminder schedule as pure functions: which reminders a deadline gets,
// when, for whom and on which channels. No database: ./planner.ts loads the
// facts and writes what these functions decide.
import type { AppConfig } from '../../config.ts';
import { localDate, zonedToUtc } from '../../lib/legal-time.ts';
import type { ReminderLabel } from './label.ts';

/** A deadline found already past when it is computed is announced as overdue only if it passed this recently. */
export const RECENTLY_MISSED_MS = 7 * 86_400_000;

export type ScheduleSettings = Pick<AppConfig['reminders'], 'offsetsDays' | 'offsetsHours' | 'morningTime'>;
export type ScheduledDeadline = { dueAt: Date; dueDate: string | null; timeZone: string; hourBased: boolean };
export type ScheduledReminder = { label: ReminderLabel; at: Date };
export type Channel = 'EMAIL' | 'WEBHOOK';

/** The reminder schedule of a deadline: label and instant, before coalescing. */
export function reminderSchedule(d: ScheduledDeadline, cfg: ScheduleSettings): ScheduledReminder[] {
  const due = d.dueAt.getTime();
  const dueAt = d.dueAt;
  const out: ScheduledReminder[] = [];
  if (d.hourBased) {
    for (const h of cfg.offsetsHours) {
      out.push({ label: { kind: 'before', amount: h, unit: 'h', dueAt }, at: new Date(due - h * 3_600_000) });
    }
    out.push({ label: { kind: 'overdue', dueAt }, at: new Date(due + 15 * 60_000) });
  } else {
    for (const n of cfg.offsetsDays) {
      out.push({ label: { kind: 'before', amount: n, unit: 'd', dueAt }, at: new Date(due - n * 86_400_000) });
    }
    const day = d.dueDate ?? localDate(d.dueAt, d.timeZone);
    const morning = zonedToUtc(day, cfg.morningTime, d.timeZone);
    if (morning.getTime() < due) out.push({ label: { kind: 'morning', dueAt }, at: morning });
    out.push({ label: { kind: 'overdue', dueAt }, at: new Date(due + 3_600_000) });
  }
  return out;
}

/** A deadline computed when it had already passed (an event logged late) still warns, once, if it passed recently. */
export function justMissed(d: { status: string; dueAt: Date }, now: Date): boolean {
  return d.status === 'MISSED' && d.dueAt.getTime() > now.getTime() - RECENTLY_MISSED_MS;
}

/**
 * The reminders to write for a deadline at `now`, with the instant each is
 * sent. Offsets already past are not skipped: they are coalesced into one
 * `now` reminder sent at once (a detention logged at night with a 72-hour
 * clock must reach the lawyer now). A just-missed deadline gets its overdue
 * reminder only; any other deadline that is not open gets none.
 */
export function remindersToWrite(
  d: ScheduledDeadline & { status: string },
  cfg: ScheduleSettings,
  now: Date,
): { label: ReminderLabel; sendAt: Date }[] {
  const missed = justMissed(d, now);
  if (d.status !== 'OPEN' && !missed) return [];
  const schedule = reminderSchedule(d, cfg);
  const isOverdue = (s: ScheduledReminder) => s.label.kind === 'overdue';
  const items = missed ? schedule.filter(isOverdue) : schedule.filter((s) => s.at > now || isOverdue(s));
  if (!missed && d.dueAt > now && schedule.some((s) => s.at <= now && !isOverdue(s))) {
    items.push({ label: { kind: 'now', dueAt: d.dueAt }, at: now });
  }
  return items.map((s) => ({ label: s.label, sendAt: s.at < now ? now : s.at }));
}

/**
 * Who hears about a deadline: the case's current lawyers, its team's
 * caseworkers and the assignee; overdue reminders also the team's coordinators.
 */
export function reminderRecipients(input: {
  lawyerIds: readonly string[];
  teamMembers: readonly { userId: string; role: string }[];
  assigneeId: string | null;
}): { regular: Set<string>; escalation: Set<string> } {
  const caseworkers = input.teamMembers.filter((m) => m.role === 'CASEWORKER').map((m) => m.userId);
  const regular = new Set<string>([...input.lawyerIds, ...caseworkers]);
  if (input.assigneeId) regular.add(input.assigneeId);
  const coordinators = input.teamMembers.filter((m) => m.role === 'COORDINATOR').map((m) => m.userId);
  return { regular, escalation: new Set<string>([...regular, ...coordinators]) };
}

/** A user's channels: email unless turned off (on by default), the webhook when complete and on. */
export function channelsOf(
  s:
    | { emailEnabled: boolean; webhookEnabled: boolean; webhookUrl: string | null; webhookSecretEnc: string | null }
    | undefined,
): Channel[] {
  const ch: Channel[] = [];
  if (!s || s.emailEnabled) ch.push('EMAIL');
  if (s?.webhookEnabled && s.webhookUrl && s.webhookSecretEnc) ch.push('WEBHOOK');
  return ch;
}
