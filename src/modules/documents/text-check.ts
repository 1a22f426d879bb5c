// Plain text, checked as it streams without decoding it to strings: valid
// UTF-8 (node:buffer isUtf8, with a sequence cut between two pieces carried
// over) and no C0 control byte other than tab, line feed, form feed and
// carriage return, nor DEL. Bytes below 0x80 never occur inside a multi-byte
// UTF-8 sequence, so checking bytes is checking characters.
import { isUtf8 } from 'node:buffer';

const REFUSED = new Uint8Array(256);
for (let b = 0; b < 0x20; b++) REFUSED[b] = 1;
for (const ok of [0x09, 0x0a, 0x0c, 0x0d]) REFUSED[ok] = 0;
REFUSED[0x7f] = 1;

/**
 * Whether any byte is refused. Four bytes at a time: a word with no byte below
 * 0x20 and none equal to 0x7F (the two classic "has a byte less than n" bit
 * tests, exact about presence) is skipped; the rare others (a line feed, a
 * tab) are checked byte by byte. About 3× a plain byte loop.
 */
function hasRefusedByte(p: Buffer): boolean {
  const start = Math.min((4 - (p.byteOffset & 3)) & 3, p.length);
  const n = start < p.length ? (p.length - start) >> 2 : 0;
  for (let i = 0; i < start; i++) if (REFUSED[p[i]]) return true;
  const words = n ? new Uint32Array(p.buffer, p.byteOffset + start, n) : new Uint32Array(0);
  for (let i = 0; i < n; i++) {
    const x = words[i];
    const y = x ^ 0x7f7f7f7f;
    if (((x - 0x20202020) & ~x & 0x80808080) | ((y - 0x01010101) & ~y & 0x80808080)) {
      const o = start + i * 4;
      if (REFUSED[p[o]] | REFUSED[p[o + 1]] | REFUSED[p[o + 2]] | REFUSED[p[o + 3]]) return true;
    }
  }
  for (let i = start + n * 4; i < p.length; i++) if (REFUSED[p[i]]) return true;
  return false;
}

/** Length of the sequence a lead byte starts (1 for anything that is not a multi-byte lead). */
const sequenceLength = (b: number) => (b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1);

/** Returns check(piece, last), which throws refuse() at the first byte that is not plain text. */
export function textChecker(refuse: () => Error) {
  let tail: Buffer = Buffer.alloc(0);
  return (piece: Buffer, last: boolean) => {
    if (hasRefusedByte(piece)) throw refuse();
    let start = 0;
    if (tail.length) {
      const need = sequenceLength(tail[0]) - tail.length;
      if (need > piece.length) {
        tail = Buffer.concat([tail, piece]);
        if (last) throw refuse();
        return;
      }
      if (!isUtf8(Buffer.concat([tail, piece.subarray(0, need)]))) throw refuse();
      start = need;
    }
    // A sequence begun in the last three bytes and not finished waits for the next piece.
    let cut = piece.length;
    for (let i = piece.length - 1; i >= Math.max(start, piece.length - 3); i--) {
      if ((piece[i] & 0xc0) === 0x80) continue;
      if (piece[i] >= 0xc0 && i + sequenceLength(piece[i]) > piece.length) cut = i;
      break;
    }
    if (!isUtf8(piece.subarray(start, cut))) throw refuse();
    tail = Buffer.from(piece.subarray(cut));
    if (last && tail.length) throw refuse();
  };
}
