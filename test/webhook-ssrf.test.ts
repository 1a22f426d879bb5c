// Webhook SSRF: which addresses count as public (the IANA special-purpose
// registries, IPv6 forms that carry an IPv4 address), and DNS rebinding: the
// host is resolved once, every answer vetted, and the connection made only to
// a vetted address while the Host header and TLS keep the name. Pure unit
// tests plus real node:http(s) servers on 127.0.0.1/127.0.0.2 and a resolver
// injected by the test; no database, nothing leaves the machine.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { postJson, requestOptions } from '../src/lib/http-post.ts';
import { isPrivateAddress, resolveWebhookTarget, type Resolve } from '../src/lib/webhook-target.ts';

const NOT_PUBLIC = [
  // IPv4 special-purpose registry
  '0.0.0.0',
  '0.1.2.3',
  '10.0.0.1',
  '10.255.255.255',
  '100.64.0.1',
  '100.127.255.254',
  '127.0.0.1',
  '127.255.255.254',
  '169.254.169.254',
  '172.16.0.1',
  '172.31.255.255',
  '192.0.0.1',
  '192.0.0.170',
  '192.0.2.10',
  '192.31.196.1',
  '192.52.193.1',
  '192.88.99.1',
  '192.168.1.1',
  '192.175.48.1',
  '198.18.0.1',
  '198.19.255.255',
  '198.51.100.7',
  '203.0.113.9',
  '224.0.0.1',
  '239.255.255.250',
  '240.0.0.1',
  '255.255.255.255',
  // IPv6: unspecified, loopback, IPv4-compatible (deprecated)
  '::',
  '::1',
  '0:0:0:0:0:0:0:1',
  '::127.0.0.1',
  '::8.8.8.8',
  '::7f00:1',
  // IPv4-mapped, dotted and hex (as WHATWG URL writes it), and brackets as in a URL
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '::FFFF:7F00:1',
  '0:0:0:0:0:ffff:7f00:1',
  '::ffff:169.254.169.254',
  '::ffff:a9fe:a9fe',
  '::ffff:a00:1',
  '::ffff:c0a8:101',
  '::ffff:0:0',
  '[::ffff:7f00:1]',
  // NAT64 well-known prefix carrying a private IPv4, and local-use NAT64
  '64:ff9b::a9fe:a9fe',
  '64:ff9b::7f00:1',
  '64:ff9b::10.0.0.1',
  '64:ff9b:1::8.8.8.8',
  '64:ff9b:1:ffff::1',
  // 6to4 carrying a private IPv4
  '2002:7f00:1::',
  '2002:a9fe:a9fe::1',
  '2002:c0a8:101::1',
  '2002::',
  // IETF protocol assignments (Teredo, benchmarking, ORCHIDv2, ...), documentation
  '2001::1',
  '2001:0:4136:e378:8000:63bf:3fff:fdd2',
  '2001:2::1',
  '2001:20::1',
  '2001:1ff:ffff::1',
  '2001:db8::1',
  '3fff::1',
  '3fff:fff::1',
  // discard-only, SRv6, unique local, link-local, site-local, multicast
  '100::1',
  '5f00::1',
  'fc00::1',
  'fd12:3456::1',
  'fe80::1',
  'febf::1',
  'fec0::1',
  'ff02::1',
  'ff05::1:3',
  // outside global unicast 2000::/3
  '4000::1',
  '1::1',
  // zone ids, not an address
  'fe80::1%eth0',
  '2606:4700:4700::1111%eth0',
  'localhost',
  '',
];

const PUBLIC = [
  '8.8.8.8',
  '1.1.1.1',
  '93.184.216.34',
  '9.255.255.255',
  '11.0.0.1',
  '100.63.255.255',
  '100.128.0.1',
  '126.255.255.255',
  '128.0.0.1',
  '169.253.255.255',
  '172.15.255.255',
  '172.32.0.1',
  '192.0.1.1',
  '192.167.255.255',
  '192.169.0.1',
  '198.17.255.255',
  '198.20.0.1',
  '223.255.255.255',
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '2a00:1450:4001:81c::200e',
  '2001:200::1',
  '2001:db9::1',
  '3ffe::1',
  '3fff:1000::1',
  '::ffff:8.8.8.8',
  '::ffff:808:808',
  '64:ff9b::8.8.8.8',
  '64:ff9b::808:808',
  '2002:808:808::1',
  '[2606:4700:4700::1111]',
];

