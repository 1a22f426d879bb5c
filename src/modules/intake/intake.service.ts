// Public intake: a relative reports a detention without an account. The report
// is quarantined: one encrypted row (intake_submissions.content_enc, FieldCrypto
// bound to the row) that creates nothing until a caseworker of a team covering
// the reported country, or an admin, vets it (./intake-vetting.service.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { AppError } from '../../lib/app-error.ts';
import { iso } from '../../lib/http-schemas.ts';
import { decodeCursor, encodeCursor } from '../../lib/pagination.ts';
import { query, rawSql, sql } from '../../lib/sql.ts';
import { appendAudit, appendAuditSql } from '../audit/audit.log.ts';
import type { Actor } from '../../plugins/auth.ts';
import { altchaHmacKey, checkAltcha, createAltchaChallenge, type AltchaCheck } from './altcha.ts';
import { IntakeThrottle } from './intake.throttle.ts';
import type { IntakeContentDto, SubmitIntakeBody } from './intake.schemas.ts';
import type { RateLimitSink } from '../../lib/rate-limit-headers.ts';
import { DuplicatesService } from '../people/duplicates.service.ts';
import { queueIntakeSubmitted } from './intake-notices.ts';

export type SubmissionRow = {
  id: string;
  receipt: string;
  status: 'NEW' | 'ACCEPTED' | 'REJECTED' | 'EXPIRED';
  country: string;
  language: string;
  contentEnc: string | null;
  createdAt: Date;
  vettedAt: Date | null;
  caseId: string | null;
};
export type StoredContent = IntakeContentDto & { consent: boolean };

/** How often the erasure runs. */
export const INTAKE_ERASE_INTERVAL_MS = 60 * 60_000;

export const contentRef = (id: string) => ({ table: 'intake_submissions', column: 'content_enc', rowId: id });

const RESEND =
  'Nothing you typed was stored or lost: keep the form as it is, request a new challenge (GET /v1/intake/challenge), solve it and send the same report again with the new altcha value.';
const WHY: Record<Exclude<AltchaCheck, { ok: true }>['reason'] | 'replayed', string> = {
  malformed: 'the altcha value could not be read',
  signature: 'the altcha challenge was not issued by this server',
  solution: 'the altcha number does not solve the challenge',
  expired: 'the altcha challenge has expired',
  replayed: 'this altcha challenge was already used',
};

/** A receipt a relative can read out on the phone: 12 characters from an alphabet without 0/O, 1/I/L. */
function newReceipt(): string {
  const alphabet = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(12);
  let s = '';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return `R-${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8)}`;
}

/** Submissions a vetter may see, as SQL over `s`: admins all, caseworkers those of their teams' countries. */
export function coveredSql(actor: Actor) {
  if (actor.role === 'ADMIN') return rawSql('TRUE');
  return sql`s.country = ANY(ARRAY(SELECT unnest(t.countries) FROM teams t WHERE t.id = ANY(${actor.teamIds}::uuid[])))`;
}

export class IntakeService {
  private readonly altchaKey: Buffer;
  private readonly throttle: IntakeThrottle;
  private readonly duplicates: DuplicatesService;
  constructor(private readonly app: FastifyInstance) {
    this.altchaKey = altchaHmacKey(app.config.crypto.blindIndexKey);
    this.throttle = new IntakeThrottle(app);
    this.duplicates = new DuplicatesService(app);
  }

  challenge() {
    return createAltchaChallenge(this.altchaKey, this.app.clock());
  }

  /** Stores a report (throttled, proof of work checked once) and returns its receipt. */
  async submit(
    body: z.infer<typeof SubmitIntakeBody>,
    ip: string,
    requestId: string,
    onRateLimit?: RateLimitSink,
  ): Promise<{ receipt: string }> {
    const now = this.app.clock();
    await this.throttle.check(ip, now, onRateLimit);
    const check = checkAltcha(this.altchaKey, body.altcha, now);
    if (!check.ok) throw this.resend(check.reason);
    const id = randomUUID();
    const receipt = newReceipt();
    const { altcha: _altcha, language, ...content } = body;
    const contentEnc = this.app.crypto.encrypt(JSON.stringify(content), contentRef(id));
    const stored = await this.app.db.$transaction(async (tx) => {
      // The solved challenge is recorded with the report: accepted once, and a
      // report that fails to store frees it.
      const used = await tx.$executeRaw`INSERT INTO intake_used_challenges (challenge, expires_at)
        VALUES (${check.challenge}, ${check.expiresAt}::timestamptz) ON CONFLICT DO NOTHING`;
      if (used === 0) return false;
      await tx.$executeRaw`INSERT INTO intake_submissions (id, receipt, status, country, language, content_enc, created_at)
        VALUES (${id}::uuid, ${receipt}, 'NEW', ${body.event.country}, ${language}, ${contentEnc}, ${now}::timestamptz)`;
      await appendAudit(
        tx,
        {
          actorId: null,
          action: 'intake.submit',
          entityType: 'intake_submission',
          entityId: id,
          requestId,
          changes: { country: body.event.country, language },
        },
        now,
      );
      // The covering team's caseworkers hear of it (outbox: mailed by the worker, never in this request).
      await queueIntakeSubmitted(tx, id, body.event.country, now);
      return true;
    });
    if (!stored) throw this.resend('replayed');
    return { receipt };
  }

