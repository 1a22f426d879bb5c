// Vetting a quarantined report: accept creates the person, the case and the
// event in one transaction (pre-filled from the report, editable in the body),
// links the receipt to the new case and records it all in the audit log;
// reject erases the report (crypto-shredded: the ciphertext is deleted) and
// keeps the reason, encrypted. Both lock the submission row first, so when two
// vetters act at once one wins and the other gets 409.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { AppError, fieldError } from '../../lib/app-error.ts';
import type { Tx } from '../../db.ts';
import { appendAudit, diffChanges } from '../audit/audit.log.ts';
import { requireTeamMember } from '../../plugins/access.ts';
import type { Actor } from '../../plugins/auth.ts';
import { DeadlinesService } from '../deadlines/deadlines.service.ts';
import { PeopleService, PERSONAL_FIELDS } from '../people/people.service.ts';
import { writeNameTokens } from '../people/duplicates.service.ts';
import { query, sql } from '../../lib/sql.ts';
import { coveredSql, IntakeService, type SubmissionRow } from './intake.service.ts';
import type { AcceptIntakeBody } from './intake.schemas.ts';

type AcceptInput = z.infer<typeof AcceptIntakeBody>;

export class IntakeVettingService {
  private readonly intake: IntakeService;
  private readonly people: PeopleService;
  private readonly deadlines: DeadlinesService;
  constructor(private readonly app: FastifyInstance) {
    this.intake = new IntakeService(app);
    this.people = new PeopleService(app);
    this.deadlines = new DeadlinesService({ db: app.db, config: app.config, clock: app.clock, log: app.log });
  }

  /** Existence check for the caller (404 when not covered: not disclosed), then the row lock. */
  private async lockNew(tx: Tx, actor: Actor, id: string): Promise<SubmissionRow> {
    const [visible] = await query<{ id: string }>(
      this.app.sqlPool,
      sql`SELECT s.id FROM intake_submissions s WHERE s.id = ${id}::uuid AND ${coveredSql(actor)}`,
    );
    if (!visible) throw new AppError('NOT_FOUND', 'Submission not found.');
    const [row] = await tx.$queryRaw<SubmissionRow[]>`
      SELECT id, receipt, status, country, language, content_enc AS "contentEnc", created_at AS "createdAt",
             vetted_at AS "vettedAt", case_id AS "caseId"
      FROM intake_submissions WHERE id = ${id}::uuid FOR UPDATE`;
    if (row.status !== 'NEW') throw new AppError('CONFLICT', `This submission was already vetted (${row.status}).`);
    return row;
  }

