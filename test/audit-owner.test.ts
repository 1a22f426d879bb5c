// The audit tables belong to a role the service does not run as: the service
// can still read, append and sequence (so every route works), but neither
// rewrite an entry nor switch the append-only guards off. Also the start-up
// check for external setups (AUDIT_OWNER_ROLE).
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db.ts';
import { auditOwnershipProblems, hardenAuditTables } from '../src/modules/audit/audit-owner.ts';
import { AuditOwnerError, secureAuditTables } from '../src/modules/audit/audit-owner-start.ts';
import { AuditSequencer } from '../src/modules/audit/audit.sequencer.ts';
import { clientFor, createCase, createTeam, createTestDatabase, testEnvVars, uniq, type TestEnv } from './helpers.ts';

const suffix = uniq();
const OWNER = `t_audit_owner_${suffix}`;
const SERVICE = `t_service_${suffix}`;
const MEMBER = `t_member_${suffix}`;

function asRole(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = 'not-checked-on-trust-auth';
  return u.toString();
}

let superUrl: string;
let serviceUrl: string;
let env: TestEnv;

async function asService<T>(work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: serviceUrl });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

const refused = async (c: pg.Client, sql: string) => {
  const err = await c.query(sql).then(
    () => null,
    (e: { code?: string; message: string }) => e,
  );
  expect(err, sql).not.toBeNull();
  // 42501 insufficient_privilege (no right, or not the owner).
  expect(err!.code, `${sql}: ${err!.message}`).toBe('42501');
};

beforeAll(async () => {
  superUrl = (await createTestDatabase()).url;
  const warnings: string[] = [];
  const base = loadConfig(testEnvVars(superUrl));
  // Embedded mode's path: the superuser hands the audit tables over and creates the service's login role.
  const config = await secureAuditTables(
    base,
    { url: superUrl, service: { url: asRole(superUrl, SERVICE), role: SERVICE, password: 'pw', auditOwner: OWNER } },
    (m) => warnings.push(m),
  );
  expect(warnings).toEqual([]);
  serviceUrl = config.db.url;
  expect(new URL(serviceUrl).username).toBe(SERVICE);
  const db = createDb(serviceUrl, 5);
  const logStream = new Writable({ write: (_c, _e, cb) => cb() });
  const app = await buildApp(config, { db, logStream });
  await app.ready();
  const pool = new pg.Pool({ connectionString: serviceUrl, max: 2 });
  env = {
    app,
    db,
    url: serviceUrl,
    config,
    logs: [],
    queues: null,
    sql: async (text, params) => (await pool.query(text, params as unknown[])).rows,
    close: async () => {
      await app.close();
      await db.$disconnect();
      await pool.end();
    },
  };
});

afterAll(async () => {
  await env?.close();
  const c = new pg.Client({ connectionString: superUrl });
  await c.connect();
  for (const r of [MEMBER, SERVICE, OWNER]) {
    await c.query(`DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${r}') THEN
      REASSIGN OWNED BY "${r}" TO CURRENT_USER; DROP OWNED BY "${r}"; DROP ROLE "${r}"; END IF; END $$`);
  }
  await c.end();
});

