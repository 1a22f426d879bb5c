// A PATCH whose fields all equal the stored values changes nothing: services
// answer it with the stored record (same version, no write, no audit entry).
import { diffChanges } from '../modules/audit/audit.log.ts';

/**
 * True when every field given in `patch` equals the stored one (compared as
 * canonical JSON; Dates as ISO strings, so callers pass stored dates in the
 * form the patch uses). An empty patch is unchanged too.
 */
export function unchanged(stored: object, patch: object): boolean {
  return Object.keys(diffChanges(stored, patch)).length === 0;
}
