// At start, after migrations: embedded mode hands the audit tables to their
// own role and switches the service to a login role of its own; external mode
// checks what the operator set up (AUDIT_OWNER_ROLE) and refuses to run on a
// setup that does not hold.
import type { AppConfig } from '../../config.ts';
import type { ResolvedDatabase } from '../../lib/embedded-db.ts';
import { auditOwnershipProblems, hardenAuditTables } from './audit-owner.ts';

export class AuditOwnerError extends Error {}

export async function secureAuditTables(
  config: AppConfig,
  database: Pick<ResolvedDatabase, 'url' | 'service'>,
  warn: (msg: string) => void = (m) => console.error(m),
): Promise<AppConfig> {
  const service = database.service;
  if (service) {
    await hardenAuditTables(database.url, service.auditOwner, service.role, {
      grantRest: true,
      appPassword: service.password,
    });
    return {
      ...config,
      db: { ...config.db, url: service.url },
      audit: { ...config.audit, ownerRole: service.auditOwner },
    };
  }
  const owner = config.audit.ownerRole;
  if (!owner) {
    warn(
      'AUDIT_OWNER_ROLE is not set: the audit tables belong to the role the service logs in as, which could switch ' +
        'their append-only guards off (the signed checkpoints would still show it). See README, "Audit log".',
    );
    return config;
  }
  const problems = await auditOwnershipProblems(config.db.url, owner);
  if (problems.length) {
    throw new AuditOwnerError(
      `AUDIT_OWNER_ROLE=${owner} does not hold: ${problems.join('; ')}. As a superuser run once: ` +
        `npm run cli -- audit-harden --owner ${owner} --service-role <the role in DATABASE_URL>`,
    );
  }
  return config;
}