describe('audit tables owned by their own role', () => {
  it('the service works as its own role: audited writes, 30 parallel audited reads, sequencing', async () => {
    const teamId = await createTeam(env);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
    const { caseId, personId } = await createCase(cw, teamId);
    const reads = await Promise.all(
      Array.from({ length: 30 }, (_, i) => cw.get(i % 2 ? `/v1/cases/${caseId}` : `/v1/people/${personId}`)),
    );
    expect(reads.map((r) => r.statusCode)).toEqual(Array(30).fill(200));
    const seq = new AuditSequencer({ db: env.db, config: env.config, log: env.app.log });
    expect(await seq.drain()).toBeGreaterThan(30);
    expect(await seq.checkpoint()).not.toBeNull();
    const [{ n }] = await env.sql<{ n: string }>('SELECT count(*) AS n FROM audit_entries WHERE leaf_index IS NULL');
    expect(Number(n)).toBe(0);
  });

  it('the service cannot rewrite, delete or cut entries, nor switch the guards off', async () => {
    await asService(async (c) => {
      await refused(c, `UPDATE audit_entries SET action = 'case.read' WHERE id = (SELECT min(id) FROM audit_entries)`);
      await refused(c, 'DELETE FROM audit_entries');
      await refused(c, 'TRUNCATE audit_entries');
      await refused(c, 'ALTER TABLE audit_entries DISABLE TRIGGER ALL');
      await refused(c, 'DROP TRIGGER audit_entries_no_update_delete ON audit_entries');
      await refused(c, 'DROP TABLE audit_checkpoints');
      await refused(c, 'DELETE FROM audit_tree_nodes');
      await refused(c, 'ALTER TABLE audit_tree_nodes DISABLE TRIGGER ALL');
      await refused(
        c,
        'CREATE OR REPLACE FUNCTION audit_entries_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$',
      );
      await refused(c, `ALTER TABLE audit_entries OWNER TO "${SERVICE}"`);
      // Its one column: a leaf index that is already set cannot be changed (the trigger still checks).
      const err = await c
        .query('UPDATE audit_entries SET leaf_index = leaf_index + 1000000 WHERE leaf_index IS NOT NULL')
        .catch((e: { code?: string }) => e);
      expect((err as { code?: string }).code).toBe('42501');
    });
  });

  it('start-up check: holds for the service role, refuses a superuser, a member of the owner, a missing role', async () => {
    expect(await auditOwnershipProblems(serviceUrl, OWNER)).toEqual([]);
    const cfg = { ...env.config, audit: { ...env.config.audit, ownerRole: OWNER } };
    await expect(secureAuditTables(cfg, { url: serviceUrl })).resolves.toBe(cfg);

    const asSuper = { ...cfg, db: { url: superUrl } };
    await expect(secureAuditTables(asSuper, { url: superUrl })).rejects.toThrow(/superuser/);

    const c = new pg.Client({ connectionString: superUrl });
    await c.connect();
    await c.query(`CREATE ROLE "${MEMBER}" LOGIN IN ROLE "${OWNER}"`);
    await c.end();
    const memberCfg = { ...cfg, db: { url: asRole(superUrl, MEMBER) } };
    const err = await secureAuditTables(memberCfg, { url: memberCfg.db.url }).catch((e) => e);
    expect(err).toBeInstanceOf(AuditOwnerError);
    expect(String(err.message)).toMatch(/member of/);
    expect(String(err.message)).toMatch(/audit-harden/);

    const missing = { ...cfg, audit: { ...cfg.audit, ownerRole: `t_nobody_${suffix}` } };
    await expect(secureAuditTables(missing, { url: serviceUrl })).rejects.toThrow(/does not exist/);

    const warnings: string[] = [];
    const unset = { ...cfg, audit: { ...cfg.audit, ownerRole: undefined } };
    await secureAuditTables(unset, { url: serviceUrl }, (m) => warnings.push(m));
    expect(warnings.join()).toMatch(/AUDIT_OWNER_ROLE is not set/);
  });

  it('hardening is idempotent and takes a membership of the owner away from the service', async () => {
    const c = new pg.Client({ connectionString: superUrl });
    await c.connect();
    await c.query(`GRANT "${OWNER}" TO "${SERVICE}"`);
    await c.end();
    expect((await auditOwnershipProblems(serviceUrl, OWNER)).join()).toMatch(/member of/);
    await hardenAuditTables(superUrl, OWNER, SERVICE);
    await hardenAuditTables(superUrl, OWNER, SERVICE);
    expect(await auditOwnershipProblems(serviceUrl, OWNER)).toEqual([]);
  });
});
