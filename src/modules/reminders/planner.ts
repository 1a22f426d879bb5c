// The reminder planner: writes and cancels reminder rows inside the caller's
// transaction. Reminder rows are the outbox: they are written in the same
// transaction as the deadline change that causes them, so a crash can never
// leave a deadline without its reminders; src/workers/reminders/ moves due rows
// into the queue and delivers them. What to write is decided by ./schedule.ts.
import { randomUUID } from 'node:crypto';
import type { Tx } from '../../db.ts';
import type { Prisma } from '../../generated/prisma/client.ts';
import { myDeadlinesWhere, type Viewer } from '../access/visibility.ts';
import { formatLabel, labelPrefix } from './label.ts';
import { channelsOf, reminderRecipients, remindersToWrite, type ScheduleSettings } from './schedule.ts';

export type PlannerDeps = { config: { reminders: ScheduleSettings }; clock: () => Date };

export class ReminderPlanner {
  constructor(private readonly deps: PlannerDeps) {}

  /**
   * Writes the reminder rows of an open (or just missed) deadline, for every
   * recipient or only `onlyRecipient`. Rows that already exist are kept.
   */
  async plan(tx: Tx, deadlineId: string, onlyRecipient?: string): Promise<number> {
    const now = this.deps.clock();
    const d = await tx.deadline.findUniqueOrThrow({
      where: { id: deadlineId },
      select: {
        id: true,
        status: true,
        dueAt: true,
        dueDate: true,
        timeZone: true,
        hourBased: true,
        assigneeId: true,
        case: { select: { id: true, teamId: true } },
      },
    });
    const items = remindersToWrite(d, this.deps.config.reminders, now);
    if (!items.length) return 0;
    const [lawyers, members] = await Promise.all([
      tx.assignment.findMany({
        where: { caseId: d.case.id, endedAt: null, lawyer: { active: true } },
        select: { lawyerId: true },
      }),
      tx.teamMember.findMany({
        where: { teamId: d.case.teamId, user: { active: true, role: { in: ['CASEWORKER', 'COORDINATOR'] } } },
        select: { userId: true, user: { select: { role: true } } },
      }),
    ]);
    const { regular, escalation } = reminderRecipients({
      lawyerIds: lawyers.map((l) => l.lawyerId),
      teamMembers: members.map((m) => ({ userId: m.userId, role: m.user.role })),
      assigneeId: d.assigneeId,
    });
    const everyone = [...escalation].filter((u) => !onlyRecipient || u === onlyRecipient);
    if (!everyone.length) return 0;
    const settings = await tx.notificationSettings.findMany({ where: { userId: { in: everyone } } });
    const rows: Prisma.ReminderCreateManyInput[] = [];
    for (const item of items) {
      const recipients = item.label.kind === 'overdue' ? escalation : regular;
      const label = formatLabel(item.label);
      for (const userId of recipients) {
        if (onlyRecipient && userId !== onlyRecipient) continue;
        for (const channel of channelsOf(settings.find((x) => x.userId === userId))) {
          rows.push({
            id: randomUUID(),
            deadlineId: d.id,
            recipientId: userId,
            channel,
            label,
            sendAt: item.sendAt,
            createdAt: now,
          });
        }
      }
    }
    if (!rows.length) return 0;
    const res = await tx.reminder.createMany({ data: rows, skipDuplicates: true });
    return res.count;
  }

