// What an upload may be, decided from its bytes, and what it gives away.
//
// The type comes from magic bytes (file-type), never from the file name or the
// client's Content-Type: an executable renamed ".pdf" is refused (415). The
// size is counted while the bytes stream in (413 past DOCUMENT_MAX_BYTES), so
// an oversized upload is cut off, not buffered.
//
// Metadata: JPEG, PNG and WebP are re-encoded by sharp, which writes no EXIF,
// XMP, IPTC or ICC data (GPS position, device serials, timestamps are dropped);
// the EXIF orientation is applied to the pixels first so photos stay upright.
// PDFs are rewritten without their information dictionary and XMP streams
// (./pdf-metadata.ts; read whole, like images); encrypted, signed or
// unparsable ones are stored as uploaded and the metadata keys found in clear
// are reported by name (never by value). HEIC cannot be decoded by this sharp
// build (no HEVC decoder), so it is stored unchanged and reported; so are
// DOCX and ODT (document properties not inspected).
import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import { AppError } from '../../lib/app-error.ts';
import { CHUNK_SIZE } from './document-crypto.ts';
import { textChecker } from './text-check.ts';

/** Bytes read before deciding the type: enough for a ZIP container's first entries (DOCX, ODT). */
const SNIFF_BYTES = 64 * 1024;

