// Scheduled backups' files: backup-<UTC timestamp>.age in BACKUP_DIR, and
// pruning to the BACKUP_KEEP newest good ones. "Ours" is a name of exactly this
// pattern; "good" is ours and starting with the age header (writeBackup renames
// a file to its name only once complete, so a crash leaves only a hidden
// .partial). Anything else in the folder — the operator's own copies, other
// tools' files, a damaged archive — is never counted and never deleted.
import { open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

const NAME = /^backup-(\d{8}T\d{6}\.\d{3}Z)\.age$/;
const AGE_HEADER = Buffer.from('age-encryption.org/v1\n');

/** backup-20261128T020000.000Z.age: sorts by name in time order. */
export function backupFileName(at: Date): string {
  const iso = at.toISOString(); // 2026-11-28T02:00:00.000Z
  return `backup-${iso.replace(/[-:]/g, '')}.age`;
}

async function startsWithAgeHeader(file: string): Promise<boolean> {
  const fh = await open(file, 'r').catch(() => null);
  if (!fh) return false;
  try {
    const buf = Buffer.alloc(AGE_HEADER.length);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return bytesRead === buf.length && buf.equals(AGE_HEADER);
  } finally {
    await fh.close();
  }
}

/** Our good backups in `dir`, newest first. */
export async function listGoodBackups(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const ours = entries
    .filter((e) => e.isFile() && NAME.test(e.name))
    .map((e) => e.name)
    .sort()
    .reverse();
  const good: string[] = [];
  for (const name of ours) if (await startsWithAgeHeader(path.join(dir, name))) good.push(name);
  return good;
}

/** Deletes our good backups beyond the `keep` newest (keep >= 1: the newest is never deleted); returns their names. */
export async function pruneBackups(dir: string, keep: number): Promise<string[]> {
  const good = await listGoodBackups(dir);
  const doomed = good.slice(Math.max(1, keep));
  for (const name of doomed) await rm(path.join(dir, name), { force: true });
  return doomed;
}
