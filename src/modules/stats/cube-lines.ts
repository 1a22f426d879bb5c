// The entries of a statistics cube (cells and margins) and its lines: for
// each axis, the entries that share every other coordinate — the sums a
// reader can write down (used by suppression and by protection intervals).

export type Suppression = 'primary' | 'secondary';
export type WorkEntry = {
  values: (string | null)[];
  events: number;
  cases: number;
  status: Suppression | null;
};

export type Line = { axis: number; total: WorkEntry | undefined; parts: WorkEntry[] };

export const keyOf = (values: (string | null)[]) => JSON.stringify(values);

/** Lines of a cube: for axis d, entries grouped by their values with position d blanked. */
export function linesOf(entries: WorkEntry[], dims: number): Line[] {
  const lines: Line[] = [];
  for (let d = 0; d < dims; d++) {
    const byLine = new Map<string, WorkEntry[]>();
    for (const e of entries) {
      const lineKey = keyOf(e.values.map((v, i) => (i === d ? '\u0000' : v)));
      let line = byLine.get(lineKey);
      if (!line) byLine.set(lineKey, (line = []));
      line.push(e);
    }
    for (const line of byLine.values()) {
      if (line.length < 2) continue;
      lines.push({
        axis: d,
        total: line.find((e) => e.values[d] === null),
        parts: line.filter((e) => e.values[d] !== null),
      });
    }
  }
  return lines;
}

/** Smallest first: fewest events, then cases, a cell before a total, then a stable key. */
export function cheaper(a: WorkEntry, b: WorkEntry): number {
  const margins = (e: WorkEntry) => e.values.filter((v) => v === null).length;
  return (
    a.events - b.events || a.cases - b.cases || margins(a) - margins(b) || (keyOf(a.values) < keyOf(b.values) ? -1 : 1)
  );
}

/** The two-per-line rule of disclosure.ts, again, after complements were added; returns how many it withheld. */
export function closeLinesAgain(lines: readonly Line[]): number {
  let added = 0;
  for (let changed = true; changed;) {
    changed = false;
    for (const line of lines) {
      const all = [...line.parts, ...(line.total ? [line.total] : [])];
      if (all.filter((e) => e.status).length !== 1) continue;
      const next = all.filter((e) => !e.status && e.cases > 0).sort(cheaper)[0];
      if (!next) continue;
      next.status = 'secondary';
      added++;
      changed = true;
    }
  }
  return added;
}
