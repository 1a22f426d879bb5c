// Where the archive key comes from. A passphrase is never a command-line flag
// (it would sit in the shell history and in `ps` for every user to read):
// BACKUP_PASSPHRASE or standard input. A recipient (age public key) may be a
// flag: it is public, and lets an unattended machine back up without holding
// anything that could decrypt.
import { readFile } from 'node:fs/promises';
import { readSecretLine } from '../read-secret-line.ts';
import type { BackupKey } from './age-stream.ts';

const list = (s: string | undefined) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export async function backupKey(env: NodeJS.ProcessEnv, recipientFlags: string[]): Promise<BackupKey> {
  const recipients = [...recipientFlags, ...list(env.BACKUP_RECIPIENT)];
  if (recipients.length) return { recipients };
  if (env.BACKUP_PASSPHRASE) return { passphrase: env.BACKUP_PASSPHRASE };
  return { passphrase: await readSecretLine('backup passphrase') };
}

/** age identities (AGE-SECRET-KEY-1…) in a file, one a line, comments allowed. */
export async function identitiesFrom(file: string): Promise<string[]> {
  const ids = (await readFile(file, 'utf8'))
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('AGE-SECRET-KEY-'));
  if (!ids.length) throw new Error(`${file} holds no age identity (AGE-SECRET-KEY-1…)`);
  return ids;
}

export async function restoreKey(env: NodeJS.ProcessEnv, identityFile: string | undefined): Promise<BackupKey> {
  const file = identityFile ?? env.BACKUP_IDENTITY_FILE;
  if (file) return { identities: await identitiesFrom(file) };
  if (env.BACKUP_PASSPHRASE) return { passphrase: env.BACKUP_PASSPHRASE };
  return { passphrase: await readSecretLine('backup passphrase') };
}
