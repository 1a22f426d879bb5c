// Event filters as a WHERE clause over `events e JOIN cases c`, in plain
// parameterised SQL with no Prisma import. The statistics service wraps it in
// Prisma.Sql (stats.service.ts: eventFilterSql); the export build, which runs
// in a child process that never loads Prisma, sends it to pg as it is
// (modules/exports/exports.sql.ts). One definition, so an export and a
// published figure always count the same events.
//
// Only fixed column expressions are SQL text; every value a client sends is a
// bind parameter.

export type EventFilters = { from?: string; to?: string; country?: string[]; type?: string[]; team?: string[] };

/**
 * Parameterised SQL in template form: text parts around bind values, as
 * Prisma.Sql (sql-template-tag) holds it. Nested fragments are spliced in when
 * built, so strings.length === values.length + 1 always.
 */
export class SqlFragment {
  readonly strings: string[];
  readonly values: unknown[];

  constructor(rawStrings: readonly string[], rawValues: readonly unknown[]) {
    if (rawStrings.length !== rawValues.length + 1) throw new TypeError('SqlFragment: strings must be values + 1');
    this.strings = [rawStrings[0]];
    this.values = [];
    rawValues.forEach((value, i) => {
      const after = rawStrings[i + 1];
      if (value instanceof SqlFragment) {
        this.strings[this.strings.length - 1] += value.strings[0];
        value.values.forEach((v, j) => {
          this.values.push(v);
          this.strings.push(value.strings[j + 1]);
        });
        this.strings[this.strings.length - 1] += after;
      } else {
        this.values.push(value);
        this.strings.push(after);
      }
    });
  }

  /** The statement for pg: $1, $2, … in order, numbered as Prisma.Sql numbers them. */
  get text(): string {
    return this.strings.reduce((text, part, i) => `${text}$${i}${part}`);
  }
}

/** Tagged template: `sql\`a = ${x}\`` makes x a bind value; a nested SqlFragment is spliced in. */
export const sql = (strings: TemplateStringsArray, ...values: unknown[]) => new SqlFragment(strings, values);
/** Trusted SQL text (never client input). */
export const rawSql = (text: string) => new SqlFragment([text], []);
export function joinSql(parts: readonly SqlFragment[], separator: string): SqlFragment {
  if (!parts.length) throw new TypeError('joinSql needs at least one part');
  return new SqlFragment(['', ...Array<string>(parts.length - 1).fill(separator), ''], parts);
}

const nextDay = (isoDate: string) => new Date(Date.parse(`${isoDate}T00:00:00.000Z`) + 86_400_000);

/** WHERE clause for event filters over `events e JOIN cases c`. */
export function eventFilterWhere(f: EventFilters): SqlFragment {
  const parts: SqlFragment[] = [];
  if (f.from) parts.push(sql`e.occurred_at >= ${new Date(f.from.length === 10 ? `${f.from}T00:00:00.000Z` : f.from)}`);
  if (f.to) {
    parts.push(f.to.length === 10 ? sql`e.occurred_at < ${nextDay(f.to)}` : sql`e.occurred_at <= ${new Date(f.to)}`);
  }
  if (f.country?.length) parts.push(sql`c.host_country = ANY(${f.country}::text[])`);
  if (f.type?.length) parts.push(sql`e.type = ANY(${f.type}::"EventType"[])`);
  if (f.team?.length) parts.push(sql`c.team_id = ANY(${f.team}::uuid[])`);
  return parts.length ? joinSql(parts, ' AND ') : sql`TRUE`;
}
