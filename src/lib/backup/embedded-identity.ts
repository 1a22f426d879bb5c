// Embedded mode's key for scheduled backups, when BACKUP_RECIPIENT is not set.
// An age X25519 key pair is generated once, beside secrets.json: the public
// half (the recipient) in backup-recipient.txt, which is all the server needs
// to encrypt; the secret half (the identity) in backup-identity.txt (0600),
// which only a restore needs. The two are separate files so that the operator
// can move the identity off the machine and the schedule keeps working: once
// it is gone, nothing on the server decrypts a backup (no passphrase is ever
// held). The worker warns at every start while the identity is still here.
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { identitiesFrom } from './key-source.ts';

export const IDENTITY_FILE = 'backup-identity.txt';
export const RECIPIENT_FILE = 'backup-recipient.txt';

export type EmbeddedBackupKey = { recipient: string; identityFile: string; created: boolean };

export function embeddedIdentityFile(dataDir: string): string {
  return path.join(dataDir, IDENTITY_FILE);
}

async function readRecipient(file: string): Promise<string | null> {
  const line = (await readFile(file, 'utf8')).split(/\r?\n/).find((l) => /^age1[0-9a-z]+$/.test(l.trim()));
  return line?.trim() ?? null;
}

/** The recipient scheduled backups are encrypted to; the key pair is made on first use. */
export async function embeddedBackupRecipient(dataDir: string): Promise<EmbeddedBackupKey> {
  const identityFile = embeddedIdentityFile(dataDir);
  const recipientFile = path.join(dataDir, RECIPIENT_FILE);
  if (existsSync(recipientFile)) {
    const recipient = await readRecipient(recipientFile);
    if (!recipient) {
      throw new Error(`${recipientFile} holds no age recipient (age1…): delete it or set BACKUP_RECIPIENT`);
    }
    return { recipient, identityFile, created: false };
  }
  let created = false;
  if (!existsSync(identityFile)) {
    const identity = await generateIdentity();
    const recipient = await identityToRecipient(identity);
    const note =
      `# age identity of this server's scheduled backups; recipient: ${recipient}\n` +
      '# copy this file OFF the machine (it alone decrypts the backups), then delete it here\n';
    try {
      await writeFile(identityFile, `${note}${identity}\n`, { mode: 0o600, flag: 'wx' });
      created = true;
    } catch (e) {
      // Another process made it first: use theirs.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  const [identity] = await identitiesFrom(identityFile);
  const recipient = await identityToRecipient(identity);
  const tmp = `${recipientFile}.${process.pid}.tmp`;
  await writeFile(tmp, `# public: scheduled backups are encrypted to this age recipient\n${recipient}\n`, {
    mode: 0o644,
  });
  await rename(tmp, recipientFile);
  return { recipient, identityFile, created };
}
