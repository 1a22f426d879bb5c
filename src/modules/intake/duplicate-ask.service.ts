// "A possible match exists in another team": the caller of a duplicate check
// (or the vetter of a report) learns only that count; asking notifies the
// caseworkers of the teams that hold those people's cases (by email, through
// the notice outbox), naming the asker and the recipients' own case
// references, never anything to the asker. Audited. Each user may ask
// ASK_TEAM_MAX_PER_DAY times per 24 hours (every ask emails other teams).
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { appendAudit } from '../audit/audit.log.ts';
import type { Actor } from '../../plugins/auth.ts';
import { DuplicatesService } from '../people/duplicates.service.ts';
import type { RateLimitSink } from '../../lib/rate-limit-headers.ts';
import { queueDuplicateAsk } from './intake-notices.ts';
import { IntakeThrottle } from './intake.throttle.ts';

const DAY_MS = 24 * 3600_000;

export class DuplicateAskService {
  private readonly duplicates: DuplicatesService;
  private readonly throttle: IntakeThrottle;
  constructor(private readonly app: FastifyInstance) {
    this.duplicates = new DuplicatesService(app);
    this.throttle = new IntakeThrottle(app);
  }

  async ask(
    actor: Actor,
    legalName: string,
    dateOfBirth: string | undefined,
    requestId: string,
    report?: RateLimitSink,
  ) {
    const now = this.app.clock();
    const max = this.app.config.intake.askTeamPerDay;
    // Counted before anything else: refused and empty asks use the allowance too.
    const used = await this.throttle.count(this.throttle.askKey(actor.userId), now, DAY_MS);
    report?.({ policy: 'user', limit: max, used: used.count, windowSeconds: DAY_MS / 1000, endsAt: used.endsAt });
    if (used.count > max) {
      throw new AppError('RATE_LIMITED', `At most ${max} asks to other teams per 24 hours; try again later.`, {
        retryAfterSeconds: Math.max(1, Math.ceil((used.endsAt.getTime() - now.getTime()) / 1000)),
      });
    }
    const rows = await this.duplicates.matchRows(actor, legalName, dateOfBirth);
    const hidden = rows.filter((r) => !r.visible).map((r) => r.id);
    return this.app.db.$transaction(async (tx) => {
      const me = await tx.user.findUnique({ where: { id: actor.userId }, select: { displayName: true, email: true } });
      if (!me) throw new AppError('UNAUTHENTICATED', 'Sign in again.');
      const teams = hidden.length ? await queueDuplicateAsk(tx, { userId: actor.userId, ...me }, hidden, now) : [];
      await appendAudit(
        tx,
        {
          actorId: actor.userId,
          action: 'person.duplicate_ask',
          entityType: 'person',
          requestId,
          changes: { hiddenMatches: hidden.length, teamsAsked: teams },
        },
        now,
      );
      return { asked: teams.length > 0 };
    });
  }
}