  async accept(actor: Actor, id: string, input: AcceptInput, requestId: string) {
    requireTeamMember(actor, input.case.teamId);
    const now = this.app.clock();
    return this.app.db.$transaction(async (tx) => {
      const row = await this.lockNew(tx, actor, id);
      const report = this.intake.decryptContent(row);
      if (!report) throw new AppError('CONFLICT', 'This submission was erased.');
      const hostCountry = input.case.hostCountry ?? report.event.country;
      const team = await tx.team.findUnique({ where: { id: input.case.teamId }, select: { countries: true } });
      if (!team) throw fieldError('body.case.teamId', 'no such team');
      if (!team.countries.includes(hostCountry)) {
        throw fieldError('body.case.hostCountry', `not a country of this team (${team.countries.join(', ')})`);
      }
      const personId = randomUUID();
      const caseId = randomUUID();
      const eventId = randomUUID();
      const receiptTail = row.receipt.slice(-4);
      const person = {
        pseudonym: input.person?.pseudonym ?? `Intake ${receiptTail}`,
        legalName: input.person?.legalName ?? report.subject.name,
        dateOfBirth:
          input.person?.dateOfBirth !== undefined ? input.person.dateOfBirth : (report.subject.dateOfBirth ?? null),
        citizenship: input.person?.citizenship ?? report.subject.citizenship ?? [],
        travelDocumentStatus: input.person?.travelDocumentStatus ?? 'UNKNOWN',
      };
      await tx.person.create({
        data: {
          id: personId,
          pseudonym: person.pseudonym,
          citizenship: person.citizenship,
          travelDocumentStatus: person.travelDocumentStatus,
          tags: [],
          createdById: actor.userId,
          createdAt: now,
          ...(this.people.encryptedColumns(personId, person) as { legalNameEnc: string; legalNameBidx: string }),
        },
      });
      await writeNameTokens(tx, this.app.crypto, personId, person.legalName);
      const [{ n }] = await tx.$queryRaw<{ n: bigint }[]>`SELECT nextval('case_reference_seq') AS n`;
      const reference = `ARK-${now.getUTCFullYear()}-${String(n).padStart(6, '0')}`;
      await tx.case.create({
        data: {
          id: caseId,
          reference,
          personId,
          teamId: input.case.teamId,
          hostCountry,
          riskLevel: input.case.riskLevel,
          createdById: actor.userId,
          createdAt: now,
        },
      });
      const ev = {
        type: input.event?.type ?? report.event.type,
        country: input.event?.country ?? report.event.country,
        city: input.event?.city !== undefined ? input.event.city : (report.event.city ?? null),
        occurredAt: input.event?.occurredAt ?? report.event.occurredOn ?? row.createdAt.toISOString().slice(0, 10),
        details: input.event?.details !== undefined ? input.event.details : report.event.description,
      };
      await tx.event.create({
        data: {
          id: eventId,
          caseId,
          type: ev.type,
          country: ev.country,
          city: ev.city,
          occurredAt: new Date(`${ev.occurredAt}T00:00:00Z`),
          sourceUrls: [],
          detailsEnc: this.app.crypto.encryptNullable(ev.details, {
            table: 'events',
            column: 'details_enc',
            rowId: eventId,
          }),
          createdAt: now,
        },
      });
      await tx.$executeRaw`UPDATE intake_submissions SET status = 'ACCEPTED', vetted_at = ${now}::timestamptz,
        vetted_by_id = ${actor.userId}::uuid, person_id = ${personId}::uuid, case_id = ${caseId}::uuid,
        event_id = ${eventId}::uuid WHERE id = ${id}::uuid`;
      const audit = (action: string, entityType: string, entityId: string, changes: Record<string, unknown>) =>
        appendAudit(tx, { actorId: actor.userId, action, entityType, entityId, caseId, requestId, changes }, now);
      await audit('intake.accept', 'intake_submission', id, { receipt: row.receipt, personId, eventId });
      await audit('person.create', 'person', personId, diffChanges(null, person, PERSONAL_FIELDS));
      await audit('case.create', 'case', caseId, { reference, teamId: input.case.teamId, hostCountry, fromIntake: id });
      await audit('event.create', 'event', eventId, diffChanges(null, ev, ['details']));
      // Rule-made deadlines (a detention's expiry) commit with the event or not at all.
      await this.deadlines.recomputeForEvent(tx, eventId, actor.userId, requestId);
      return { personId, caseId, eventId };
    });
  }

  async reject(actor: Actor, id: string, reason: string, requestId: string): Promise<void> {
    if (actor.role !== 'ADMIN' && actor.role !== 'CASEWORKER') throw new AppError('FORBIDDEN', 'Not allowed.');
    const now = this.app.clock();
    await this.app.db.$transaction(async (tx) => {
      await this.lockNew(tx, actor, id);
      const reasonEnc = this.app.crypto.encrypt(reason, {
        table: 'intake_submissions',
        column: 'reason_enc',
        rowId: id,
      });
      // The report itself is erased: nothing personal is kept for a rejected submission.
      await tx.$executeRaw`UPDATE intake_submissions SET status = 'REJECTED', content_enc = NULL,
        reason_enc = ${reasonEnc}, vetted_at = ${now}::timestamptz, vetted_by_id = ${actor.userId}::uuid
        WHERE id = ${id}::uuid`;
      await appendAudit(
        tx,
        {
          actorId: actor.userId,
          action: 'intake.reject',
          entityType: 'intake_submission',
          entityId: id,
          requestId,
          changes: { reason: { personal: true } },
        },
        now,
      );
    });
  }
}
