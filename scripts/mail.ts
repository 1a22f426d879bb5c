// `npm run mail`: the local mailbox of a machine without SMTP_URL (MAIL_DIR,
// embedded mode: .data/mail): newest first, one line per message.
// `npm run mail -- --show 1` prints the newest message whole.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DATA_DIR } from '../src/lib/paths.ts';

const dir = process.env.MAIL_DIR ?? path.join(DATA_DIR, 'mail');
if (!existsSync(dir)) {
  console.log(`no local mailbox yet (${dir}): mail is written there when SMTP_URL is not set`);
  process.exit(0);
}
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.eml'))
  .sort()
  .reverse();
const header = (raw: string, name: string) =>
  new RegExp(`^${name}: (.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(raw)?.[1]?.replace(/\r?\n[ \t]+/g, ' ') ?? '';
const show = process.argv.indexOf('--show');
if (show >= 0) {
  const n = Number(process.argv[show + 1] ?? '1');
  const file = files[n - 1];
  if (!file) {
    console.error(`no message ${n} (${files.length} in ${dir})`);
    process.exit(1);
  }
  console.log(readFileSync(path.join(dir, file), 'utf8'));
  process.exit(0);
}
console.log(`${files.length} message(s) in ${dir}, newest first (--show N prints one):`);
files.forEach((f, i) => {
  const raw = readFileSync(path.join(dir, f), 'utf8');
  console.log(
    `${String(i + 1).padStart(4)}  ${header(raw, 'Date').padEnd(31)}  ${header(raw, 'To').padEnd(36)}  ${header(raw, 'Subject')}`,
  );
});
