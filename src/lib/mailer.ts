// The mailer of reminders, digests, security notices and witness emails:
// SMTP when SMTP_URL is set; otherwise, when MAIL_DIR is set (embedded mode
// sets .data/mail), a local mailbox — each message written as an .eml file
// (mode 0600: it names people's deadlines) and listed by `npm run mail` — so a
// single-machine install sees its reminders without a mail server; otherwise
// none (deliveries then fail and are retried, as before).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { AppConfig } from '../config.ts';

export function createMailer(config: Pick<AppConfig, 'mail'>): Transporter | null {
  if (config.mail.smtpUrl) return nodemailer.createTransport(config.mail.smtpUrl);
  const dir = config.mail.dir;
  if (!dir) return null;
  return nodemailer.createTransport({
    name: 'local-mailbox',
    version: '1',
    send(mail, callback) {
      const chunks: Buffer[] = [];
      const stream = mail.message.createReadStream();
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err: Error) => callback(err, undefined));
      stream.on('end', () => {
        try {
          mkdirSync(dir, { recursive: true, mode: 0o700 });
          const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}.eml`;
          writeFileSync(path.join(dir, name), Buffer.concat(chunks), { mode: 0o600 });
          callback(null, { envelope: mail.message.getEnvelope(), messageId: mail.message.messageId() });
        } catch (err) {
          callback(err instanceof Error ? err : new Error(String(err)), undefined);
        }
      });
    },
  });
}
