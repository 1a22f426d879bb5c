// The statistics table as CSV (RFC 4180, src/lib/csv.ts): one record per cell
// and per total, a dimension summed over reads ALL. The metadata travels in
// the x-stats-metadata header; with ?metadata=inline it is also written as
// leading `# key: value` comment lines before the header row, so a saved file
// keeps its k, suppression counts and noise description. Readers that do not
// skip comments (pandas: comment='#'; R: comment.char='#') see them as rows.
import { Readable } from 'node:stream';
import { csvStream, type CsvValue } from '../../lib/csv.ts';
import type { StatsCellDto, StatsEventsResponse } from './stats.schemas.ts';

const oneLine = (v: unknown) => String(v).replace(/[\r\n]+/g, ' ');

/** Flattened metadata (dotted keys, lists comma-joined, null as "null"), one `# key: value` line each. */
export function metadataComments(metadata: Record<string, unknown>): string {
  const lines: string[] = [];
  const walk = (prefix: string, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const entries = Object.entries(v);
      if (!entries.length) lines.push(`# ${prefix}: (none)`);
      for (const [k, inner] of entries) walk(prefix ? `${prefix}.${k}` : k, inner);
      return;
    }
    const value = Array.isArray(v) ? v.map(oneLine).join(',') : v === null ? 'null' : oneLine(v);
    lines.push(`# ${prefix}: ${value}`);
  };
  walk('', metadata);
  return lines.map((l) => `${l}\r\n`).join('');
}

export function statsCsv(table: StatsEventsResponse, inlineMetadata: boolean): Readable {
  const header = [...table.groupBy, 'events', 'cases', 'suppressed', 'suppression', 'row'];
  const record = (c: StatsCellDto, row: 'cell' | 'total'): CsvValue[] => [
    ...table.groupBy.map((d) => c[d] ?? 'ALL'),
    c.events,
    c.cases,
    c.suppressed,
    c.suppression ?? '',
    row,
  ];
  function* rows() {
    for (const c of table.cells) yield record(c, 'cell');
    for (const c of table.totals) yield record(c, 'total');
    yield record(table.total, 'total');
  }
  const body = csvStream(header, rows());
  if (!inlineMetadata) return body;
  const comments = metadataComments(table.metadata);
  return Readable.from(
    (async function* () {
      yield comments;
      for await (const chunk of body) yield chunk as string;
    })(),
    { objectMode: false, encoding: 'utf8' },
  );
}
