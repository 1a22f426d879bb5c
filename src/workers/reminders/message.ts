// What a reminder says. Texts name the case reference and pseudonym, never a
// legal name; times are shown in the deadline's zone and in UTC.
import { labelText, type ReminderLabel } from '../../modules/reminders/label.ts';

/** The deadline facts a reminder message needs (loaded with the claim). */
export type DeliveryDeadline = {
  id: string;
  kind: string;
  title: string;
  dueAt: Date;
  dueDate: string | null;
  timeZone: string;
  status: string;
  citation: string | null;
  verifyWithCounsel: boolean;
  source: string;
  case: { id: string; reference: string; person: { pseudonym: string } };
  /** Change notices: who changed it and what (status, due time); the reason stays in the history. */
  change?: { by: string; what: string };
};

// Building an Intl.DateTimeFormat costs far more than using one: one per zone.
const formatters = new Map<string, Intl.DateTimeFormat>();

/** An instant as a full local date and time in a zone (formatters cached per zone). */
export function localTime(instant: Date, tz: string): string {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone: tz, dateStyle: 'full', timeStyle: 'short' });
    formatters.set(tz, f);
  }
  return f.format(instant);
}

/** Subject and plain text of a reminder (the same text goes into the webhook body). */
export function reminderMessage(label: ReminderLabel, d: DeliveryDeadline): { subject: string; text: string } {
  const what = labelText(label);
  const subject = `[${d.case.reference}] ${what}: ${d.title}`;
  const lines = [
    `${what.toUpperCase()}: ${d.title}`,
    '',
    d.change ? `Changed by ${d.change.by}: ${d.change.what} (the reason is in the deadline's history)` : '',
    `Case: ${d.case.reference} (${d.case.person.pseudonym})`,
    `Kind: ${d.kind}`,
    `Due: ${localTime(d.dueAt, d.timeZone)} (${d.timeZone}; ${d.dueAt.toISOString()})`,
    d.citation ? `Source: ${d.citation}` : '',
    d.source === 'RULE' || d.verifyWithCounsel ? 'Computed from a rule: verify with counsel.' : '',
  ];
  return { subject, text: lines.filter((l, i) => l !== '' || i === 1).join('\n') };
}

/** One line of the daily digest. */
export function digestLine(
  d: {
    title: string;
    status: string;
    dueAt: Date;
    timeZone: string;
    case: { reference: string; person: { pseudonym: string } };
  },
  now: Date,
): string {
  const overdue = d.status === 'MISSED' || d.dueAt < now ? 'OVERDUE ' : '';
  const where = `${d.case.reference} (${d.case.person.pseudonym})`;
  return `- ${overdue}${localTime(d.dueAt, d.timeZone)} (${d.timeZone}): ${where} ${d.title}`;
}
