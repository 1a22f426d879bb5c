// CSV as RFC 4180 describes it (CRLF line ends, fields with a comma, quote or
// line break quoted, quotes doubled), UTF-8, with a header row, and safe to
// open in a spreadsheet: a text cell that starts with = + - @ TAB or CR would
// be read as a formula (CSV injection, OWASP), so it gets a leading single
// quote. Numbers are written as numbers and never prefixed.
import { Readable } from 'node:stream';

export type CsvValue = string | number | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return '';
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  let s = value;
  if (FORMULA_START.test(s)) s = `'${s}`;
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One record, CRLF-terminated. */
export function csvRow(values: readonly CsvValue[]): string {
  return values.map(csvCell).join(',') + '\r\n';
}

/**
 * A readable CSV stream: the header, then one record per row. Rows are pulled
 * only as fast as the consumer reads (Readable.from honours backpressure), and
 * records are batched into chunks of about `chunkBytes` to keep syscalls few.
 */
export function csvStream(
  header: readonly string[],
  rows: AsyncIterable<readonly CsvValue[]> | Iterable<readonly CsvValue[]>,
  chunkBytes = 64 * 1024,
): Readable {
  async function* generate() {
    let buf = csvRow(header);
    for await (const row of rows) {
      buf += csvRow(row);
      if (buf.length >= chunkBytes) {
        yield buf;
        buf = '';
      }
    }
    if (buf) yield buf;
  }
  return Readable.from(generate(), { objectMode: false, encoding: 'utf8' });
}