describe('isPrivateAddress (IANA special-purpose registries, embedded IPv4)', () => {
  it.each(NOT_PUBLIC)('refuses %s', (ip) => {
    expect(isPrivateAddress(ip)).toBe(true);
  });
  it.each(PUBLIC)('accepts %s', (ip) => {
    expect(isPrivateAddress(ip)).toBe(false);
  });
});

/** A resolver that gives each answer in turn (the last one from then on) and counts its calls. */
function flipping(...answers: string[][]) {
  const calls: string[] = [];
  const resolve: Resolve = async (hostname) => {
    calls.push(hostname);
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)];
    return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { resolve, calls };
}

describe('resolveWebhookTarget (resolve once, vet every answer)', () => {
  it('refuses a name whose answer holds any non-public address, and http, unless private targets are allowed', async () => {
    for (const answer of [
      ['127.0.0.1'],
      ['93.184.216.34', '127.0.0.1'],
      ['2606:4700:4700::1111', '::ffff:7f00:1'],
      [],
    ]) {
      await expect(
        resolveWebhookTarget('https://hooks.example.org/x', false, flipping(answer).resolve),
        answer.join(),
      ).rejects.toThrow();
    }
    await expect(resolveWebhookTarget('https://localhost/x', false)).rejects.toThrow(/private|loopback/);
    await expect(resolveWebhookTarget('http://93.184.216.34/x', false)).rejects.toThrow(/https/);
    await expect(resolveWebhookTarget('https://[::ffff:7f00:1]:8443/x', false)).rejects.toThrow(/private|loopback/);
    const allowed = await resolveWebhookTarget('http://hooks.internal/x', true, flipping(['10.0.0.5']).resolve);
    expect(allowed.addresses).toEqual(['10.0.0.5']);
  });

  it('returns every vetted address of a public name (deduplicated, in the resolver order) after one lookup', async () => {
    const r = flipping(['93.184.216.34', '2606:4700:4700::1111', '93.184.216.34']);
    const t = await resolveWebhookTarget('https://hooks.example.org/x', false, r.resolve);
    expect(t.addresses).toEqual(['93.184.216.34', '2606:4700:4700::1111']);
    expect(r.calls).toEqual(['hooks.example.org']);
    // An IP literal is not looked up.
    const lit = flipping(['127.0.0.1']);
    expect((await resolveWebhookTarget('https://[2606:4700:4700::1111]/x', false, lit.resolve)).addresses).toEqual([
      '2606:4700:4700::1111',
    ]);
    expect(lit.calls).toEqual([]);
  });
});

