// Webhook URLs are entered by users: without a check, any signed-in user could
// make the worker POST signed requests to loopback, link-local (cloud
// metadata) or internal addresses, or send case data over plain HTTP.
// Production requires https to a public address; WEBHOOK_ALLOW_PRIVATE=true
// (tests, a closed network) lifts both rules. The address is checked at send
// time; a DNS answer that changes between the check and the connection is not
// caught (pin the resolved address in a proxy if that matters).
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

function privateV4(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number);
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127) ||
    a >= 224
  );
}

function privateV6(ip: string): boolean {
  const x = ip.toLowerCase();
  if (x === '::1' || x === '::') return true;
  if (x.startsWith('::ffff:')) return privateV4(x.slice(7));
  return /^f[cd]/.test(x) || /^fe[89ab]/.test(x) || x.startsWith('ff');
}

export function isPrivateAddress(ip: string): boolean {
  return isIP(ip) === 4 ? privateV4(ip) : privateV6(ip);
}

/** Throws when the URL may not be used; `allowPrivate` is WEBHOOK_ALLOW_PRIVATE. */
export async function assertWebhookTarget(url: string, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const u = new URL(url);
  if (u.protocol !== 'https:') throw new Error('webhook URL must use https');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  if (!addresses.length || addresses.some(isPrivateAddress)) {
    throw new Error('webhook URL resolves to a private, loopback or link-local address');
  }
}
