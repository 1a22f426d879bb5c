// Who may see a person, decided over loaded facts (maySeePerson, the rule of
// visiblePeopleWhere): the person's creator and each of their cases' team and
// the caller's current assignment to it. One statement for several people.
import type pg from 'pg';
import { query, sql } from '../../lib/sql.ts';
import { maySeePerson, type CaseFacts } from '../access/visibility.ts';
import type { Actor } from '../../plugins/auth.ts';

type Facts = { id: string; pseudonym: string; createdById: string | null; cases: CaseFacts[] };

/** The visible people among `ids` (absent ids and invisible people are left out), by id. */
export async function visiblePeople(pool: pg.Pool, actor: Actor, ids: readonly string[]): Promise<Map<string, Facts>> {
  const rows = await query<Facts>(
    pool,
    sql`SELECT p.id, p.pseudonym, p.created_by_id AS "createdById",
               COALESCE((SELECT json_agg(json_build_object('teamId', k.team_id, 'lawyerAssigned',
                          EXISTS (SELECT 1 FROM assignments a WHERE a.case_id = k.id
                                    AND a.lawyer_id = ${actor.userId}::uuid AND a.ended_at IS NULL)))
                         FROM cases k WHERE k.person_id = p.id), '[]'::json) AS cases
        FROM people p WHERE p.id = ANY(${[...ids]}::uuid[])`,
  );
  return new Map(rows.filter((r) => maySeePerson(actor, r)).map((r) => [r.id, r]));
}
