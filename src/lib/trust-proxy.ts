// TRUST_PROXY: which peers may set X-Forwarded-For (the address login throttling counts).
import { isIP } from 'node:net';
import { z } from 'zod';

/** What we give Fastify's `trustProxy`: off, everyone, or the proxies' addresses/CIDRs. */
export type TrustProxy = boolean | string[];

// proxy-addr's named ranges (Fastify resolves them).
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function validProxyEntry(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const slash = entry.indexOf('/');
  const addr = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(addr);
  if (!family) return false;
  if (slash < 0) return true;
  const bits = entry.slice(slash + 1);
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY: `false` (default: X-Forwarded-For is ignored), `true` (trusted
 * from ANY peer: only when nothing but the proxy can reach the port), or a
 * comma-separated list of the proxies' addresses, CIDRs or proxy-addr names
 * (loopback, linklocal, uniquelocal): X-Forwarded-For is then read only from
 * those peers. `1`/`0` stay aliases of true/false. A hop count is refused:
 * Fastify 5 trusts no peer for a number (it cannot check the immediate peer).
 */
export const TrustProxySchema = z
  .string()
  .trim()
  .transform((v, ctx): TrustProxy => {
    const lower = v.toLowerCase();
    if (lower === 'false' || lower === '0' || lower === '') return false;
    if (lower === 'true' || lower === '1') return true;
    if (/^\d+$/.test(lower)) {
      ctx.addIssue({
        code: 'custom',
        message: 'a hop count is not supported (Fastify trusts no peer for it): list the proxy addresses or CIDRs',
      });
      return z.NEVER;
    }
    const entries = lower
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = entries.filter((e) => !validProxyEntry(e));
    if (!entries.length || bad.length) {
      ctx.addIssue({
        code: 'custom',
        message: `expected true, false or comma-separated proxy IPs/CIDRs (not an address: ${bad.join(', ') || v})`,
      });
      return z.NEVER;
    }
    return entries;
  });
