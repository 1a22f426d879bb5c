// Child processes for the reminder resilience test and the benchmark: worker
// processes (`tsx src/main.ts` with ROLE=worker) and a private redis-server,
// all on 127.0.0.1. Each child runs in its own process group so that
// SIGKILL reaches the real node process behind the tsx launcher; only the
// groups started here are ever signalled.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import type { AppConfig } from '../src/config.ts';
import { PROJECT_ROOT } from '../src/lib/paths.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The secrets and settings a worker process needs to share the test app's database and keys. */
export function workerEnvFromConfig(
  config: AppConfig,
  extra: Record<string, string | undefined> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    ROLE: 'worker',
    LOG_LEVEL: 'info',
    DATABASE_URL: config.db.url,
    JWT_SECRET: config.auth.jwtSecret,
    // Insertion order is kept: the last key stays the one that encrypts.
    ENCRYPTION_KEYS: [...config.crypto.keys].map(([id, k]) => `${id}:${k.toString('base64')}`).join(','),
    BLIND_INDEX_KEY: config.crypto.blindIndexKey.toString('base64'),
    AUDIT_SIGNING_KEY: config.audit.signingSeed.toString('base64'),
    STATS_NOISE_KEY: config.stats.noiseKey.toString('base64'),
    AUDIT_ORIGIN: config.audit.origin,
    ARGON2_MEMORY_KIB: String(config.auth.argon2.memoryCost),
    ARGON2_TIME_COST: String(config.auth.argon2.timeCost),
    REMINDER_RELAY_SECONDS: String(config.reminders.relaySeconds),
    REMINDER_HORIZON_SECONDS: String(config.reminders.horizonSeconds),
    REMINDER_OFFSETS_DAYS: config.reminders.offsetsDays.join(','),
    REMINDER_OFFSETS_HOURS: config.reminders.offsetsHours.join(','),
    REMINDER_CLAIM_TIMEOUT_SECONDS: String(config.reminders.claimTimeoutMs / 1000),
    REMINDER_REENQUEUE_SECONDS: String(config.reminders.reenqueueMs / 1000),
    REMINDER_CONCURRENCY: String(config.reminders.concurrency),
    WEBHOOK_ALLOW_PRIVATE: String(config.webhooks.allowPrivate),
    ...(config.redis.url ? { REDIS_URL: config.redis.url } : {}),
    ...(config.mail.smtpUrl ? { SMTP_URL: config.mail.smtpUrl } : {}),
  };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export type WorkerProc = {
  child: ChildProcess;
  pid: number;
  output: string[];
  /** Resolves when the worker printed "worker running" (rejects if it exits first or times out). */
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Signals the worker's own process group (the tsx launcher and the node process behind it). */
  signal(sig: NodeJS.Signals): void;
};

export function spawnWorker(
  env: NodeJS.ProcessEnv,
  opts: { readyTimeoutMs?: number; name?: string; nodeArgs?: string[] } = {},
): WorkerProc {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts'], {
    cwd: PROJECT_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let onLine: (l: string) => void = () => {};
  for (const stream of [child.stdout!, child.stderr!]) {
    let buf = '';
    stream.on('data', (c: Buffer) => {
      buf += c.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        output.push(line);
        onLine(line);
      }
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker ${opts.name ?? ''} not ready in time:\n${output.slice(-20).join('\n')}`)),
      opts.readyTimeoutMs ?? 60_000,
    );
    onLine = (l) => {
      if (l.includes('worker running')) {
        clearTimeout(timer);
        resolve();
      }
    };
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(
          `worker ${opts.name ?? ''} exited (${code ?? signal}) before it was ready:\n${output.slice(-20).join('\n')}`,
        ),
      );
    });
  });
  ready.catch(() => {});
  const pid = child.pid!;
  return {
    child,
    pid,
    output,
    ready,
    exited,
    signal(sig) {
      try {
        process.kill(-pid, sig);
      } catch {
        /* already gone */
      }
    },
  };
}

/** Stops a worker: SIGTERM (graceful), then SIGKILL after graceMs. */
export async function stopWorker(w: WorkerProc, graceMs = 15_000) {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return w.exited;
  w.signal('SIGTERM');
  const timer = setTimeout(() => w.signal('SIGKILL'), graceMs);
  const res = await w.exited;
  clearTimeout(timer);
  return res;
}

export function redisServerBinary(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir, 'redis-server');
    if (dir && existsSync(p)) return p;
  }
  return null;
}

/** A throw-away redis-server on 127.0.0.1 (no persistence), or null when the binary is not installed. */
export async function startPrivateRedis(): Promise<{ url: string; close: () => Promise<void> } | null> {
  const bin = redisServerBinary();
  if (!bin) return null;
  // A free port can be taken by someone else before redis binds it (parallel
  // test files): try again on another one.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRedisOn(bin, await freePort());
    } catch (err) {
      if (attempt >= 5 || !/Address already in use/.test((err as Error).message)) throw err;
    }
  }
}

async function startRedisOn(bin: string, port: number): Promise<{ url: string; close: () => Promise<void> }> {
  const child = spawn(
    bin,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
      '--protected-mode',
      'yes',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const out: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out.join('')}`)), 10_000);
    const onData = (c: Buffer) => {
      out.push(c.toString());
      if (/Ready to accept connections/i.test(out.join(''))) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}):\n${out.join('')}`));
    });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    close: async () => {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}