  /**
   * Tells the case's other lawyers and caseworkers (not the person who made
   * it, not the coordinators) at once that a deadline's status or date changed;
   * `at` is the instant of the change in the deadline's history. Change
   * notices are never cancelled by later re-planning.
   */
  async notifyChange(tx: Tx, deadlineId: string, actorId: string, at: Date): Promise<number> {
    const d = await tx.deadline.findUniqueOrThrow({
      where: { id: deadlineId },
      select: { assigneeId: true, case: { select: { id: true, teamId: true } } },
    });
    const [lawyers, members] = await Promise.all([
      tx.assignment.findMany({
        where: { caseId: d.case.id, endedAt: null, lawyer: { active: true } },
        select: { lawyerId: true },
      }),
      tx.teamMember.findMany({
        where: { teamId: d.case.teamId, user: { active: true, role: 'CASEWORKER' } },
        select: { userId: true, user: { select: { role: true } } },
      }),
    ]);
    const { regular } = reminderRecipients({
      lawyerIds: lawyers.map((l) => l.lawyerId),
      teamMembers: members.map((m) => ({ userId: m.userId, role: m.user.role })),
      assigneeId: d.assigneeId,
    });
    regular.delete(actorId);
    if (!regular.size) return 0;
    const settings = await tx.notificationSettings.findMany({ where: { userId: { in: [...regular] } } });
    const label = formatLabel({ kind: 'changed', dueAt: at });
    const rows: Prisma.ReminderCreateManyInput[] = [...regular].flatMap((userId) =>
      channelsOf(settings.find((x) => x.userId === userId)).map((channel) => ({
        id: randomUUID(),
        deadlineId,
        recipientId: userId,
        channel,
        label,
        sendAt: at,
        createdAt: at,
      })),
    );
    const res = await tx.reminder.createMany({ data: rows, skipDuplicates: true });
    return res.count;
  }

  /** Cancels the pending reminders of a deadline (of one recipient when given); change notices still go out. */
  async cancelPending(tx: Tx, deadlineId: string, recipientId?: string): Promise<number> {
    const { count } = await tx.reminder.updateMany({
      where: {
        deadlineId,
        status: 'PENDING',
        ...(recipientId ? { recipientId } : {}),
        NOT: { label: { startsWith: labelPrefix('changed') } },
      },
      data: { status: 'CANCELLED' },
    });
    return count;
  }

  /** Cancels a deadline's pending reminders, then plans them afresh (a reschedule, a reopening). */
  async replan(tx: Tx, deadlineId: string): Promise<void> {
    await this.cancelPending(tx, deadlineId);
    await this.plan(tx, deadlineId);
  }

  /** A deadline became MISSED: its overdue reminders stay (coordinators must hear), the others go. */
  async cancelAllButOverdue(tx: Tx, deadlineId: string): Promise<void> {
    await tx.reminder.updateMany({
      where: {
        deadlineId,
        status: 'PENDING',
        NOT: [{ label: { startsWith: labelPrefix('overdue') } }, { label: { startsWith: labelPrefix('changed') } }],
      },
      data: { status: 'CANCELLED' },
    });
  }

  /** A lawyer newly assigned to a case gets reminders for its open deadlines. */
  async onLawyerAssigned(tx: Tx, caseId: string, lawyerId: string): Promise<void> {
    const open = await tx.deadline.findMany({ where: { caseId, status: 'OPEN' }, select: { id: true } });
    for (const d of open) await this.plan(tx, d.id, lawyerId);
  }

  /** A lawyer whose assignment ended gets no more reminders for the case. */
  async onLawyerUnassigned(tx: Tx, caseId: string, lawyerId: string): Promise<void> {
    await tx.reminder.updateMany({
      where: { status: 'PENDING', recipientId: lawyerId, deadline: { caseId } },
      data: { status: 'CANCELLED' },
    });
  }

  /**
   * A user's channels changed: re-plan every open deadline they work on (not
   * only those with pending reminders: with every channel off there are none,
   * and turning email back on must work).
   */
  async replanForUser(tx: Tx, viewer: Viewer): Promise<void> {
    const open = await tx.deadline.findMany({
      where: { AND: [myDeadlinesWhere(viewer), { status: 'OPEN' }] },
      select: { id: true },
    });
    for (const d of open) {
      await this.cancelPending(tx, d.id, viewer.userId);
      await this.plan(tx, d.id, viewer.userId);
    }
  }
}