  /** 400 naming the one field to resend; nothing of the report is echoed. */
  private resend(reason: keyof typeof WHY): AppError {
    return new AppError('VALIDATION', `altcha: ${WHY[reason]}. ${RESEND}`, {
      errors: [{ path: 'body.altcha', message: `${WHY[reason]}; solve a new challenge and resend` }],
    });
  }

  decryptContent(row: Pick<SubmissionRow, 'id' | 'contentEnc'>): StoredContent | null {
    const plain = this.app.crypto.decryptNullable(row.contentEnc, contentRef(row.id));
    // Written by submit from a validated body.
    return plain ? (JSON.parse(plain) as StoredContent) : null;
  }

  toDto(row: SubmissionRow) {
    return {
      id: row.id,
      receipt: row.receipt,
      status: row.status,
      country: row.country,
      language: row.language,
      createdAt: iso(row.createdAt),
      vettedAt: iso(row.vettedAt),
      caseId: row.caseId,
      content: this.decryptContent(row),
    };
  }

  /** The vetting queue: newest first, decrypted; the reveal is audited. */
  async list(actor: Actor, q: { status: SubmissionRow['status']; cursor?: string; limit: number }, requestId: string) {
    const cursor = decodeCursor(q.cursor);
    const after = cursor
      ? sql`AND (s.created_at, s.id) < (${new Date(cursor.t)}::timestamptz, ${cursor.id}::uuid)`
      : rawSql('');
    const rows = await query<SubmissionRow>(
      this.app.sqlPool,
      sql`SELECT s.id, s.receipt, s.status, s.country, s.language, s.content_enc AS "contentEnc",
                 s.created_at AS "createdAt", s.vetted_at AS "vettedAt", s.case_id AS "caseId"
          FROM intake_submissions s
          WHERE s.status = ${q.status} AND ${coveredSql(actor)} ${after}
          ORDER BY s.created_at DESC, s.id DESC LIMIT ${q.limit + 1}`,
    );
    const more = rows.length > q.limit;
    const kept = more ? rows.slice(0, q.limit) : rows;
    const items = await Promise.all(
      kept.map(async (r) => {
        const dto = this.toDto(r);
        // A report still to vet shows who it may already be: the candidates the vetter may see, with their score,
        // and only a count of those in other teams (askTeam: POST /v1/people/duplicates/ask-team).
        const found =
          dto.content && r.status === 'NEW' ? await this.duplicates.candidates(actor, dto.content.subject.name) : null;
        const duplicates = found && { ...found, askTeam: found.hiddenMatches > 0 };
        return { ...dto, duplicates };
      }),
    );
    const revealed = kept.filter((r) => r.contentEnc).map((r) => r.id);
    if (revealed.length) {
      await appendAuditSql(
        this.app.sqlPool,
        {
          actorId: actor.userId,
          action: 'intake.read_content',
          entityType: 'intake_submission',
          requestId,
          changes: { submissions: revealed, duplicateChecks: items.filter((i) => i.duplicates).length },
        },
        this.app.clock(),
      );
    }
    return { items, nextCursor: more ? encodeCursor(kept[kept.length - 1]) : null };
  }

  /**
   * Erases the content of submissions nobody vetted within the retention
   * period (a report that waited that long is handled another way, and an
   * unvetted report must not become a store of personal data); returns how many.
   */
  async eraseStale(now = this.app.clock(), days = this.app.config.intake.retentionDays): Promise<number> {
    const cutoff = new Date(now.getTime() - days * 86_400_000);
    return this.app.db.$transaction(async (tx) => {
      const n = await tx.$executeRaw`UPDATE intake_submissions SET status = 'EXPIRED', content_enc = NULL,
        vetted_at = ${now}::timestamptz WHERE status = 'NEW' AND created_at < ${cutoff}::timestamptz`;
      if (n > 0) {
        await appendAudit(
          tx,
          { actorId: null, action: 'intake.expire', entityType: 'intake_submission', changes: { erased: n, days } },
          now,
        );
      }
      return n;
    });
  }
}
