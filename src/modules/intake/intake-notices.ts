// Notices of the intake to caseworkers, through the outbox of security notices
// (security_notices rows, written in the transaction of the report or of the
// request; the reminder worker emails them on every relay run and retries with
// backoff: src/workers/reminders/security-notices.ts). A mail server that is
// down never loses a report: the report commits with its notices, the mail
// follows. A notice holds no personal data: no name, no description, no
// contact, and no receipt (what a relative quotes to show the report is theirs).
import type { AppConfig } from '../../config.ts';
import type { Tx } from '../../db.ts';
import type { NoticeDetail } from '../auth/security-notices.ts';

export const INTAKE_NOTICE_KINDS = ['intake_submitted', 'duplicate_ask'] as const;
type IntakeNoticeKind = (typeof INTAKE_NOTICE_KINDS)[number];

/**
 * Queues a notice of a new report to every active caseworker of the teams
 * covering its country (once per person, however many such teams they are in);
 * returns how many. Coordinators, lawyers and admins get none.
 */
export function queueIntakeSubmitted(tx: Tx, submissionId: string, country: string, now: Date): Promise<number> {
  return tx.$executeRaw`INSERT INTO security_notices (id, user_id, kind, detail, created_at, next_attempt_at)
    SELECT gen_random_uuid(), u.id, 'intake_submitted',
           jsonb_build_object('submissionId', ${submissionId}::text, 'country', ${country}::text),
           ${now}::timestamptz, ${now}::timestamptz
    FROM users u
    WHERE u.role = 'CASEWORKER' AND u.active
      AND EXISTS (SELECT 1 FROM team_members m JOIN teams t ON t.id = m.team_id
                  WHERE m.user_id = u.id AND ${country}::text = ANY(t.countries))`;
}

/**
 * Queues "a colleague asks about a possible duplicate" to the active
 * caseworkers of the teams holding cases of these (hidden) people, but not to
 * the asker; each notice names only the recipient's own teams' case references
 * and who asks. Returns the teams asked.
 */
export async function queueDuplicateAsk(
  tx: Tx,
  asker: { userId: string; displayName: string; email: string },
  personIds: string[],
  now: Date,
): Promise<string[]> {
  const rows = await tx.$queryRaw<{ team_id: string }[]>`
    WITH targets AS (
      SELECT m.user_id, m.team_id, k.reference
      FROM cases k
      JOIN team_members m ON m.team_id = k.team_id
      JOIN users u ON u.id = m.user_id
      WHERE k.person_id = ANY(${personIds}::uuid[]) AND u.role = 'CASEWORKER' AND u.active
        AND u.id <> ${asker.userId}::uuid
    ), queued AS (
      INSERT INTO security_notices (id, user_id, kind, detail, created_at, next_attempt_at)
      SELECT gen_random_uuid(), user_id, 'duplicate_ask',
             jsonb_build_object('askedBy', ${asker.displayName}::text, 'askedByEmail', ${asker.email}::text,
                                'cases', string_agg(DISTINCT reference, ', ' ORDER BY reference)),
             ${now}::timestamptz, ${now}::timestamptz
      FROM targets GROUP BY user_id
    )
    SELECT DISTINCT team_id::text AS team_id FROM targets`;
  return rows.map((r) => r.team_id);
}

const isIntakeKind = (kind: string): kind is IntakeNoticeKind =>
  (INTAKE_NOTICE_KINDS as readonly string[]).includes(kind);

/** The email of an intake notice, or null for another kind (a security notice). */
export function intakeNoticeMessage(
  kind: string,
  d: NoticeDetail,
  at: Date,
  config: Pick<AppConfig, 'publicBaseUrl' | 'intake'>,
): { subject: string; text: string } | null {
  if (!isIntakeKind(kind)) return null;
  if (kind === 'intake_submitted') {
    return {
      subject: 'A new report awaits vetting',
      text: [
        `A new report about an event in ${d.country} arrived through the public intake form (${at.toISOString()} UTC)`,
        'and awaits vetting by your team.',
        '',
        `Open the vetting queue: ${config.publicBaseUrl}/v1/intake?status=NEW (submission ${d.submissionId}).`,
        'The report itself is not in this email: read it in the queue, signed in.',
        `A report nobody vets within ${config.intake.retentionDays} days is erased.`,
      ].join('\n'),
    };
  }
  return {
    subject: 'A colleague asks about a possible duplicate',
    text: [
      `${d.askedBy} (${d.askedByEmail}) is registering or vetting a person whose name matches the person of`,
      `your team's case ${d.cases}. They cannot see your case and were told nothing about it but that a`,
      'possible match exists in another team.',
      '',
      'Please contact them to compare, and merge or link the records if it is the same person.',
    ].join('\n'),
  };
}
