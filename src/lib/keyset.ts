// Keyset pagination in any stable order (the list's own: due date, name,
// start time, score, …) with the id as the last key. The cursor is opaque to
// clients: base64url of the list's name and the last row's key values. The
// same object builds the Prisma WHERE/ORDER BY for database lists and pages
// lists computed in memory (sessions, duplicate matches) the same way.
import { z } from 'zod';
import { AppError } from './app-error.ts';

type KeyKind = 'date' | 'string' | 'number';
type KeyValue = Date | string | number;
export type KeyField<T> = { name: string; kind: KeyKind; dir: 'asc' | 'desc'; get: (row: T) => KeyValue };

/** `cursor` and `limit` of a list (default and maximum per list; `limit` out of bounds is a 400 naming it). */
export function pageQuery(defaultLimit: number, maxLimit: number) {
  return {
    cursor: z.string().max(500).optional().describe('opaque cursor: nextCursor of the previous page'),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(maxLimit)
      .default(defaultLimit)
      .describe(`page size, 1-${maxLimit} (default ${defaultLimit})`),
  };
}

export const nextCursorField = z
  .string()
  .nullable()
  .describe('pass as `cursor` to get the next page; null on the last page');

const malformed = () =>
  new AppError('VALIDATION', 'cursor: malformed', {
    errors: [{ path: 'querystring.cursor', message: 'malformed cursor (pass nextCursor of this list unchanged)' }],
  });

export class Keyset<T> {
  /** `list` names the list inside the cursor, so a cursor of another list is refused. */
  constructor(
    private readonly list: string,
    private readonly fields: KeyField<T>[],
  ) {}

  orderBy(): Record<string, 'asc' | 'desc'>[] {
    return this.fields.map((f) => ({ [f.name]: f.dir }));
  }

  encode(row: T): string {
    const v = this.fields.map((f) => {
      const x = f.get(row);
      return x instanceof Date ? x.toISOString() : x;
    });
    return Buffer.from(JSON.stringify({ l: this.list, v })).toString('base64url');
  }

  decode(cursor: string | undefined): KeyValue[] | null {
    if (!cursor) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    } catch {
      throw malformed();
    }
    const c = parsed as { l?: unknown; v?: unknown };
    if (!c || c.l !== this.list || !Array.isArray(c.v) || c.v.length !== this.fields.length) throw malformed();
    return this.fields.map((f, i) => {
      const x: unknown = (c.v as unknown[])[i];
      if (f.kind === 'number' && typeof x === 'number' && Number.isFinite(x)) return x;
      if (f.kind === 'string' && typeof x === 'string' && x.length <= 300) return x;
      if (f.kind === 'date' && typeof x === 'string' && !Number.isNaN(Date.parse(x))) return new Date(x);
      throw malformed();
    });
  }

  /** Prisma WHERE fragment: rows strictly after the cursor in this order. */
  where<W extends object = Record<string, unknown>>(cursor: string | undefined): W {
    const v = this.decode(cursor);
    if (!v) return {} as W;
    // Built from the declared column names; the caller's model type is asserted here, once.
    return {
      OR: this.fields.map((f, i) => ({
        AND: [
          ...this.fields.slice(0, i).map((g, j) => ({ [g.name]: v[j] })),
          { [f.name]: { [f.dir === 'asc' ? 'gt' : 'lt']: v[i] } },
        ],
      })),
    } as W;
  }

  /** Rows fetched with `take: limit + 1`: the page and the cursor of the next one. */
  page<R extends T>(rows: R[], limit: number): { rows: R[]; nextCursor: string | null } {
    const more = rows.length > limit;
    const kept = more ? rows.slice(0, limit) : rows;
    return { rows: kept, nextCursor: more ? this.encode(kept[kept.length - 1]) : null };
  }

  /** The same for a list held in memory: sorted here, then the page after the cursor. */
  pageInMemory<R extends T>(rows: R[], cursor: string | undefined, limit: number) {
    const v = this.decode(cursor);
    const sorted = [...rows].sort((a, b) => this.compare(this.values(a), this.values(b)));
    const after = v ? sorted.filter((r) => this.compare(this.values(r), v) > 0) : sorted;
    return this.page(after.slice(0, limit + 1), limit);
  }

  private values(row: T): KeyValue[] {
    return this.fields.map((f) => f.get(row));
  }

  private compare(a: KeyValue[], b: KeyValue[]): number {
    for (let i = 0; i < this.fields.length; i++) {
      const [p, q] = [a[i], b[i]];
      const x = p instanceof Date ? p.getTime() : p;
      const y = q instanceof Date ? q.getTime() : q;
      const c = x < y ? -1 : x > y ? 1 : 0;
      if (c) return this.fields[i].dir === 'asc' ? c : -c;
    }
    return 0;
  }
}

/** The query of a list that had no paging before: unknown parameters stay ignored, as they were. */
export const ListPageQuery = z.object(pageQuery(100, 200));
export type ListPage = z.infer<typeof ListPageQuery>;
