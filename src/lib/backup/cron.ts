// BACKUP_CRON: the 5-field cron subset we accept (checked at start, so a typo
// stops the process instead of silently never backing up). BullMQ's job
// scheduler runs the pattern (cron-parser); this only validates it.
// Per field: `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, and
// comma-separated lists of those. No names (MON, JAN), no `?`, `L`, `W`, `#`,
// no seconds field. "off" (or empty) turns the schedule off.

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

/** The embedded-mode default: every day at 02:00 UTC. */
export const DEFAULT_BACKUP_CRON = '0 2 * * *';

/** True when the value means "no scheduled backups". */
export function cronIsOff(value: string | undefined): boolean {
  return value === undefined || value.trim() === '' || value.trim().toLowerCase() === 'off';
}

function partProblem(part: string, f: (typeof FIELDS)[number]): string | null {
  const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
  if (!m) return `"${part}" is not a number, a range a-b, * or a step /n`;
  const [, , a, b, step] = m;
  const nums = [a, b].filter((x) => x !== undefined).map(Number);
  if (nums.some((n) => n < f.min || n > f.max)) return `"${part}" is outside ${f.min}-${f.max}`;
  if (nums.length === 2 && nums[0] > nums[1]) return `"${part}" is a backwards range`;
  if (step !== undefined && (Number(step) < 1 || Number(step) > f.max)) return `"${part}" has a step out of range`;
  return null;
}

/** Null when `expr` is a cron expression of the supported subset, else what is wrong with it. */
export function cronProblem(expr: string): string | null {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) {
    return `needs 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}: e.g. "0 2 * * *"`;
  }
  for (let i = 0; i < 5; i++) {
    for (const part of fields[i].split(',')) {
      const p = partProblem(part, FIELDS[i]);
      if (p) return `${FIELDS[i].name}: ${p}`;
    }
  }
  return null;
}
