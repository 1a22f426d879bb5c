// The SQL of a research export, as plain parameterised statements ({ text,
// values } for pg): the build runs in a child process that never loads Prisma
// (src/workers/export-child.ts), so nothing here may import the generated
// client. The k-anonymity check and the month -> quarter -> year
// generalisation run in PostgreSQL.
import { rawSql, sql, type SqlFragment } from '../../lib/sql.ts';
import { eventFilterWhere, type EventFilters } from '../stats/event-filters.ts';

/** The quasi-identifiers every published row shares with rows of at least k distinct cases. */
export const QUASI_IDENTIFIERS = [
  'host_country',
  'period',
  'event_type',
  'charge_categories',
  'mechanisms',
  'outcome_class',
  'citizenship',
] as const;

// The outcome of an event is free text. Only this fixed classification of it
// ever leaves: a coarse class, never a word of the text.
const OUTCOME_CLASS = sql`CASE
    WHEN e.outcome IS NULL OR btrim(e.outcome) = '' THEN 'NOT_RECORDED'
    WHEN e.outcome ~* '(refus|reject|denied|deny|dismiss|declin|отказ)' THEN 'REFUSED_OR_DISMISSED'
    WHEN e.outcome ~* '(grant|approv|allow|upheld|accept|удовлетвор)' THEN 'GRANTED_OR_ALLOWED'
    WHEN e.outcome ~* '(pending|adjourn|postpon|await)' THEN 'PENDING'
    WHEN e.outcome ~* '(releas|bail|freed|освобожд)' THEN 'RELEASED'
    ELSE 'OTHER' END`;

const ROW_COLS = [
  'case_id',
  'event_id',
  'host_country',
  'event_type',
  'charge_categories',
  'mechanisms',
  'outcome_class',
  'citizenship',
  'qk',
  'm',
];
const cols = (alias: string) => rawSql(ROW_COLS.map((c) => `${alias}.${c}`).join(', '));

/**
 * The anonymisation query: generalised rows that pass k-anonymity, with their
 * period precision, in random (event-id) order. Columns, in this order:
 * case_id, host_country, event_type, charge_categories, mechanisms,
 * outcome_class, citizenship, period_precision, period, linkable.
 */
export function buildAnonymisedSql(filters: EventFilters, k: number): SqlFragment {
  return sql`WITH base AS MATERIALIZED (
      SELECT e.id AS event_id, e.case_id,
             c.host_country::text AS host_country,
             e.type::text AS event_type,
             coalesce(chg.categories, 'NO_CHARGE_RECORDED') AS charge_categories,
             coalesce(chg.mechanisms, 'NO_CHARGE_RECORDED') AS mechanisms,
             ${OUTCOME_CLASS} AS outcome_class,
             coalesce(nullif(array_to_string(ARRAY(SELECT DISTINCT x FROM unnest(p.citizenship) AS x ORDER BY x),
                                             '|'), ''), 'UNKNOWN') AS citizenship,
             date_trunc('month', e.occurred_at AT TIME ZONE 'UTC') AS m
      FROM events e
      JOIN cases c ON c.id = e.case_id
      JOIN people p ON p.id = c.person_id
      LEFT JOIN (
        SELECT case_id,
               string_agg(DISTINCT category::text, '|' ORDER BY category::text) AS categories,
               string_agg(DISTINCT mechanism::text, '|' ORDER BY mechanism::text) AS mechanisms
        FROM charges GROUP BY case_id
      ) chg ON chg.case_id = e.case_id
      WHERE ${eventFilterWhere(filters)}
    ),
    keyed AS MATERIALIZED (
      SELECT b.*, concat_ws('/', b.host_country, b.event_type, b.charge_categories, b.mechanisms, b.outcome_class,
                            b.citizenship) AS qk
      FROM base b
    ),
    lm AS (SELECT qk, m, count(DISTINCT case_id) AS n FROM keyed GROUP BY qk, m),
    rm AS MATERIALIZED (SELECT ${cols('r')}, lm.n >= ${k} AS ok
      FROM keyed r JOIN lm ON lm.qk = r.qk AND lm.m = r.m),
    lq AS (SELECT qk, date_trunc('quarter', m) AS q, count(DISTINCT case_id) AS n FROM rm WHERE NOT ok GROUP BY 1, 2),
    rq AS MATERIALIZED (SELECT ${cols('r')}, lq.n >= ${k} AS ok
      FROM rm r JOIN lq ON lq.qk = r.qk AND lq.q = date_trunc('quarter', r.m) WHERE NOT r.ok),
    ly AS (SELECT qk, date_trunc('year', m) AS y, count(DISTINCT case_id) AS n FROM rq WHERE NOT ok GROUP BY 1, 2),
    ry AS (SELECT ${cols('r')}, ly.n >= ${k} AS ok
      FROM rq r JOIN ly ON ly.qk = r.qk AND ly.y = date_trunc('year', r.m) WHERE NOT r.ok)
    , published AS MATERIALIZED (
      SELECT ${cols('r')}, 'month' AS period_precision, to_char(r.m, 'YYYY-MM') AS period FROM rm r WHERE r.ok
      UNION ALL
      SELECT ${cols('r')}, 'quarter', to_char(r.m, 'YYYY-"Q"Q') FROM rq r WHERE r.ok
      UNION ALL
      SELECT ${cols('r')}, 'year', to_char(r.m, 'YYYY') FROM ry r WHERE r.ok
    ),
    -- Each row is k-anonymous, but the case key links a case's rows: a rare
    -- sequence of rows (detained in March, hearing in April, …) would single
    -- a person out. A case keeps its key only when its whole published
    -- history is shared by at least k cases; otherwise its rows are unlinked.
    history AS (SELECT case_id, md5(string_agg(qk || '@' || period, ',' ORDER BY qk, period)) AS sig
      FROM published GROUP BY case_id),
    shared AS (SELECT sig, count(*) AS n FROM history GROUP BY sig)
    SELECT p.case_id, p.host_country, p.event_type, p.charge_categories, p.mechanisms, p.outcome_class, p.citizenship,
           p.period_precision, p.period,
           (sh.n >= ${k}) AS linkable
    FROM published p JOIN history h ON h.case_id = p.case_id JOIN shared sh ON sh.sig = h.sig
    ORDER BY p.event_id`;
}

/** How many events the filters match (before any suppression). */
export function buildMatchedCountSql(filters: EventFilters): SqlFragment {
  return sql`SELECT count(*)::int AS n FROM events e JOIN cases c ON c.id = e.case_id
    WHERE ${eventFilterWhere(filters)}`;
}
