// Rate-limit headers on throttled routes, so a client can slow down before it
// is refused. Both forms clients meet in the wild are sent:
// - the IETF httpapi draft (draft-ietf-httpapi-ratelimit-headers-09):
//     RateLimit-Policy: "ip";q=10;w=3600     (quota q per window w seconds)
//     RateLimit: "ip";r=7;t=1800             (r left, window ends in t seconds)
// - the older fields of drafts 03-07: RateLimit-Limit, RateLimit-Remaining,
//   RateLimit-Reset (seconds until the window ends).
// Per-address windows are announced, and a signed-in user's own window
// (policy "user": asks to other teams). The per-email sign-in lockout and
// the intake's global window are not: their counters would tell anyone how
// many failed tries an email address has had, or how many reports arrive.
import type { FastifyReply } from 'fastify';

export type RateLimitWindow = {
  /** Policy name (a short token, e.g. "ip"). */
  policy: string;
  limit: number;
  /** Requests counted so far in this window, this one included. */
  used: number;
  windowSeconds: number;
  /** When the window ends. */
  endsAt: Date;
};

/** Receives the window a throttle counted this request in (routes turn it into headers). */
export type RateLimitSink = (w: RateLimitWindow) => void;

export const RATE_LIMIT_HEADERS = [
  'RateLimit',
  'RateLimit-Policy',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
] as const;

/** A sink that writes the headers on `reply` (call before the work that may throw 429). */
export function rateLimitSink(reply: FastifyReply, now: () => Date): RateLimitSink {
  return (w) => {
    const remaining = Math.max(0, w.limit - w.used);
    const reset = Math.max(0, Math.ceil((w.endsAt.getTime() - now().getTime()) / 1000));
    reply.header('ratelimit-policy', `"${w.policy}";q=${w.limit};w=${w.windowSeconds}`);
    reply.header('ratelimit', `"${w.policy}";r=${remaining};t=${reset}`);
    reply.header('ratelimit-limit', String(w.limit));
    reply.header('ratelimit-remaining', String(remaining));
    reply.header('ratelimit-reset', String(reset));
  };
}
