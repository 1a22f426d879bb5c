// Plain text, checked as it streams without decoding it to strings: valid
// UTF-8 (node:buffer isUtf8, with a sequence cut between two pieces carried
// over) and no C0 control byte other than tab, line feed, form feed and
// carriage return, nor DEL. Bytes below 0x80 never occur inside a multi-byte
// UTF-8 sequence, so checking bytes is checking characters.
import { isUtf8 } from 'node:buffer';

/** The refused bytes: C0 controls but tab, line feed, form feed and carriage return; and DEL. */
const REFUSED_BYTES: readonly number[] = [
  ...Array.from({ length: 0x20 }, (_, b) => b).filter((b) => ![0x09, 0x0a, 0x0c, 0x0d].includes(b)),
  0x7f,
];

/**
 * Whether any byte is refused: one Buffer#indexOf (memchr, vectorised) per refused byte value. Profiled on a
 * 200 MB upload (bench/documents.bench.ts --profile): a JavaScript loop over the bytes, even four at a time,
 * was the upload's largest single cost (~13 % of its main thread); 29 native scans of a piece that stays in
 * the CPU's cache cost about half of that.
 */
function hasRefusedByte(p: Buffer): boolean {
  for (const b of REFUSED_BYTES) if (p.indexOf(b) !== -1) return true;
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
