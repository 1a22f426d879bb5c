// Webhook URLs are entered by users: without a check, any signed-in user could
// make the worker POST signed requests to loopback, link-local (cloud
// metadata) or internal addresses, or send case data over plain HTTP.
// Production requires https to a public address; WEBHOOK_ALLOW_PRIVATE=true
// (tests, a closed network) lifts both rules.
//
// "Public" follows the IANA IPv4 and IPv6 Special-Purpose Address Registries
// (BlockLists below). IPv6 forms that carry an IPv4 address are judged by that
// address: IPv4-mapped (::ffff:0:0/96, dotted or hex, so [::ffff:7f00:1] is
// 127.0.0.1), NAT64 (64:ff9b::/96) and 6to4 (2002::/16). IPv4-compatible
// (::/96, deprecated), local-use NAT64 (64:ff9b:1::/48) and Teredo (2001::/32)
// are refused outright, as are zone ids (fe80::1%eth0) and any IPv6 address
// outside global unicast (2000::/3).
//
// The name is resolved once, at send time, and every address it resolves to
// must be public (one private answer refuses the target: a public webhook has
// no reason to resolve to an internal address, and a mixed answer is how
// rebinding attacks probe). The delivery then connects only to those vetted
// addresses (postJson's connectTo): it never resolves the name again, so a DNS
// answer that changes between the check and the connection (DNS rebinding)
// cannot redirect it.
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

const blockedV4 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // shared address space (carrier-grade NAT)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation (TEST-NET-1)
  ['192.31.196.0', 24], // AS112-v4
  ['192.52.193.0', 24], // AMT
  ['192.88.99.0', 24], // deprecated 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['192.175.48.0', 24], // AS112 direct delegation
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation (TEST-NET-2)
  ['203.0.113.0', 24], // documentation (TEST-NET-3)
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved
  ['255.255.255.255', 32], // limited broadcast
] as const) {
  blockedV4.addSubnet(net, prefix, 'ipv4');
}

// Refused outright. The forms that embed an IPv4 address are handled in privateV6.
const blockedV6 = new BlockList();
for (const [net, prefix] of [
  ['::', 96], // unspecified, loopback, IPv4-compatible (deprecated)
  ['64:ff9b:1::', 48], // local-use IPv4/IPv6 translation
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments: Teredo, benchmarking, ORCHIDv2, ...
  ['2001:db8::', 32], // documentation
  ['2620:4f:8000::', 48], // AS112-v6 direct delegation
  ['3fff::', 20], // documentation
  ['5f00::', 16], // segment routing (SRv6) SIDs
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  blockedV6.addSubnet(net, prefix, 'ipv6');
}

/** The eight 16-bit groups of a valid IPv6 address without a zone id ("::" expanded, a dotted tail converted). */
function v6Groups(ip: string): number[] {
  let s = ip.toLowerCase();
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number);
    s = `${s.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = s.split('::');
  const h = head ? head.split(':') : [];
  const r = rest ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...new Array<string>(8 - h.length - r.length).fill('0'), ...r];
  return groups.map((g) => parseInt(g, 16));
}

const v4Of = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;

function privateV4(ip: string): boolean {
  return blockedV4.check(ip, 'ipv4');
}

function privateV6(ip: string): boolean {
  // A zone id (fe80::1%eth0) names an interface of this machine.
  if (ip.includes('%')) return true;
  const g = v6Groups(ip);
  if (g.length !== 8 || g.some((x) => !(x >= 0 && x <= 0xffff))) return true;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  // IPv4-mapped ::ffff:0:0/96, dotted or hex.
  if (zeros(0, 5) && g[5] === 0xffff) return privateV4(v4Of(g[6], g[7]));
  // NAT64 well-known prefix 64:ff9b::/96.
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return privateV4(v4Of(g[6], g[7]));
  // 6to4 2002::/16: 2002:AABB:CCDD:: carries AA.BB.CC.DD.
  if (g[0] === 0x2002) return privateV4(v4Of(g[1], g[2]));
  // Only global unicast (2000::/3) is public.
  if ((g[0] & 0xe000) !== 0x2000) return true;
  return blockedV6.check(g.map((x) => x.toString(16)).join(':'), 'ipv6');
}

/** True unless `ip` is a public unicast address; anything that is not an IP address counts as private. */
export function isPrivateAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '');
  if (bare.includes('%')) return true;
  const family = isIP(bare);
  if (family === 4) return privateV4(bare);
  if (family === 6) return privateV6(bare);
  return true;
}

/** Resolves a host name to every address it has (dns.lookup, as a connection would). */
export type Resolve = (hostname: string) => Promise<readonly { address: string }[]>;

const systemResolve: Resolve = (hostname) => lookup(hostname, { all: true });

/** A webhook URL and the addresses a delivery may connect to (already vetted, in the resolver's order). */
export type WebhookTarget = { url: URL; addresses: string[] };

/**
 * Resolves the URL's host once and vets it; the delivery must connect only to
 * the returned addresses (postJson's connectTo). Throws when the URL may not be
 * used. `allowPrivate` (WEBHOOK_ALLOW_PRIVATE) lets http and any address through,
 * but the addresses are still resolved once and pinned.
 */
export async function resolveWebhookTarget(
  url: string,
  allowPrivate: boolean,
  resolve: Resolve = systemResolve,
): Promise<WebhookTarget> {
  const u = new URL(url);
  if (u.protocol !== 'https:' && !(allowPrivate && u.protocol === 'http:')) {
    throw new Error('webhook URL must use https');
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : [...new Set((await resolve(host)).map((a) => a.address))];
  if (!addresses.length) throw new Error('webhook URL does not resolve to any address');
  if (!allowPrivate && addresses.some(isPrivateAddress)) {
    throw new Error('webhook URL resolves to a private, loopback, link-local or reserved address');
  }
  return { url: u, addresses };
}

/**
 * Throws when the URL may not be used (settings are checked when saved, and
 * again at every delivery through resolveWebhookTarget). Without DNS when
 * `allowPrivate` is set, so test and closed-network settings may name hosts
 * that do not resolve here.
 */
export async function assertWebhookTarget(
  url: string,
  allowPrivate: boolean,
  resolve: Resolve = systemResolve,
): Promise<void> {
  if (allowPrivate) return;
  await resolveWebhookTarget(url, false, resolve);
}
