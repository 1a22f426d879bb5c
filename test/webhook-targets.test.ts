// Webhook targets for reminders are https to a public address: a reminder must
// not be turned into a request to the service's own network (localhost, cloud
// metadata, private ranges). Tests elsewhere relax this with
// WEBHOOK_ALLOW_PRIVATE=true; this file runs with it off.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPrivateAddress } from '../src/lib/webhook-target.ts';
import { clientFor, expectProblem, setupTestEnv, type TestEnv } from './helpers.ts';

let strict: TestEnv;
beforeAll(async () => {
  strict = await setupTestEnv({ env: { LOGIN_IP_MAX_ATTEMPTS: '1000', WEBHOOK_ALLOW_PRIVATE: 'false' } });
});
afterAll(async () => strict?.close());

describe('webhook targets', () => {
  it('webhook targets must be https and public unless WEBHOOK_ALLOW_PRIVATE is set', async () => {
    const u = await clientFor(strict, 'CASEWORKER');
    for (const url of [
      'http://hooks.example.org/x',
      'https://127.0.0.1/x',
      'https://[::1]/x',
      'https://169.254.169.254/latest',
      'https://10.1.2.3/x',
    ]) {
      const res = await u.put('/v1/me/notification-settings', {
        email: { enabled: true },
        webhook: { url, secret: 'a-long-enough-secret', enabled: true },
      });
      expectProblem(res, 400, 'body.webhook.url');
      expect(res.json().errors[0].path, url).toBe('body.webhook.url');
    }
    expect(
      [
        '127.0.0.1',
        '10.0.0.1',
        '172.20.1.1',
        '192.168.1.1',
        '169.254.169.254',
        '100.64.0.1',
        '::1',
        'fd00::1',
        'fe80::1',
        '::ffff:127.0.0.1',
      ].every(isPrivateAddress),
    ).toBe(true);
    expect(['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111'].some(isPrivateAddress)).toBe(false);
  });

  // The SSRF item of "Accounts that hold against a state adversary": IPv6 forms
  // that carry a private IPv4 address (WHATWG URL writes [::ffff:127.0.0.1] as
  // [::ffff:7f00:1]), NAT64, 6to4, the rest of the special-purpose registries,
  // zone ids and names that resolve to loopback.
  it('refuses IPv6 forms of private IPv4 addresses, special-purpose ranges, zone ids and names resolving to loopback', async () => {
    const u = await clientFor(strict, 'CASEWORKER');
    const put = (url: string) =>
      u.put('/v1/me/notification-settings', {
        email: { enabled: true },
        webhook: { url, secret: 'a-long-enough-secret', enabled: true },
      });
    for (const url of [
      'https://[::ffff:127.0.0.1]:8443/x',
      'https://[::ffff:169.254.169.254]/',
      'https://[::ffff:a00:1]/',
      'https://[::ffff:7f00:1]/',
      'https://[64:ff9b::a9fe:a9fe]/',
      'https://[64:ff9b::7f00:1]/',
      'https://[64:ff9b:1::a00:1]/',
      'https://198.18.0.1/x',
      'https://100.64.0.1/x',
      'https://[fe80::1%25eth0]/x',
      'https://[2002:7f00:1::]/x',
      'https://[2001::1]/x',
      'https://[::127.0.0.1]/x',
      'https://[::]/x',
      'https://0.0.0.0/x',
      'https://0x7f.1/x',
      'https://localhost/x',
      'https://localhost./x',
    ]) {
      const res = await put(url);
      expectProblem(res, 400, 'body.webhook.url');
      expect(res.json().errors[0].path, url).toBe('body.webhook.url');
    }
    // Public addresses written as IP literals need no DNS and are accepted.
    for (const url of ['https://1.1.1.1/x', 'https://[2606:4700:4700::1111]/x', 'https://[64:ff9b::808:808]/x']) {
      expect((await put(url)).statusCode, url).toBe(200);
    }
  });
});
