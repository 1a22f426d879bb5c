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
