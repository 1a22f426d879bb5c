// argon2id password hashing (OWASP Password Storage Cheat Sheet: at least
// m=19 MiB, t=2, p=1; config.ts enforces that floor).
import os from 'node:os';
import { Algorithm, hash, verify } from '@node-rs/argon2';

export type Argon2Params = { memoryCost: number; timeCost: number; parallelism: number };

export function hashPassword(password: string, p: Argon2Params): Promise<string> {
  return hash(password, {
    algorithm: Algorithm.Argon2id,
    memoryCost: p.memoryCost,
    timeCost: p.timeCost,
    parallelism: p.parallelism,
  });
}

/** Verifications started in this process (tests count them). */
export const passwordStats = { verifications: 0 };

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  passwordStats.verifications++;
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

export const PASSWORD_MIN_LENGTH = 12;

/** A place in the verification queue: run the work once, or give the place back. */
export type VerifyTicket = {
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Gives the place back if `run` was never called (idempotent). */
  release(): void;
};

/**
 * Bounds argon2 work per process. @node-rs/argon2 runs each hash on the libuv
 * threadpool (UV_THREADPOOL_SIZE, 4 by default), which fs, dns.lookup and
 * async crypto share: at most `concurrency` verifications run at once (keep it
 * below the pool size so those never wait behind a flood of logins), at most
 * `queueMax` more wait in FIFO order, and `admit` refuses anything past that at
 * once (the caller answers 503 with `retryAfterSeconds()`), so a flood costs
 * bounded memory (argon2 allocates m KiB per running verification) and no
 * request waits longer than about (queueMax / concurrency) verifications.
 */
export class VerifyLimiter {
  private running = 0;
  private admitted = 0;
  private readonly waiting: (() => void)[] = [];
  private avgMs = 200;

  constructor(
    readonly concurrency: number,
    readonly queueMax: number,
  ) {}

  /** A ticket, or null when `concurrency + queueMax` are already admitted. */
  admit(): VerifyTicket | null {
    if (this.admitted >= this.concurrency + this.queueMax) return null;
    this.admitted++;
    let state: 'new' | 'used' = 'new';
    const release = () => {
      if (state === 'new') {
        state = 'used';
        this.admitted--;
      }
    };
    const run = async <T>(work: () => Promise<T>): Promise<T> => {
      if (state !== 'new') throw new Error('a verify ticket runs once');
      state = 'used';
      try {
        if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
        else this.running++;
        const started = performance.now();
        try {
          return await work();
        } finally {
          this.avgMs = 0.8 * this.avgMs + 0.2 * (performance.now() - started);
          // Hand the slot straight to the next waiter (running stays the same).
          const next = this.waiting.shift();
          if (next) next();
          else this.running--;
        }
      } finally {
        this.admitted--;
      }
    };
    return { run, release };
  }

  /** Seconds until the work admitted now would likely have drained. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(((this.admitted / this.concurrency) * this.avgMs) / 1000));
  }

  get stats() {
    return { running: this.running, waiting: this.waiting.length, admitted: this.admitted };
  }
}

/**
 * Default concurrent argon2 verifications: one core left for the event loop (CPUs - 1, at least 1) and one
 * libuv thread left for fs/dns/crypto. Measured with bench/login-flood.bench.ts on 2 cores under a
 * 200-login flood: with 3 the other routes' p99 rose ~20x, with 1 it stayed within 1.5x.
 */
export function defaultLoginConcurrency(
  cpus = os.availableParallelism(),
  threadpool = Number(process.env.UV_THREADPOOL_SIZE) || 4,
): number {
  return Math.max(1, Math.min(cpus - 1, threadpool - 1));
}
