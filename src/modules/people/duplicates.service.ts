// Duplicate detection across scripts. Each person carries keyed blind indexes
// (HMAC under BLIND_INDEX_KEY, purpose person.legal_name_token) of the tokens of
// their name's transliterated skeleton (src/lib/transliterate.ts), besides the
// exact index of the normalised name. A lookup computes the same indexes for
// the name asked about and ranks the people sharing them; the database never
// holds a name, a skeleton or a token in clear.
//
// A match in a team the caller may not see is counted (hiddenMatches), never
// identified: the caller learns that another team may already work with this
// person, and asks an admin, not the database.
import type { FastifyInstance } from 'fastify';
import type { FieldCrypto } from '../../lib/field-crypto.ts';
import { normaliseName } from '../../lib/field-crypto.ts';
import { nameSkeletonTokens } from '../../lib/transliterate.ts';
import { query, rawSql, sql, type SqlFragment } from '../../lib/sql.ts';
import type { Tx } from '../../db.ts';
import { appendAuditSql, type AuditInput } from '../audit/audit.log.ts';
import { visibleCaseCondition } from '../access/visibility.ts';
import type { Actor } from '../../plugins/auth.ts';
import { Keyset, type ListPage } from '../../lib/keyset.ts';

/** Blind indexes of the skeleton tokens of a name (what people.legal_name_tokens holds). */
export function nameTokenIndexes(crypto: FieldCrypto, legalName: string): string[] {
  return nameSkeletonTokens(legalName).map((t) => crypto.blindIndex('person.legal_name_token', t));
}

/** Writes the token indexes of a person's name (in the caller's transaction). */
export async function writeNameTokens(tx: Tx, crypto: FieldCrypto, personId: string, legalName: string) {
  const tokens = nameTokenIndexes(crypto, legalName);
  await tx.$executeRaw`UPDATE people SET legal_name_tokens = ${tokens}::text[] WHERE id = ${personId}::uuid`;
}

/**
 * Fills the token indexes of people written before they existed; returns how
 * many. One statement (one commit) per batch, and it stops between batches
 * once the pool is closing (the app is shutting down; the next start goes on).
 */
export async function backfillNameTokens(app: FastifyInstance, batch = 500): Promise<number> {
  let done = 0;
  let unreadable = 0;
  const closing = () => (app.sqlPool as { ending?: boolean }).ending === true;
  for (;;) {
    if (closing()) return done;
    const rows = await query<{ id: string; legalNameEnc: string }>(
      app.sqlPool,
      sql`SELECT id, legal_name_enc AS "legalNameEnc" FROM people WHERE legal_name_tokens IS NULL LIMIT ${batch}`,
    );
    if (!rows.length) {
      if (unreadable) app.log.warn({ unreadable }, 'legal names left out of cross-script duplicate matching');
      return done;
    }
    const updates = rows.map((r) => {
      let tokens: string[] = [];
      try {
        const name = app.crypto.decrypt(r.legalNameEnc, { table: 'people', column: 'legal_name_enc', rowId: r.id });
        tokens = nameTokenIndexes(app.crypto, name);
      } catch {
        // A name this keyring cannot open must not stop the start: it is left
        // out of cross-script matching (empty, so not retried), and said once.
        unreadable++;
      }
      return { id: r.id, tokens };
    });
    if (closing()) return done;
    await query(
      app.sqlPool,
      sql`UPDATE people p SET legal_name_tokens = ARRAY(SELECT jsonb_array_elements_text(u.tokens))
          FROM jsonb_to_recordset(${JSON.stringify(updates)}::jsonb) AS u(id uuid, tokens jsonb)
          WHERE p.id = u.id AND p.legal_name_tokens IS NULL`,
    );
    done += rows.length;
  }
}

export type MatchRow = { id: string; pseudonym: string; score: number; visible: boolean; createdAt: Date };

// Best first; among equal scores the person registered first (the id settles any tie).
const matchOrder = new Keyset<MatchRow>('duplicates', [
  { name: 'score', kind: 'number', dir: 'desc', get: (r) => r.score },
  { name: 'createdAt', kind: 'date', dir: 'asc', get: (r) => r.createdAt },
  { name: 'id', kind: 'string', dir: 'asc', get: (r) => r.id },
]);

/** Which people the caller may see, as a SQL condition over a person row `p` (visiblePeopleWhere). */
function visiblePersonSql(actor: Actor): SqlFragment {
  if (actor.role === 'ADMIN' || actor.role === 'COORDINATOR') return rawSql('TRUE');
  const viaCase = sql`EXISTS (SELECT 1 FROM cases k WHERE k.person_id = p.id AND ${visibleCaseCondition(actor)})`;
  if (actor.role !== 'CASEWORKER') return viaCase;
  return sql`(${viaCase} OR (p.created_by_id = ${actor.userId}::uuid
              AND NOT EXISTS (SELECT 1 FROM cases k2 WHERE k2.person_id = p.id)))`;
}

/**
 * The audit entry of a duplicate check (GET /v1/people/duplicates, and POST
 * /v1/people, where `entityId` is the person just registered): counts only.
 */
