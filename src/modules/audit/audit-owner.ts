// Who may change the audit tables' rules. The triggers that make the audit
// tables append-only protect nothing against their owner, who can disable or
// drop them; so the tables (and their trigger functions) belong to a role the
// application does not run as, and the application keeps only what it needs:
// read, insert, and the sequencer's one column (leaf_index, NULL -> value,
// which the trigger still checks). A database writer with the application's
// credentials can then neither rewrite an entry nor switch the guard off; a
// superuser still can, which is what the signed checkpoints and their
// witnesses detect.
//
// External PostgreSQL: the operator creates the role and runs
// `npm run cli -- audit-harden --app-role <role the service logs in as>` once as
// a superuser, then sets AUDIT_OWNER_ROLE; the service checks at start.
// Embedded mode sets it all up by itself (see src/main.ts).
import pg from 'pg';

export const AUDIT_TABLES = ['audit_entries', 'audit_tree_nodes', 'audit_checkpoints'] as const;
const AUDIT_FUNCTIONS = ['audit_entries_refuse_change()', 'audit_tree_refuse_change()'];

const ident = (name: string) => {
  if (!/^[a-z_][a-z0-9_$]{0,62}$/i.test(name)) throw new Error(`not a plain role name: ${JSON.stringify(name)}`);
  return `"${name}"`;
};

/**
 * The statements that give the audit tables to `owner` and leave `appRole`
 * read, insert and leaf_index only. Idempotent. `grantRest` (embedded mode,
 * where migrations run as the superuser) also gives `appRole` the ordinary
 * use of every other table, sequence and the schema.
 */
export function auditHardeningSql(owner: string, appRole: string, opts: { grantRest?: boolean } = {}): string[] {
  const o = ident(owner);
  const a = ident(appRole);
  const out: string[] = [];
  if (opts.grantRest) {
    out.push(
      `GRANT USAGE, CREATE ON SCHEMA public TO ${a}`,
      `GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES ON ALL TABLES IN SCHEMA public TO ${a}`,
      `GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${a}`,
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES ON TABLES TO ${a}`,
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${a}`,
    );
  }
  for (const t of AUDIT_TABLES) {
    out.push(
      `ALTER TABLE "${t}" OWNER TO ${o}`,
      `REVOKE ALL ON "${t}" FROM ${a}`,
      `GRANT SELECT, INSERT ON "${t}" TO ${a}`,
    );
  }
  out.push(`GRANT UPDATE (leaf_index) ON "audit_entries" TO ${a}`);
  out.push(`GRANT USAGE, SELECT ON SEQUENCE "audit_entries_id_seq" TO ${a}`);
  for (const f of AUDIT_FUNCTIONS) out.push(`ALTER FUNCTION ${f} OWNER TO ${o}`);
  return out;
}

/** Creates `owner` (NOLOGIN) when missing and applies the hardening in one transaction. Needs a superuser. */
export async function hardenAuditTables(
  adminUrl: string,
  owner: string,
  appRole: string,
  opts: { grantRest?: boolean; appPassword?: string } = {},
): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    // Roles are cluster-wide: two processes starting at once may both try to create them.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('exile:audit-owner'))`);
    const exists = async (r: string) => (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [r])).rowCount;
    if (!(await exists(owner))) await client.query(`CREATE ROLE ${ident(owner)} NOLOGIN`);
    if (opts.appPassword !== undefined) {
      const verb = (await exists(appRole)) ? 'ALTER' : 'CREATE';
      const pw = (await client.query('SELECT quote_literal($1) AS q', [opts.appPassword])).rows[0].q as string;
      await client.query(`${verb} ROLE ${ident(appRole)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${pw}`);
    }
    if (await isMember(client, appRole, owner)) await client.query(`REVOKE ${ident(owner)} FROM ${ident(appRole)}`);
    if (opts.grantRest) {
      // The queue backend (embedded mode) keeps its tables in a schema it creates itself.
      const db = (await client.query('SELECT quote_ident(current_database()) AS d')).rows[0].d as string;
      await client.query(`GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ${db} TO ${ident(appRole)}`);
      // Created by the superuser on installs from before the service had a role of its own.
      const queueSchemas = await client.query<{ s: string }>(
        `SELECT quote_ident(nspname) AS s FROM pg_namespace WHERE nspname LIKE 'bullmq%'`,
      );
      for (const { s } of queueSchemas.rows) {
        await client.query(`GRANT USAGE, CREATE ON SCHEMA ${s} TO ${ident(appRole)}`);
        await client.query(`GRANT ALL ON ALL TABLES IN SCHEMA ${s} TO ${ident(appRole)}`);
        await client.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA ${s} TO ${ident(appRole)}`);
      }
    }
    for (const stmt of auditHardeningSql(owner, appRole, opts)) await client.query(stmt);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    await client.end();
  }
}

async function isMember(client: pg.Client, member: string, role: string): Promise<boolean> {
  const { rows } = await client.query<{ m: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid
                    JOIN pg_roles m ON m.oid = am.member WHERE r.rolname = $1 AND m.rolname = $2) AS m`,
    [role, member],
  );
  return rows[0]!.m;
}

/**
 * What stands between the connected role and rewriting the audit log, in
 * words (empty when the hardening holds): the tables' owner, membership of
 * that role, superuser.
 */
export async function auditOwnershipProblems(url: string, owner: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const problems: string[] = [];
    const me = await client.query<{ user: string; su: boolean; exists: boolean; member: boolean }>(
      `SELECT current_user AS user, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su,
              EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists,
              EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AND pg_has_role(current_user, $1, 'MEMBER') AS member`,
      [owner],
    );
    const { user, su, exists, member } = me.rows[0]!;
    if (!exists) return [`AUDIT_OWNER_ROLE ${owner} does not exist`];
    if (su) problems.push(`the service connects as ${user}, a superuser: it can switch the audit triggers off`);
    else if (member) {
      problems.push(`the service's role ${user} is a member of ${owner}: it can act as the audit tables' owner`);
    }
    const owners = await client.query<{ t: string; o: string }>(
      `SELECT c.relname AS t, pg_get_userbyid(c.relowner) AS o FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY($1::text[])`,
      [AUDIT_TABLES],
    );
    for (const { t, o } of owners.rows) if (o !== owner) problems.push(`${t} is owned by ${o}, not ${owner}`);
    return problems;
  } finally {
    await client.end();
  }
}
