// Deadline rules are data: shipped defaults synced by key (./default-rules.ts),
// then edited by admins. An edit recomputes the open deadlines the rule made
// (./rule-impact.service.ts); `?stale=true` lists rules nobody verified for a year.
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { AppConfig } from '../../config.ts';
import type { Db } from '../../db.ts';
import { type DeadlineRule, Prisma } from '../../generated/prisma/client.ts';
import { AppError } from '../../lib/app-error.ts';
import { iso, isoDay } from '../../lib/http-schemas.ts';
import { appendAudit } from '../audit/audit.log.ts';
import type { CreateRule, UpdateRule } from './deadlines.schemas.ts';
import { DEFAULT_RULES, shippedColumns, shippedHash } from './default-rules.ts';
import { RuleImpactService } from './rule-impact.service.ts';
import { Keyset, type ListPage } from '../../lib/keyset.ts';

// By jurisdiction, then key (the id settles any tie).
const ruleOrder = new Keyset<{ jurisdiction: string; key: string; id: string }>('deadline-rules', [
  { name: 'jurisdiction', kind: 'string', dir: 'asc', get: (r) => r.jurisdiction },
  { name: 'key', kind: 'string', dir: 'asc', get: (r) => r.key },
  { name: 'id', kind: 'string', dir: 'asc', get: (r) => r.id },
]);

export type RuleDeps = { db: Db; config: AppConfig; clock: () => Date; log?: FastifyBaseLogger };

const YEAR_MS = 365 * 86_400_000;

export function toRuleDto(r: DeadlineRule) {
  const { shippedHash: _h, ...rest } = r;
  return {
    ...rest,
    verifiedOn: isoDay(r.verifiedOn),
    pendingDefault: r.pendingDefault ?? null,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

const dayOrNull = (d: string | null | undefined) => (d ? new Date(`${d}T00:00:00Z`) : d);

export class DeadlineRulesService {
  constructor(private readonly deps: RuleDeps) {}

  /**
   * Brings the table up to the shipped rules: a missing rule is inserted; a
   * shipped rule whose text changed since it was last applied replaces the
   * stored one, unless an admin edited it: then the new text waits in
   * `pendingDefault` and the admin accepts or dismisses it. Returns how many
   * rules were inserted.
   */
  async syncDefaults(): Promise<number> {
    const { db, clock } = this.deps;
    let inserted = 0;
    const now = clock();
    const stored = new Map((await db.deadlineRule.findMany()).map((r) => [r.key, r]));
    for (const d of DEFAULT_RULES) {
      const hash = shippedHash(d);
      const cols = shippedColumns(d);
      const row = stored.get(d.key);
      if (!row) {
        const res = await db.deadlineRule.createMany({
          data: [{ id: randomUUID(), key: d.key, ...cols, shippedHash: hash, createdAt: now }],
          skipDuplicates: true,
        });
        inserted += res.count;
        continue;
      }
      if (row.shippedHash === hash) continue;
      const pending = (row.pendingDefault ?? null) as { hash?: string } | null;
      if (row.adminEdited && pending?.hash === hash) continue;
      await db.$transaction(async (tx) => {
        // Guarded by the version read: an admin's edit in between wins and the text waits as pending.
        const data = row.adminEdited
          ? { pendingDefault: { hash, ...cols } as Prisma.InputJsonValue }
          : { ...cols, shippedHash: hash, pendingDefault: Prisma.DbNull, version: { increment: 1 }, updatedAt: now };
        const { count } = await tx.deadlineRule.updateMany({ where: { id: row.id, version: row.version }, data });
        if (!count) return;
        await appendAudit(
          tx,
          {
            actorId: null,
            action: row.adminEdited ? 'deadline_rule.default_pending' : 'deadline_rule.default_updated',
            entityType: 'deadline_rule',
            entityId: row.id,
            changes: { key: { new: d.key }, shippedHash: { old: row.shippedHash, new: hash } },
          },
          now,
        );
      });
    }
    return inserted;
  }

  async list(stale: boolean, q: ListPage) {
    const before = new Date(this.deps.clock().getTime() - YEAR_MS);
    const rows = await this.deps.db.deadlineRule.findMany({
      where: {
        AND: [stale ? { OR: [{ verifiedOn: null }, { verifiedOn: { lt: before } }] } : {}, ruleOrder.where(q.cursor)],
      },
      orderBy: ruleOrder.orderBy(),
      take: q.limit + 1,
    });
    const p = ruleOrder.page(rows, q.limit);
    return { items: p.rows.map(toRuleDto), nextCursor: p.nextCursor };
  }

  async create(actorId: string, body: CreateRule, requestId: string) {
    const now = this.deps.clock();
    const row = await this.deps.db.$transaction(async (tx) => {
      const r = await tx.deadlineRule.create({
        data: {
          id: randomUUID(),
          ...body,
          verifiedOn: dayOrNull(body.verifiedOn),
          timeZone: body.timeZone ?? null,
          cutoffTime: body.cutoffTime ?? null,
          holidayNote: body.holidayNote ?? null,
          adminEdited: true,
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

  /** Edits a rule, then recomputes the open deadlines it made (audited, in batches). */
  async update(actorId: string, id: string, body: UpdateRule, requestId: string) {
    const now = this.deps.clock();
    const { pendingDefault: decision, ...fields } = body;
    const row = await this.deps.db.$transaction(async (tx) => {
      const before = await tx.deadlineRule.findUnique({ where: { id } });
      if (!before) throw new AppError('NOT_FOUND', 'Rule not found.');
      const pending = before.pendingDefault as (Record<string, unknown> & { hash: string }) | null;
      if (decision && !pending) {
        throw new AppError('VALIDATION', 'no shipped version is pending for this rule', {
          errors: [{ path: 'body.pendingDefault', message: 'nothing pending' }],
        });
      }
      const { hash, ...shipped } = pending ?? { hash: null };
      const data: Prisma.DeadlineRuleUpdateInput = {
        ...(decision === 'ACCEPT' ? shipped : {}),
        ...fields,
        ...(fields.verifiedOn !== undefined ? { verifiedOn: dayOrNull(fields.verifiedOn) } : {}),
        ...(decision ? { pendingDefault: Prisma.DbNull, shippedHash: hash } : {}),
        // Accepting the shipped text alone makes the rule follow future shipped texts again.
        adminEdited: !(decision === 'ACCEPT' && !Object.keys(fields).length),
        version: { increment: 1 },
        updatedAt: now,
      };
      const r = await tx.deadlineRule.update({ where: { id }, data });
      const old: Record<string, unknown> = before;
      const changes = Object.fromEntries(
        Object.entries({ ...(decision === 'ACCEPT' ? shipped : {}), ...fields }).map(([k, v]) => [
          k,
          { old: old[k] ?? null, new: v },
        ]),
      );
      if (decision) changes.pendingDefault = { old: hash, new: decision };
      await appendAudit(
        tx,
        { actorId, action: 'deadline_rule.update', entityType: 'deadline_rule', entityId: r.id, requestId, changes },
        now,
      );
      return r;
    });
    // A deactivated rule makes no new deadlines but leaves the ones it made alone.
    if (row.active) await new RuleImpactService(this.deps).recompute(actorId, id, requestId);
    return toRuleDto(await this.deps.db.deadlineRule.findUniqueOrThrow({ where: { id: row.id } }));
  }
}
