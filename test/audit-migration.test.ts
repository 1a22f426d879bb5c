// Moving the per-case hash chains into the Merkle log: intact chains become the
// first leaves in their order; a broken chain stops the migration, named.
import { randomBytes, randomUUID } from 'node:crypto';
import { cp, mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../src/lib/migrator.ts';
import { MIGRATIONS_DIR } from '../src/lib/paths.ts';
import { GENESIS_HASH, legacyEntryHash } from '../src/modules/audit/legacy-chain.ts';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db.ts';
import { auditPublicKey } from '../src/modules/audit/audit.keys.ts';
import { AuditSequencer } from '../src/modules/audit/audit.sequencer.ts';
import { verifyAuditLog } from '../src/modules/audit/audit.verify.ts';
import { withDatabase } from './global-setup.ts';
import { testEnvVars } from './helpers.ts';

const TRANSPARENCY = '20261128104552_audit_transparency_log';
const clients: pg.Client[] = [];
afterAll(async () => {
  for (const c of clients) await c.end().catch(() => {});
});

/** A database migrated up to (not including) the transparency log, holding two legacy chains. */
async function legacyDatabase(): Promise<{ url: string; client: pg.Client }> {
  const admin = new pg.Client({ connectionString: inject('adminUrl') });
  await admin.connect();
  const name = `${inject('templateDb')}_legacy${randomBytes(3).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabase(inject('adminUrl'), name);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
  for (const entry of await readdir(MIGRATIONS_DIR)) {
    if (entry >= TRANSPARENCY && entry !== 'migration_lock.toml') continue;
    await cp(path.join(MIGRATIONS_DIR, entry), path.join(dir, entry), { recursive: true });
  }
  await migrate(url, dir);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  clients.push(client);
  // Entries as the old writer made them: seq and prev_hash per chain.
  for (const chain of [randomUUID(), 'global']) {
    let prevHash = GENESIS_HASH;
    for (let seq = 1; seq <= 4; seq++) {
      const row = {
        chain,
        seq,
        prevHash,
        at: new Date(Date.UTC(2026, 10, 20, 10, seq)),
        actorId: null,
        action: `legacy.${seq}`,
        entityType: 'case',
        entityId: null,
        caseId: null,
        requestId: null,
        changes: { seq },
      };
      const hash = legacyEntryHash(row);
      await client.query(
        `INSERT INTO audit_entries (chain, seq, prev_hash, hash, at, actor_id, action, entity_type, entity_id, case_id, request_id, changes)
         VALUES ($1, $2, $3, $4, $5, NULL, $6, 'case', NULL, NULL, NULL, $7)`,
        [chain, seq, prevHash, hash, row.at, row.action, JSON.stringify(row.changes)],
      );
      prevHash = hash;
    }
  }
  return { url, client };
}

describe('migrating the legacy hash chains', () => {
  it('intact chains are accepted and become the first leaves, in their order', async () => {
    const { url, client } = await legacyDatabase();
    expect(await migrate(url, MIGRATIONS_DIR)).toContain(TRANSPARENCY);
    const before = await client.query<{ id: string; leaf_index: string | null }>(
      'SELECT id::text, leaf_index FROM audit_entries ORDER BY id',
    );
    expect(before.rows).toHaveLength(8);
    expect(before.rows.every((r) => r.leaf_index === null)).toBe(true);
    // The sequencer then seals them, oldest first, and the verifier checks both the chains and the tree.
    const config = loadConfig(testEnvVars(url));
    const db = createDb(url, 2);
    try {
      const sequencer = new AuditSequencer({ db, config, log: pino({ level: 'silent' }) });
      expect(await sequencer.drain()).toBe(8);
      expect(await sequencer.checkpoint()).not.toBeNull();
      const after = await client.query<{ id: string; leaf_index: string }>(
        'SELECT id::text, leaf_index::text FROM audit_entries ORDER BY id',
      );
      expect(after.rows.map((r) => Number(r.leaf_index))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      const key = auditPublicKey(config);
      const report = await verifyAuditLog(async (sql, params) => (await client.query(sql, params)).rows, {
        publicKey: Buffer.from(key.publicKey, 'base64'),
        origin: key.origin,
      });
      expect(report.problems).toEqual([]);
      expect(report.notes.join('\n')).toMatch(/8 entries written before the Merkle log: 2 hash chains checked/);
    } finally {
      await db.$disconnect();
    }
  });

  it('a broken chain stops the migration, named, and nothing of it is applied', async () => {
    const { url, client } = await legacyDatabase();
    const [{ chain }] = (
      await client.query<{ chain: string }>("SELECT chain FROM audit_entries WHERE chain <> 'global' LIMIT 1")
    ).rows;
    await client.query("SET session_replication_role = 'replica'");
    await client.query("UPDATE audit_entries SET action = 'legacy.forged' WHERE chain = $1 AND seq = 3", [chain]);
    await client.query("SET session_replication_role = 'origin'");
    await expect(migrate(url, MIGRATIONS_DIR)).rejects.toThrow(new RegExp(`chain ${chain} at seq 3.*altered`));
    const applied = await client.query('SELECT 1 FROM _prisma_migrations WHERE migration_name = $1', [TRANSPARENCY]);
    expect(applied.rowCount).toBe(0);
    const cols = await client.query(
      "SELECT 1 FROM information_schema.columns WHERE table_name = 'audit_entries' AND column_name = 'leaf_index'",
    );
    expect(cols.rowCount).toBe(0);
  });
});