const ALLOWED: Record<string, { mediaType: string; reencode?: 'jpeg' | 'png' | 'webp' }> = {
  pdf: { mediaType: 'application/pdf' },
  jpg: { mediaType: 'image/jpeg', reencode: 'jpeg' },
  png: { mediaType: 'image/png', reencode: 'png' },
  webp: { mediaType: 'image/webp', reencode: 'webp' },
  heic: { mediaType: 'image/heic' },
  docx: { mediaType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' },
  odt: { mediaType: 'application/vnd.oasis.opendocument.text' },
};
export const TEXT_MEDIA_TYPE = 'text/plain; charset=utf-8';
export const ALLOWED_MEDIA_TYPES = [...Object.values(ALLOWED).map((a) => a.mediaType), TEXT_MEDIA_TYPE];

// Keys of a PDF's document information dictionary, and the XMP packet.
const PDF_KEYS = ['Author', 'Creator', 'Producer', 'CreationDate', 'ModDate', 'Title', 'Subject', 'Keywords'];
const PDF_PATTERN = new RegExp(`/(${PDF_KEYS.join('|')})\\b|(<x:xmpmeta)|/Type\\s*/(Metadata)\\b`, 'g');

export type ContentReport = {
  mediaType: string;
  originalSha256: string;
  originalSize: number;
  metadataStripped: boolean;
  metadataFindings: string[];
};

export type InspectedContent = {
  mediaType: string;
  /** The bytes to store (re-encoded for images). */
  body: AsyncIterable<Buffer>;
  /** The body is the upload byte for byte (its SHA-256 is the original's). */
  unchanged: boolean;
  /** Complete once body has been read to its end. */
  report: () => ContentReport;
};

async function* counted(src: AsyncIterable<Buffer>, maxBytes: number, hash: Hash, state: { size: number }) {
  for await (const chunk of src) {
    state.size += chunk.length;
    if (state.size > maxBytes) {
      throw new AppError('PAYLOAD_TOO_LARGE', `file: larger than the limit of ${maxBytes} bytes`, {
        errors: [{ path: 'file', message: `must be at most ${maxBytes} bytes` }],
      });
    }
    hash.update(chunk);
    yield chunk;
  }
}

const refuse = (what: string) =>
  new AppError('UNSUPPORTED_MEDIA_TYPE', `file: ${what} is not allowed (PDF, JPEG, PNG, HEIC, WebP, DOCX, ODT, TXT)`, {
    errors: [{ path: 'file', message: `type ${what} not allowed` }],
  });

function pdfScanner(found: Set<string>) {
  let tail = '';
  return (chunk: Buffer) => {
    // latin1 maps bytes 1:1; 40 bytes of overlap catch a key split across chunks.
    const text = tail + chunk.toString('latin1');
    for (const m of text.matchAll(PDF_PATTERN)) found.add(`pdf:${m[1] ?? 'XMP'}`);
    tail = text.slice(-40);
  };
}

/**
 * Decides the type from the first bytes (415 when not allowed), counts the
 * size as it streams (413), hashes the original, and returns the body to
 * store: re-encoded without metadata for images, checked or scanned otherwise.
 */
export async function inspectContent(src: AsyncIterable<Buffer>, maxBytes: number): Promise<InspectedContent> {
  const hash = createHash('sha256');
  const state = { size: 0 };
  const it = counted(src, maxBytes, hash, state)[Symbol.asyncIterator]();
  const headParts: Buffer[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < SNIFF_BYTES) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    headParts.push(r.value);
    headLength += r.value.length;
  }
  const head = Buffer.concat(headParts);
  if (!head.length) throw new AppError('VALIDATION', 'file: empty', { errors: [{ path: 'file', message: 'empty' }] });
  async function* original() {
    yield head;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }

  const detected = await fileTypeFromBuffer(head);
  const allowed = detected ? ALLOWED[detected.ext] : undefined;
  if (detected && !allowed) throw refuse(detected.mime);
  const findings = new Set<string>();
  let stripped = false;
  let mediaType: string;
  let body: AsyncIterable<Buffer>;
  let unchanged = false;

  if (!allowed) {
    const check = textChecker(() => refuse('binary data'));
    check(head, ended);
    mediaType = TEXT_MEDIA_TYPE;
    unchanged = true;
    body = (async function* () {
      for await (const chunk of original()) {
        if (chunk !== head) check(chunk, false);
        yield chunk;
      }
      check(Buffer.alloc(0), true);
    })();
  } else if (allowed.reencode) {
    mediaType = allowed.mediaType;
    stripped = true;
    const input = Readable.from(original());
    const format = allowed.reencode;
    // sharp (libvips, ~25 MB resident) and pdf-lib are loaded on the first image or PDF, not at start.
    const { default: sharp } = await import('sharp');
    const encoder = sharp({ failOn: 'error', limitInputPixels: 50_000_000 })
      .rotate()
      .toFormat(format, format === 'png' ? {} : { quality: 92 });
    input.on('error', (e) => encoder.destroy(e));
    body = (async function* () {
      try {
        for await (const chunk of input.pipe(encoder)) yield chunk as Buffer;
      } catch (e) {
        if (e instanceof AppError) throw e;
        throw new AppError('UNPROCESSABLE', `file: the ${format} image could not be decoded`, {
          errors: [{ path: 'file', message: 'image could not be decoded' }],
        });
      }
    })();
  } else if (detected?.ext === 'pdf') {
    mediaType = allowed.mediaType;
    const scan = pdfScanner(findings);
    body = (async function* () {
      const parts: Buffer[] = [];
      for await (const chunk of original()) {
        scan(chunk);
        parts.push(chunk);
      }
      const { stripPdfMetadata } = await import('./pdf-metadata.ts');
      const result = await stripPdfMetadata(Buffer.concat(parts));
      parts.length = 0;
      stripped = result.stripped;
      if (stripped) findings.clear();
      for (const f of result.findings) findings.add(f);
      // In chunk-sized pieces: the sealer then never copies the whole file again.
      for (let at = 0; at < result.bytes.length; at += CHUNK_SIZE) yield result.bytes.subarray(at, at + CHUNK_SIZE);
    })();
  } else {
    mediaType = allowed.mediaType;
    if (detected?.ext === 'heic') findings.add('heic:not-re-encoded');
    if (detected?.ext === 'docx' || detected?.ext === 'odt') findings.add('office:properties-not-inspected');
    body = original();
    unchanged = true;
  }
  return {
    mediaType,
    body,
    unchanged,
    report: () => ({
      mediaType,
      originalSha256: hash.copy().digest('hex'),
      originalSize: state.size,
      metadataStripped: stripped,
      metadataFindings: [...findings].sort(),
    }),
  };
}
