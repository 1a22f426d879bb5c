// The public intake form in a real headless Chromium (Debian's `chromium`
// driven by playwright-core) against the app listening on 127.0.0.1: fill it
// in Russian, press Send — the page's own script solves the proof of work —
// and see the receipt; a challenge the server refuses (expired on arrival,
// twice) leaves everything typed in place, and Send then works. The page in a
// second language, under its strict CSP (no violation reported). One
// screenshot of the receipt is written to a temporary directory, and one of
// the empty form per language to test-results/intake-screenshots/ (git-ignored
// test artifacts, not kept in the repository). Skipped, with the reason printed, when no Chromium is
// installed (.ci/run installs it where it can).
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LANGUAGE_NAMES, MESSAGES } from '../src/modules/intake/intake-i18n.ts';
import type { IntakeLanguageCode } from '../src/modules/intake/intake.schemas.ts';
import { IntakeService } from '../src/modules/intake/intake.service.ts';
import { countRows, setupTestEnv, uniq, type TestEnv } from './helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present) {
  console.warn(`SKIPPED test/intake-browser.test.ts: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let env: TestEnv;
let base: string;
let browser: Browser;
let skewMs = 0;

describe.skipIf(!present)('intake form in headless Chromium', () => {
  beforeAll(async () => {
    env = await setupTestEnv({ clock: () => new Date(Date.now() + skewMs) });
    base = await env.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await env?.close();
  });

  /** A fresh page that records Content-Security-Policy violations. */
  async function open(lang: string): Promise<{ page: Page; cspErrors: string[] }> {
    const page = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    const cspErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    const res = await page.goto(`${base}/intake?lang=${lang}`);
    expect(res?.status()).toBe(200);
    return { page, cspErrors };
  }

  const typed = {
    name: `Смирнов Алексей ${uniq()}`,
    dob: '1985-07-14',
    city: 'Бишкек',
    when: '2026-11-25',
    description: 'Задержан на границе по запросу через Интерпол, держат в СИЗО',
    reporterName: 'Ольга',
    contact: 'Signal +996 555 000 111',
  };

  async function fillInRussian(page: Page) {
    await page.fill('#f-name', typed.name);
    await page.fill('#f-dob', typed.dob);
    await page.selectOption('#f-citizenship', 'RU');
    await page.selectOption('#f-type', 'DETENTION');
    await page.selectOption('#f-country', 'KG');
    await page.fill('#f-city', typed.city);
    await page.fill('#f-when', typed.when);
    await page.fill('#f-description', typed.description);
    await page.fill('#f-reporterName', typed.reporterName);
    await page.fill('#f-contact', typed.contact);
    await page.check('#f-consent');
  }

  it('a challenge the server refuses keeps everything typed; Send again gives the receipt', async () => {
    const { page, cspErrors } = await open('ru');
    expect(await page.getAttribute('html', 'lang')).toBe('ru');
    expect(await page.textContent('h1')).toBe(MESSAGES.ru.title);
    // Readable on a phone: nothing wider than the screen (no sideways scrolling).
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await fillInRussian(page);
    const before = await countRows(env, 'intake_submissions');

    // Server side: each challenge is issued now and has expired by the time its solution arrives.
    let challenges = 0;
    await page.route('**/v1/intake/challenge', async (route) => {
      challenges++;
      skewMs = 0;
      await route.continue();
    });
    await page.route('**/v1/intake', async (route) => {
      skewMs = 21 * 60_000;
      await route.continue();
    });
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('#status'), { timeout: 30_000 }).toBe(MESSAGES.ru.retry);
    // The script fetched a new challenge once by itself, then stopped and asked to press Send again.
    expect(challenges).toBe(2);
    expect(await countRows(env, 'intake_submissions')).toBe(before);
    expect(await page.isHidden('#intake')).toBe(false);
    expect(await page.inputValue('#f-name')).toBe(typed.name);
    expect(await page.inputValue('#f-description')).toBe(typed.description);
    expect(await page.inputValue('#f-contact')).toBe(typed.contact);
    expect(await page.inputValue('#f-country')).toBe('KG');
    expect(await page.isChecked('#f-consent')).toBe(true);
    expect(await page.isEnabled('button[type=submit]')).toBe(true);

    // The server is right again: Send once more.
    await page.unrouteAll({ behavior: 'wait' });
    skewMs = 0;
    await page.click('button[type=submit]');
    await page.waitForSelector('#done:not([hidden])', { timeout: 30_000 });
    const receipt = (await page.textContent('#receipt'))!;
    expect(receipt).toMatch(/^R-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    expect(await page.textContent('#status')).toBe(MESSAGES.ru.sent);
    expect(await page.isHidden('#intake')).toBe(true);
    expect(cspErrors).toEqual([]);

    // What the browser sent is what was stored (encrypted), as the relative typed it.
    const rows = await env.sql<{ id: string; content_enc: string; country: string; language: string }>(
      'SELECT id, content_enc, country, language FROM intake_submissions WHERE receipt = $1',
      [receipt],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ country: 'KG', language: 'ru' });
    const content = new IntakeService(env.app).decryptContent({ id: rows[0].id, contentEnc: rows[0].content_enc });
    expect(content).toMatchObject({
      subject: { name: typed.name, dateOfBirth: typed.dob, citizenship: ['RU'] },
      event: { type: 'DETENTION', country: 'KG', city: typed.city, occurredOn: typed.when },
      reporter: { name: typed.reporterName, contact: typed.contact },
      consent: true,
    });
    expect(content!.event.description).toBe(typed.description);

    // One screenshot of the receipt on a phone-sized screen, as a test artifact.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'intake-browser-'));
    const file = path.join(dir, 'intake-ru-receipt.png');
    await page.screenshot({ path: file, fullPage: true });
    const png = readFileSync(file);
    expect(png.length).toBeGreaterThan(1000);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    console.log(`intake screenshot: ${file}`);
    await page.context().close();
  }, 90_000);

  it('renders in Kazakh under the strict CSP; the script runs and names the missing fields', async () => {
    const { page, cspErrors } = await open('kk');
    expect(await page.getAttribute('html', 'lang')).toBe('kk');
    expect(await page.textContent('h1')).toBe(MESSAGES.kk.title);
    expect(await page.textContent('button[type=submit]')).toBe(MESSAGES.kk.send);
    // The inline script runs (its hash is in the CSP): an empty form comes back with the fields marked, in Kazakh.
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('#status'), { timeout: 30_000 }).toBe(MESSAGES.kk.invalid);
    expect(await page.getAttribute('#f-name', 'aria-invalid')).toBe('true');
    expect(cspErrors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('one screenshot per language, each page under the strict CSP (test-results/intake-screenshots/)', async () => {
    const dir = path.resolve('test-results', 'intake-screenshots');
    mkdirSync(dir, { recursive: true });
    const langs = Object.keys(LANGUAGE_NAMES) as IntakeLanguageCode[];
    expect(langs).toHaveLength(8);
    // One page for all languages (fast): navigating reloads the document, its CSP and its script.
    const { page, cspErrors } = await open(langs[0]);
    for (const lang of langs) {
      const res = await page.goto(`${base}/intake?lang=${lang}`);
      expect(res?.status()).toBe(200);
      expect(await page.getAttribute('html', 'lang')).toBe(lang);
      expect(await page.textContent('h1')).toBe(MESSAGES[lang].title);
      expect(await page.textContent('button[type=submit]')).toBe(MESSAGES[lang].send);
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      const file = path.join(dir, `intake-${lang}.png`);
      await page.screenshot({ path: file, fullPage: true });
      const png = readFileSync(file);
      expect(png.length, file).toBeGreaterThan(1000);
      expect(png.subarray(0, 8).equals(PNG_SIGNATURE), file).toBe(true);
    }
    expect(cspErrors).toEqual([]);
    console.log(`intake screenshots (${langs.join(', ')}): ${dir}`);
    await page.context().close();
  }, 60_000);
});