describe('DNS rebinding: the connection goes to the vetted address', () => {
  it('a name that answers a public address at check time and 127.0.0.1 afterwards is connected to the public address, with its name in Host and TLS', async () => {
    const r = flipping(['93.184.216.34'], ['127.0.0.1']);
    const t = await resolveWebhookTarget('https://rebind.example:8443/hook?a=1', false, r.resolve);
    // Whatever the name answers from now on is never asked.
    expect(await r.resolve('rebind.example')).toEqual([{ address: '127.0.0.1', family: 4 }]);
    const o = requestOptions(t.url, t.addresses[0], { 'x-k': 'v' }, 2);
    expect(o.hostname).toBe('93.184.216.34');
    expect(o.host).toBe('93.184.216.34');
    expect(o.port).toBe(8443);
    expect(o.path).toBe('/hook?a=1');
    expect(o.servername).toBe('rebind.example');
    expect(o.lookup).toBeUndefined();
    expect(o.headers).toEqual({ 'x-k': 'v', 'content-length': '2', host: 'rebind.example:8443' });
    // An IP literal URL: no SNI (the certificate is checked against the IP).
    const lit = requestOptions(new URL('https://[2606:4700:4700::1111]/x'), '2606:4700:4700::1111', {}, 0);
    expect(lit.servername).toBe('');
    expect(lit.hostname).toBe('2606:4700:4700::1111');
  });

  const servers: (Server | TlsServer)[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  type Seen = { host: string | undefined; socket: Socket; local: string | undefined };
  async function sink(address: string, port: number, seen: Seen[]): Promise<number> {
    const s = createServer((req: IncomingMessage, res) => {
      seen.push({ host: req.headers.host, socket: req.socket, local: req.socket.localAddress });
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(port, address, () => r()));
    return (s.address() as AddressInfo).port;
  }

  it('real connections: each delivery reaches the address vetted for it, a pooled socket is not reused for a rebound name, the name is never resolved again', async () => {
    const a: Seen[] = [];
    const b: Seen[] = [];
    const port = await sink('127.0.0.1', 0, a);
    await sink('127.0.0.2', port, b);
    // rebind.test (a reserved TLD) does not resolve here: only the pinned address can be reached.
    const url = `http://rebind.test:${port}/hook`;
    const r = flipping(['127.0.0.1'], ['127.0.0.2']);

    const first = await resolveWebhookTarget(url, true, r.resolve);
    expect(first.addresses).toEqual(['127.0.0.1']);
    // The name rebinds right after the check: the delivery still goes to 127.0.0.1.
    expect(await r.resolve('rebind.test')).toEqual([{ address: '127.0.0.2', family: 4 }]);
    expect(await postJson(url, {}, '{}', 5_000, { connectTo: first.addresses })).toEqual({ status: 204 });
    expect(await postJson(url, {}, '{}', 5_000, { connectTo: first.addresses })).toEqual({ status: 204 });
    expect(a.map((s) => s.host)).toEqual([`rebind.test:${port}`, `rebind.test:${port}`]);
    expect(a.map((s) => s.local)).toEqual(['127.0.0.1', '127.0.0.1']);
    expect(a[1].socket).toBe(a[0].socket); // kept alive for the same vetted address
    expect(b).toEqual([]);

    // The next delivery vets the new answer; the idle socket to 127.0.0.1 is not reused for it.
    const second = await resolveWebhookTarget(url, true, r.resolve);
    expect(second.addresses).toEqual(['127.0.0.2']);
    expect(await postJson(url, {}, '{}', 5_000, { connectTo: second.addresses })).toEqual({ status: 204 });
    expect(b.map((s) => [s.host, s.local])).toEqual([[`rebind.test:${port}`, '127.0.0.2']]);
    expect(a).toHaveLength(2);
    expect(r.calls).toEqual(['rebind.test', 'rebind.test', 'rebind.test']);
  });

  it('an unreachable vetted address is skipped for the next vetted one, never for an unvetted one', async () => {
    const a: Seen[] = [];
    const port = await sink('127.0.0.1', 0, a);
    const url = `http://rebind.test:${port}/hook`;
    // Nothing listens on 127.0.0.3: refused, nothing sent; 127.0.0.1 answers.
    expect(await postJson(url, {}, '{}', 5_000, { connectTo: ['127.0.0.3', '127.0.0.1'] })).toEqual({ status: 204 });
    expect(a.map((s) => s.local)).toEqual(['127.0.0.1']);
    await expect(postJson(url, {}, '{}', 5_000, { connectTo: ['127.0.0.3'] })).rejects.toThrow(/ECONNREFUSED/);
    await expect(postJson(url, {}, '{}', 5_000, { connectTo: [] })).rejects.toThrow(/no address/);
  });

  // A self-signed certificate from the openssl CLI; skipped where it is not installed.
  const dir = mkdtempSync(join(tmpdir(), 'webhook-ssrf-'));
  const gen = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=rebind.test',
      '-days',
      '1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore', timeout: 20_000 },
  );
  const tls =
    gen.status === 0 ? { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) } : null;
  rmSync(dir, { recursive: true, force: true });

  it.skipIf(!tls)('TLS to a pinned address sends the name as SNI and checks the certificate', async () => {
    const sni: (string | undefined)[] = [];
    const SNICallback = (name: string, cb: (err: Error | null) => void) => {
      sni.push(name);
      cb(null); // the default context, with the certificate above
    };
    const s = createTlsServer({ ...tls!, SNICallback }, (_req, res) => res.writeHead(204).end());
    servers.push(s);
    s.on('tlsClientError', () => {});
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as AddressInfo).port;
    // The self-signed certificate is not trusted: the check is made (and fails) although the address is pinned.
    await expect(
      postJson(`https://rebind.test:${port}/x`, {}, '{}', 5_000, { connectTo: ['127.0.0.1'] }),
    ).rejects.toThrow(/self[- ]signed|certificate/);
    expect(sni).toEqual(['rebind.test']);
  });
});
