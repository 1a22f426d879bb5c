import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppError } from '../../lib/app-error.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { CountryCode, IdParams, iso, problems, Timestamp, Uuid } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import { Keyset, ListPageQuery, nextCursorField } from '../../lib/keyset.ts';

const teamOrder = new Keyset<{ name: string; id: string }>('teams', [
  { name: 'name', kind: 'string', dir: 'asc', get: (r) => r.name },
  { name: 'id', kind: 'string', dir: 'asc', get: (r) => r.id },
]);

const TeamSchema = z.object({
  id: Uuid,
  name: z.string(),
  countries: z.array(z.string()),
  memberIds: z.array(Uuid).optional().describe('admins, and members of the team, only'),
  createdAt: Timestamp,
});

const teamSelect = {
  id: true,
  name: true,
  countries: true,
  createdAt: true,
  members: { select: { userId: true } },
} as const;
const toTeamDto = (t: {
  id: string;
  name: string;
  countries: string[];
  createdAt: Date;
  members: { userId: string }[];
}) => ({
  id: t.id,
  name: t.name,
  countries: t.countries,
  memberIds: t.members.map((m) => m.userId),
  createdAt: iso(t.createdAt),
});

export const teamRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post('/v1/teams', {
    config: { roles: ['ADMIN'] },
    schema: {
      tags: ['teams'],
      summary: 'Create a regional team with its host countries',
      body: z.strictObject({ name: z.string().trim().min(1).max(120), countries: z.array(CountryCode).min(1).max(30) }),
      response: { 201: TeamSchema, ...problems(400, 401, 403, 409) },
    },
    handler: async (req, reply) => {
      const actor = requireActor(req);
      const id = randomUUID();
      const countries = [...new Set(req.body.countries)];
      const now = app.clock();
      try {
        const team = await app.db.$transaction(async (tx) => {
          const t = await tx.team.create({
            data: { id, name: req.body.name, countries, createdAt: now },
            select: teamSelect,
          });
          await appendAudit(
            tx,
            {
              actorId: actor.userId,
              action: 'team.create',
              entityType: 'team',
              entityId: id,
              requestId: req.id,
              changes: { name: { new: t.name }, countries: { new: countries } },
            },
            now,
          );
          return t;
        });
        return reply.code(201).send(toTeamDto(team));
      } catch (e) {
        if ((e as { code?: string }).code === 'P2002') {
          throw new AppError('CONFLICT', 'A team with this name exists.', {
            errors: [{ path: 'body.name', message: 'already in use' }],
          });
        }
        throw e;
      }
    },
  });

  app.get('/v1/teams', {
    schema: {
      tags: ['teams'],
      summary: 'All teams, by name (paged: cursor, limit)',
      querystring: ListPageQuery,
      response: { 200: z.object({ items: z.array(TeamSchema), nextCursor: nextCursorField }), ...problems(400, 401) },
    },
    handler: async (req) => {
      const actor = requireActor(req);
      const rows = await app.db.team.findMany({
        where: teamOrder.where(req.query.cursor),
        orderBy: teamOrder.orderBy(),
        take: req.query.limit + 1,
        select: teamSelect,
      });
      const p = teamOrder.page(rows, req.query.limit);
      // Who works where is itself sensitive: members are listed to admins and to the team's own members.
      return {
        items: p.rows
          .map(toTeamDto)
          .map((t) => (actor.role === 'ADMIN' || actor.teamIds.includes(t.id) ? t : { ...t, memberIds: undefined })),
        nextCursor: p.nextCursor,
      };
    },
  });

  app.post('/v1/teams/:id/members', {
    config: { roles: ['ADMIN'] },
    schema: {
      tags: ['teams'],
      summary: 'Add a user to a team (caseworkers of a team see its cases)',
      params: IdParams,
      body: z.strictObject({ userId: Uuid }),
      response: { 204: z.null(), ...problems(400, 401, 403, 404) },
    },
    handler: async (req, reply) => {
      const actor = requireActor(req);
      const now = app.clock();
      await app.db.$transaction(async (tx) => {
        const team = await tx.team.findUnique({ where: { id: req.params.id }, select: { id: true } });
        if (!team) throw new AppError('NOT_FOUND', 'Team not found.');
        const user = await tx.user.findUnique({ where: { id: req.body.userId }, select: { id: true } });
        if (!user) {
          throw new AppError('VALIDATION', 'userId: no such user', {
            errors: [{ path: 'body.userId', message: 'no such user' }],
          });
        }
        const inserted =
          await tx.$executeRaw`INSERT INTO team_members (team_id, user_id, added_at) VALUES (${team.id}::uuid, ${user.id}::uuid, ${now}) ON CONFLICT DO NOTHING`;
        if (inserted) {
          await appendAudit(
            tx,
            {
              actorId: actor.userId,
              action: 'team.member_add',
              entityType: 'team',
              entityId: team.id,
              requestId: req.id,
              changes: { userId: { new: user.id } },
            },
            now,
          );
        }
      });
      return reply.code(204).send(null);
    },
  });

  app.delete('/v1/teams/:id/members/:userId', {
    config: { roles: ['ADMIN'] },
    schema: {
      tags: ['teams'],
      summary: 'Remove a user from a team',
      params: z.object({ id: Uuid, userId: Uuid }),
      response: { 204: z.null(), ...problems(401, 403, 404) },
    },
    handler: async (req, reply) => {
      const actor = requireActor(req);
      const now = app.clock();
      await app.db.$transaction(async (tx) => {
        const { count } = await tx.teamMember.deleteMany({
          where: { teamId: req.params.id, userId: req.params.userId },
        });
        if (!count) throw new AppError('NOT_FOUND', 'No such membership.');
        await appendAudit(
          tx,
          {
            actorId: actor.userId,
            action: 'team.member_remove',
            entityType: 'team',
            entityId: req.params.id,
            requestId: req.id,
            changes: { userId: { old: req.params.userId } },
          },
          now,
        );
      });
      return reply.code(204).send(null);
    },
  });
};
