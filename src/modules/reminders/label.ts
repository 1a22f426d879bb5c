// The label of a reminder row: what it announces and the due instant it was
// planned for. Stored as text `<code>@<ISO instant>` (3d@2026-12-01T…,
// 12h@…, morning@…, now@…, overdue@…, changed@…); the instant makes a rescheduled
// deadline get a fresh set while the reminders sent for the old date stay on
// record (one live row per deadline, recipient, channel and label). Only this
// file reads or writes that text.

export type ReminderLabel =
  /** `amount` days or hours before the due instant. */
  | { kind: 'before'; amount: number; unit: 'd' | 'h'; dueAt: Date }
  /** The morning of the due day (day-counted deadlines). */
  | { kind: 'morning'; dueAt: Date }
  /** Offsets already past when planned, coalesced into one reminder sent at once. */
  | { kind: 'now'; dueAt: Date }
  /** After the due instant; also goes to the team's coordinators. */
  | { kind: 'overdue'; dueAt: Date }
  /**
   * A notice, sent at once, that someone changed the status or date of a
   * rule-made or hearing deadline; `dueAt` here is the instant of that change
   * (its entry in the deadline's history).
   */
  | { kind: 'changed'; dueAt: Date };

export type ReminderLabelKind = ReminderLabel['kind'];

/** The part before `@`: `3d`, `12h`, `morning`, `now`, `overdue` (the webhook's `label` field). */
export function labelCode(label: ReminderLabel): string {
  return label.kind === 'before' ? `${label.amount}${label.unit}` : label.kind;
}

export function formatLabel(label: ReminderLabel): string {
  return `${labelCode(label)}@${label.dueAt.toISOString()}`;
}

/** The stored text's prefix shared by every label of one kind (`overdue@`), for SQL filters. */
export function labelPrefix(kind: Exclude<ReminderLabelKind, 'before'>): string {
  return `${kind}@`;
}

const LABEL = /^(?:(\d+)([dh])|(morning|now|overdue|changed))@(.+)$/;

/** Reads a stored label; throws on text this file did not write. */
export function parseLabel(text: string): ReminderLabel {
  const m = LABEL.exec(text);
  const dueAt = m ? new Date(m[4]) : null;
  if (!m || !dueAt || Number.isNaN(dueAt.getTime())) throw new Error('malformed reminder label');
  if (m[3] === 'morning' || m[3] === 'now' || m[3] === 'overdue' || m[3] === 'changed') return { kind: m[3], dueAt };
  return { kind: 'before', amount: Number(m[1]), unit: m[2] === 'h' ? 'h' : 'd', dueAt };
}

/** How a message names the reminder: "due in 3 days", "due today", "OVERDUE". */
export function labelText(label: ReminderLabel): string {
  switch (label.kind) {
    case 'overdue':
      return 'OVERDUE';
    case 'changed':
      return 'CHANGED';
    case 'now':
      return 'due soon';
    case 'morning':
      return 'due today';
    case 'before':
      return `due in ${label.amount} ${label.unit === 'd' ? 'day' : 'hour'}${label.amount === 1 ? '' : 's'}`;
  }
}
