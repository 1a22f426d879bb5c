// Need-to-know for documents: the case rule (src/plugins/access.ts), narrowed.
// Coordinators see cases for statistics but never their documents (a scan of
// a detention order names the person): they get the same 404 as anyone who
// may not see the case, so a document's existence is not disclosed.
import type pg from 'pg';
import { AppError } from '../../lib/app-error.ts';
import { authoriseCaseRead, type CaseAccess } from '../../plugins/access.ts';
import type { Actor } from '../../plugins/auth.ts';

export async function authoriseDocuments(
  pool: pg.Pool,
  actor: Actor,
  caseId: string,
  mode: 'see' | 'edit',
  notFound = 'Case not found.',
): Promise<CaseAccess> {
  if (actor.role === 'COORDINATOR') throw new AppError('NOT_FOUND', notFound);
  let access: CaseAccess;
  try {
    access = await authoriseCaseRead(pool, actor, caseId);
  } catch (e) {
    if (e instanceof AppError && e.code === 'NOT_FOUND') throw new AppError('NOT_FOUND', notFound);
    throw e;
  }
  // Everyone but coordinators who may see a case may edit it; kept explicit
  // so a future read-only role cannot upload by accident.
  if (!access.legal || (mode === 'edit' && !access.canEdit)) throw new AppError('NOT_FOUND', notFound);
  return access;
}
