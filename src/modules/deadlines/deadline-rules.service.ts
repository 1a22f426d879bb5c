// Deadline rules are data: shipped defaults inserted once by key, then edited
// by admins. An edit applies to deadlines computed from then on.
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db.ts';
import type { DeadlineRule } from '../../generated/prisma/client.ts';
import { AppError } from '../../lib/app-error.ts';
import { iso } from '../../lib/http-schemas.ts';
import { appendAudit } from '../audit/audit.log.ts';
import type { CreateRule, UpdateRule } from './deadlines.schemas.ts';
import { DEFAULT_RULES } from './default-rules.ts';

export type RuleDeps = { db: Db; clock: () => Date };

export function toRuleDto(r: DeadlineRule) {
  return { ...r, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt) };
}

export class DeadlineRulesService {
  constructor(private readonly deps: RuleDeps) {}

  /** Inserts the shipped rules that are not in the table yet (by key); never overwrites an admin's edit. */
  async syncDefaults(): Promise<number> {
    let inserted = 0;
    for (const r of DEFAULT_RULES) {
      const res = await this.deps.db.deadlineRule.createMany({
        data: [
          {
            id: randomUUID(),
            ...r,
            anchor: r.anchor ?? 'EVENT',
            timeZone: r.timeZone ?? null,
            cutoffTime: r.cutoffTime ?? null,
            holidayNote: r.holidayNote ?? null,
          },
        ],
        skipDuplicates: true,
      });
      inserted += res.count;
    }
    return inserted;
  }

  async list() {
    const rows = await this.deps.db.deadlineRule.findMany({ orderBy: [{ jurisdiction: 'asc' }, { key: 'asc' }] });
    return { items: rows.map(toRuleDto) };
  }

  async create(actorId: string, body: CreateRule, requestId: string) {
    const now = this.deps.clock();
    const row = await this.deps.db.$transaction(async (tx) => {
      const r = await tx.deadlineRule.create({
        data: {
          id: randomUUID(),
          ...body,
          timeZone: body.timeZone ?? null,
          cutoffTime: body.cutoffTime ?? null,
          holidayNote: body.holidayNote ?? null,
          createdAt: now,
        },
      });
      await appendAudit(
        tx,
        {
          actorId,
          action: 'deadline_rule.create',
          entityType: 'deadline_rule',
          entityId: r.id,
          requestId,
          changes: { key: { new: r.key } },
        },
        now,
      );
      return r;
    });
    return toRuleDto(row);
  }

  async update(actorId: string, id: string, body: UpdateRule, requestId: string) {
    const now = this.deps.clock();
    const row = await this.deps.db.$transaction(async (tx) => {
      const before: Record<string, unknown> | null = await tx.deadlineRule.findUnique({ where: { id } });
      if (!before) throw new AppError('NOT_FOUND', 'Rule not found.');
      const r = await tx.deadlineRule.update({
        where: { id },
        data: { ...body, version: { increment: 1 }, updatedAt: now },
      });
      const changes = Object.fromEntries(Object.entries(body).map(([k, v]) => [k, { old: before[k] ?? null, new: v }]));
      await appendAudit(
        tx,
        { actorId, action: 'deadline_rule.update', entityType: 'deadline_rule', entityId: r.id, requestId, changes },
        now,
      );
      return r;
    });
    return toRuleDto(row);
  }
}
