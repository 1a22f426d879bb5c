// "A possible match exists in another team": the caller of a duplicate check
// (or the vetter of a report) learns only that count; asking notifies the
// caseworkers of the teams that hold those people's cases (by email, through
// the notice outbox), naming the asker and the recipients' own case
// references, never anything to the asker. Audited.
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { appendAudit } from '../audit/audit.log.ts';
import type { Actor } from '../../plugins/auth.ts';
import { DuplicatesService } from '../people/duplicates.service.ts';
import { queueDuplicateAsk } from './intake-notices.ts';

export class DuplicateAskService {
  private readonly duplicates: DuplicatesService;
  constructor(private readonly app: FastifyInstance) {
    this.duplicates = new DuplicatesService(app);
  }

  async ask(actor: Actor, legalName: string, dateOfBirth: string | undefined, requestId: string) {
    const rows = await this.duplicates.matchRows(actor, legalName, dateOfBirth);
    const hidden = rows.filter((r) => !r.visible).map((r) => r.id);
    const now = this.app.clock();
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