export function duplicateCheckEntry(
  actor: Actor,
  requestId: string,
  counts: { matches: number; hiddenMatches: number; withDateOfBirth: boolean },
  entityId?: string,
): AuditInput {
  return {
    actorId: actor.userId,
    action: 'person.duplicate_check',
    entityType: 'person',
    entityId: entityId ?? null,
    requestId,
    changes: counts,
  };
}

export class DuplicatesService {
  constructor(private readonly app: FastifyInstance) {}

  /** Every match (visible or not) of a name, best first (at most 500); no audit: callers audit. */
  async matchRows(actor: Actor, legalName: string, dateOfBirth: string | undefined): Promise<MatchRow[]> {
    const c = this.app.crypto;
    const bidx = c.blindIndex('person.legal_name', normaliseName(legalName));
    const dob = dateOfBirth ? c.blindIndex('person.date_of_birth', dateOfBirth) : null;
    const tokens = nameTokenIndexes(c, legalName);
    const nq = tokens.length;
    return query<MatchRow>(
      this.app.sqlPool,
      sql`SELECT id, pseudonym, visible, created_at AS "createdAt",
                 CASE WHEN exact THEN 1
                      ELSE round((0.95 * shared / GREATEST(n, ${nq}::int))::numeric, 2)::float8 END AS score
          FROM (
            SELECT p.id, p.pseudonym, p.created_at, p.legal_name_bidx = ${bidx} AS exact,
                   (SELECT count(DISTINCT t)::int FROM unnest(p.legal_name_tokens) t WHERE t = ANY(${tokens}::text[])) AS shared,
                   COALESCE(cardinality(p.legal_name_tokens), 0) AS n,
                   ${visiblePersonSql(actor)} AS visible
            FROM people p
            WHERE (p.legal_name_bidx = ${bidx} OR p.legal_name_tokens && ${tokens}::text[])
              AND (${dob}::text IS NULL OR p.dob_bidx = ${dob}::text)
          ) m
          WHERE exact OR (shared >= LEAST(2, ${nq}::int) AND shared::float8 / GREATEST(n, ${nq}::int) >= 0.6)
          ORDER BY score DESC, created_at ASC, id ASC
          LIMIT 500`,
    );
  }

  /** The cases of these people that the caller may see. */
  private casesOf(actor: Actor, personIds: string[]) {
    // Plain pg on the request path: the two Prisma round trips (cases, audit) were most of a lookup's time.
    return personIds.length
      ? query<{ id: string; reference: string; teamId: string; personId: string }>(
          this.app.sqlPool,
          sql`SELECT k.id, k.reference, k.team_id AS "teamId", k.person_id AS "personId" FROM cases k
              WHERE k.person_id = ANY(${personIds}::uuid[]) AND ${visibleCaseCondition(actor)}
              ORDER BY k.created_at, k.id`,
        )
      : Promise.resolve([]);
  }

  private async items(actor: Actor, rows: MatchRow[], withDob: boolean) {
    const cases = await this.casesOf(
      actor,
      rows.map((r) => r.id),
    );
    return rows.map((r) => ({
      id: r.id,
      pseudonym: r.pseudonym,
      score: r.score,
      sameDateOfBirth: withDob ? true : null,
      cases: cases.filter((k) => k.personId === r.id).map(({ id, reference, teamId }) => ({ id, reference, teamId })),
    }));
  }

  /**
   * The best visible candidates and the count of hidden ones, for a screen that
   * shows them beside something else (the intake queue): not audited here.
   */
  async candidates(actor: Actor, legalName: string, limit = 5) {
    const { items, hiddenMatches } = await this.check(actor, legalName, limit);
    return { items, hiddenMatches };
  }

  /**
   * The candidates (name only, best `limit` the caller may see), the count of
   * hidden ones and of all visible ones (what the audit entry records).
   */
  async check(actor: Actor, legalName: string, limit: number) {
    const rows = await this.matchRows(actor, legalName, undefined);
    const visible = rows.filter((r) => r.visible);
    const items = await this.items(actor, visible.slice(0, limit), false);
    return { items, hiddenMatches: rows.length - visible.length, matches: visible.length };
  }

  /**
   * Ranked matches: 1 for the same normalised name, 0.95 for the same
   * cross-script skeleton, less for a partial token match (at least two
   * shared tokens, or the one token of a one-word name, and 60 % of the longer
   * name's tokens). Narrowed to the same birth date when one is given.
   */
  async find(
    actor: Actor,
    legalName: string,
    dateOfBirth: string | undefined,
    requestId: string,
    q: ListPage = { limit: 50 },
  ) {
    const dob = dateOfBirth ?? null;
    const rows = await this.matchRows(actor, legalName, dateOfBirth);
    const matching = rows.filter((r) => r.visible);
    const hiddenMatches = rows.filter((r) => !r.visible).length;
    const p = matchOrder.pageInMemory(matching, q.cursor, q.limit);
    const visible = p.rows;
    const items = await this.items(actor, visible, Boolean(dob));
    await appendAuditSql(
      this.app.sqlPool,
      duplicateCheckEntry(actor, requestId, { matches: matching.length, hiddenMatches, withDateOfBirth: Boolean(dob) }),
      this.app.clock(),
    );
    return {
      items,
      hiddenMatches,
      nextCursor: p.nextCursor,
    };
  }
}
