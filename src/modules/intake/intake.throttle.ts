// Rate limits of the public intake, shared by every API instance (rows in
// intake_throttle): per client address, and globally so that a botnet of many
// addresses cannot flood the vetting queue either. Keys are HMACs under a key
// derived from BLIND_INDEX_KEY with a label of its own (as login-throttle.ts):
// no address is stored.
import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { query, sql } from '../../lib/sql.ts';
import type { RateLimitSink } from '../../lib/rate-limit-headers.ts';

/** Default of INTAKE_IP_MAX (attempts, solved or not, per address per window; tests count on it). The
 * running limits are app.config.intake (INTAKE_IP_MAX, INTAKE_GLOBAL_MAX, INTAKE_WINDOW_MINUTES). */
export const INTAKE_IP_MAX = 10;

export const intakeThrottleHmacKey = (blindIndexKey: Buffer): Buffer =>
  createHmac('sha256', blindIndexKey).update('exile-case/intake-throttle/v1').digest();

export class IntakeThrottle {
  private readonly hmacKey: Buffer;
  constructor(private readonly app: FastifyInstance) {
    this.hmacKey = intakeThrottleHmacKey(app.config.crypto.blindIndexKey);
  }

  private key(ip: string): string {
    return `ip:${createHmac('sha256', this.hmacKey).update(ip).digest('base64url')}`;
  }

  /** The counter key of a signed-in user's asks to other teams (an HMAC too: the table names nobody). */
  askKey(userId: string): string {
    return `ask:${createHmac('sha256', this.hmacKey).update(userId).digest('base64url')}`;
  }

  /** Counts one attempt in a fixed window (the intake's by default); returns the count and when the window ends. */
  async count(
    key: string,
    now: Date,
    windowMs = this.app.config.intake.windowMinutes * 60_000,
  ): Promise<{ count: number; endsAt: Date }> {
    const windowStart = new Date(now.getTime() - windowMs);
    const expires = new Date(now.getTime() + windowMs);
    const [row] = await query<{ count: number; window_start: Date }>(
      this.app.sqlPool,
      sql`INSERT INTO intake_throttle AS t (key, window_start, count, expires_at)
          VALUES (${key}, ${now}::timestamptz, 1, ${expires}::timestamptz)
          ON CONFLICT (key) DO UPDATE SET
            count = CASE WHEN t.window_start < ${windowStart}::timestamptz THEN 1 ELSE t.count + 1 END,
            window_start = CASE WHEN t.window_start < ${windowStart}::timestamptz THEN ${now}::timestamptz ELSE t.window_start END,
            expires_at = CASE WHEN t.window_start < ${windowStart}::timestamptz THEN ${expires}::timestamptz ELSE t.expires_at END
          RETURNING count, window_start`,
    );
    return { count: row.count, endsAt: new Date(row.window_start.getTime() + windowMs) };
  }

  /** Throws 429 (with Retry-After) past either limit. */
  async check(ip: string, now: Date, report?: RateLimitSink): Promise<void> {
    const { ipMax, globalMax, windowMinutes } = this.app.config.intake;
    const perIp = await this.count(this.key(ip), now);
    report?.({
      policy: 'ip',
      limit: ipMax,
      used: perIp.count,
      windowSeconds: windowMinutes * 60,
      endsAt: perIp.endsAt,
    });
    const global = perIp.count > ipMax ? null : await this.count('global', now);
    const over = perIp.count > ipMax ? perIp : global && global.count > globalMax ? global : null;
    if (over) {
      throw new AppError('RATE_LIMITED', 'Too many reports were sent; please try again later.', {
        retryAfterSeconds: Math.max(1, Math.ceil((over.endsAt.getTime() - now.getTime()) / 1000)),
      });
    }
    // Old rows are forgotten as new attempts arrive: no timer to run.
    if (perIp.count === 1) {
      await query(this.app.sqlPool, sql`DELETE FROM intake_throttle WHERE expires_at <= ${now}::timestamptz`);
      await query(this.app.sqlPool, sql`DELETE FROM intake_used_challenges WHERE expires_at <= ${now}::timestamptz`);
    }
  }
}
