// Without SMTP_URL, mail goes to a local mailbox (MAIL_DIR; embedded mode sets
// .data/mail) as .eml files that `npm run mail` lists (issue 12).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createMailer } from '../src/lib/mailer.ts';
import { PROJECT_ROOT } from '../src/lib/paths.ts';
import { testEnvVars } from './helpers.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'exile-mailbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('local mailbox', () => {
  it('writes each message as a private .eml file that npm run mail lists and shows', async () => {
    const config = loadConfig(testEnvVars('postgresql://x@127.0.0.1/x', { MAIL_DIR: dir }));
    const mailer = createMailer(config);
    expect(mailer).not.toBeNull();
    await mailer!.sendMail({
      from: config.mail.from,
      to: 'lawyer@example.org',
      subject: 'Deadline in 3 days',
      text: 'ARK-1',
    });
    const files = readdirSync(dir).filter((f) => f.endsWith('.eml'));
    expect(files).toHaveLength(1);
    expect(statSync(path.join(dir, files[0])).mode & 0o077).toBe(0);
    expect(readFileSync(path.join(dir, files[0]), 'utf8')).toMatch(/Subject: Deadline in 3 days/);
    const tsx = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');
    const list = spawnSync(tsx, ['scripts/mail.ts'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, MAIL_DIR: dir },
      encoding: 'utf8',
    });
    expect(list.stdout).toMatch(/1 message\(s\)[\s\S]*lawyer@example\.org\s+Deadline in 3 days/);
    const show = spawnSync(tsx, ['scripts/mail.ts', '--show', '1'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, MAIL_DIR: dir },
      encoding: 'utf8',
    });
    expect(show.stdout).toContain('ARK-1');
  });

  it('SMTP_URL wins; without either there is no mailer', () => {
    const smtp = loadConfig(
      testEnvVars('postgresql://x@127.0.0.1/x', { MAIL_DIR: dir, SMTP_URL: 'smtp://127.0.0.1:2525' }),
    );
    expect(smtp.mail.dir).toBeUndefined();
    expect(createMailer(loadConfig(testEnvVars('postgresql://x@127.0.0.1/x')))).toBeNull();
  });
});
