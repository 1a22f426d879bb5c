// Parameterised SQL for plain pg, with no ORM in the way: used where Prisma's
// per-query cost shows (the request path's fixed cost, the export child that
// must not load Prisma at all). Values are always bind parameters.
import type pg from 'pg';

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

/** Runs a fragment on a pg pool or client and returns its rows. */
export async function query<T extends pg.QueryResultRow>(
  db: pg.Pool | pg.PoolClient | pg.Client,
  q: SqlFragment,
): Promise<T[]> {
  return (await db.query<T>(q.text, q.values)).rows;
}
