// GET /intake: the form in every language (its dictionary, a strict CSP whose
// hashes match the one inline script and style, no third-party asset), and the
// form's own script run against the real API with a minimal DOM stand-in: fill
// in Russian, submit, see the receipt; a failing challenge keeps what was typed.
// (test/intake-browser.test.ts does the same in a real headless Chromium.)
import { createHash } from 'node:crypto';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORM_SCRIPT } from '../src/modules/intake/intake-form.script.ts';
import { MESSAGES } from '../src/modules/intake/intake-i18n.ts';
import { INTAKE_LANGUAGES } from '../src/modules/intake/intake.schemas.ts';
import { contentRef } from '../src/modules/intake/intake.service.ts';
import { expectProblem, setupTestEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await setupTestEnv();
});
afterAll(async () => env?.close());

const sha = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

describe('GET /intake', () => {
  it.each(INTAKE_LANGUAGES)('serves the form in %s under a strict CSP, with no third-party asset', async (lang) => {
    const res = await env.app.inject({ url: `/intake?lang=${lang}` });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = res.body;
    expect(html).toContain(`<html lang="${lang}">`);
    expect(html).toContain(MESSAGES[lang].title.replace(/'/g, '&#39;').replace(/"/g, '&quot;'));
    expect(html).toContain(MESSAGES[lang].types[0]);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1];
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1];
    expect(csp).toContain(`script-src ${sha(script)}`);
    expect(csp).toContain(`style-src ${sha(style)}`);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<script[^>]*src=/);
  });

  it('refuses an unknown language with a problem naming lang', async () => {
    expectProblem(await env.app.inject({ url: '/intake?lang=xx' }), 400, 'querystring.lang');
  });
});

type El = { value: string; checked?: boolean; attrs: Record<string, string> };

/** A minimal DOM for the form's script: the elements it reads and writes, nothing else. */
function page(lang: 'ru' | 'en', values: Record<string, string>, tamper = false) {
  const els: Record<string, El> = {};
  for (const n of [
    'name',
    'dob',
    'citizenship',
    'type',
    'country',
    'city',
    'when',
    'description',
    'reporterName',
    'contact',
  ]) {
    els[n] = { value: values[n] ?? '', attrs: {} };
  }
  const elements = Object.fromEntries(
    Object.entries(els).map(([n, e]) => [
      n,
      {
        get value() {
          return e.value;
        },
        setAttribute: (k: string, v: string) => (e.attrs[k] = v),
        removeAttribute: (k: string) => delete e.attrs[k],
      },
    ]),
  );
  const consent = { checked: values.consent === 'yes', setAttribute() {}, removeAttribute() {} };
  const m = MESSAGES[lang];
  let onSubmit: ((ev: { preventDefault: () => void }) => Promise<void>) | null = null;
  const form = {
    hidden: false,
    dataset: {
      lang,
      working: m.working,
      sent: m.sent,
      retry: m.retry,
      throttled: m.throttled,
      invalid: m.invalid,
      failed: m.failed,
    },
    elements: { ...elements, consent },
    querySelector: () => ({ disabled: false }),
    querySelectorAll: () => [],
    addEventListener: (_: string, fn: typeof onSubmit) => (onSubmit = fn),
  };
  const nodes: Record<string, { textContent?: string; hidden?: boolean }> = {
    intake: form,
    status: { textContent: '' },
    receipt: { textContent: '' },
    done: { hidden: true },
  };
  const calls: string[] = [];
  const fetch = async (url: string, init?: { method?: string; body?: string; headers?: Record<string, string> }) => {
    calls.push(`${init?.method ?? 'GET'} ${url}`);
    const res = await env.app.inject({
      method: (init?.method ?? 'GET') as 'GET' | 'POST',
      url,
      payload: init?.body,
      headers: init?.headers,
      remoteAddress: '203.0.113.7',
    });
    let body = res.body;
    if (tamper && url.endsWith('/challenge')) body = JSON.stringify({ ...res.json(), signature: 'f'.repeat(64) });
    return { status: res.statusCode, json: async () => JSON.parse(body) };
  };
  vm.runInNewContext(FORM_SCRIPT, {
    document: { getElementById: (id: string) => nodes[id] },
    fetch,
    crypto: globalThis.crypto,
    TextEncoder,
    btoa: (s: string) => Buffer.from(s, 'latin1').toString('base64'),
    Array,
    String,
    Uint8Array,
    JSON,
  });
  return { els, form, nodes, calls, submit: () => onSubmit!({ preventDefault() {} }) };
}

const RU = {
  name: 'Сергеев Олег Zzform',
  dob: '1979-09-09',
  citizenship: 'RU',
  type: 'DETENTION',
  country: 'KG',
  city: 'Бишкек',
  when: '2026-11-27',
  description: 'Задержан по запросу МВД, в СИЗО',
  reporterName: 'Ольга',
  contact: 'Telegram @olga_example',
  consent: 'yes',
};

describe("the form's script", () => {
  it('fill in Russian, submit, see the receipt; the report arrives as typed', async () => {
    const p = page('ru', RU);
    await p.submit();
    expect(p.nodes.status.textContent).toBe(MESSAGES.ru.sent);
    expect(p.nodes.receipt.textContent).toMatch(/^R-/);
    expect(p.nodes.done.hidden).toBe(false);
    expect(p.form.hidden).toBe(true);
    const [row] = await env.sql<{ id: string; content_enc: string; language: string }>(
      'SELECT id, content_enc, language FROM intake_submissions WHERE receipt = $1',
      [p.nodes.receipt.textContent],
    );
    expect(row.language).toBe('ru');
    expect(JSON.parse(env.app.crypto.decrypt(row.content_enc, contentRef(row.id)))).toEqual({
      subject: { name: RU.name, dateOfBirth: RU.dob, citizenship: ['RU'] },
      event: { type: 'DETENTION', country: 'KG', city: RU.city, occurredOn: RU.when, description: RU.description },
      reporter: { name: RU.reporterName, contact: RU.contact },
      consent: true,
    });
  });

  it('a failing challenge is retried once, then the person is asked to press Send again: nothing typed is lost', async () => {
    const before = (await env.sql<{ n: number }>('SELECT count(*)::int AS n FROM intake_submissions'))[0].n;
    const p = page('en', RU, true);
    await p.submit();
    expect(p.nodes.status.textContent).toBe(MESSAGES.en.retry);
    expect(p.calls.filter((c) => c.endsWith('/challenge'))).toHaveLength(2);
    expect(p.form.hidden).toBe(false);
    for (const [k, v] of Object.entries(RU)) if (k !== 'consent') expect(p.els[k].value).toBe(v);
    expect((await env.sql<{ n: number }>('SELECT count(*)::int AS n FROM intake_submissions'))[0].n).toBe(before);
  });

  it('marks the field the server names and keeps the rest', async () => {
    const p = page('ru', { ...RU, contact: '' });
    await p.submit();
    expect(p.nodes.status.textContent).toBe(MESSAGES.ru.invalid);
    expect(p.els.contact.attrs['aria-invalid']).toBe('true');
    expect(p.els.name.value).toBe(RU.name);
  });
});
