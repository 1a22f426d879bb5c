// Keyset pagination over (createdAt DESC, id DESC): stable while rows are
// added, and no OFFSET scans on large tables.
import { AppError } from './app-error.ts';
import { UUID_RE } from './uuid.ts';

export type Cursor = { t: string; id: string };

/**
 * Escapes LIKE wildcards so a free-text search matches literally (Prisma's
 * `contains` passes % and _ through to ILIKE).
 */
export function literalContains(q: string): string {
  return q.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

export function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify({ t: row.createdAt.toISOString(), id: row.id })).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): Cursor | null {
  if (!cursor) return null;
  try {
    // Checked field by field on the next line; anything else is a malformed cursor.
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.t !== 'string' || typeof c.id !== 'string' || Number.isNaN(Date.parse(c.t)) || !UUID_RE.test(c.id)) {
      throw new Error('bad');
    }
    return c;
  } catch {
    throw new AppError('VALIDATION', 'cursor: malformed', {
      errors: [{ path: 'querystring.cursor', message: 'malformed cursor' }],
    });
  }
}

/** The WHERE fragment that continues after `cursor` in (createdAt DESC, id DESC) order. */
export function afterCursor(cursor: Cursor | null) {
  if (!cursor) return {};
  const t = new Date(cursor.t);
  return { OR: [{ createdAt: { lt: t } }, { createdAt: t, id: { lt: cursor.id } }] };
}

export function page<T extends { createdAt: Date; id: string }>(
  rows: T[],
  limit: number,
): { rows: T[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { rows: kept, nextCursor: more ? encodeCursor(kept[kept.length - 1]) : null };
}

/** Parses If-Match ("3", "\"3\"", W/"3") or a body `version` into a version number. */
export function expectedVersion(ifMatch: string | undefined, bodyVersion: number | undefined): number {
  if (ifMatch !== undefined) {
    const m = /^(?:W\/)?"?(\d{1,9})"?$/.exec(ifMatch.trim());
    if (!m) {
      throw new AppError('VALIDATION', 'If-Match must hold the version number', {
        errors: [{ path: 'headers.if-match', message: 'must be a version number' }],
      });
    }
    return Number(m[1]);
  }
  if (bodyVersion !== undefined) return bodyVersion;
  throw new AppError(
    'PRECONDITION_REQUIRED',
    'Send If-Match with the version you last read (or `version` in the body).',
  );
}
