// Files of every allowed type, built here (no binary fixtures in the
// repository), and a multipart body builder for app.inject.
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import type { TestEnv, Client } from './helpers.ts';

/** A small PDF whose information dictionary names an author and producer. */
export function pdfBytes(extra = ''): Buffer {
  return Buffer.from(
    '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n' +
      '2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n' +
      '3 0 obj << /Author (Investigator Name) /Producer (Scanner 9000) /CreationDate (D:20260101) >> endobj\n' +
      `${extra}\ntrailer << /Root 1 0 R /Info 3 0 R >>\n%%EOF\n`,
  );
}

/** A ZIP with stored (uncompressed) entries, in the given order. */
export function zipBytes(entries: [string, string | Buffer][]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of entries) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const nameBuf = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, data);
    centrals.push(central, nameBuf);
    offset += 30 + nameBuf.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export const docxBytes = () =>
  zipBytes([
    [
      '[Content_Types].xml',
      '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    ],
    ['word/document.xml', '<w:document/>'],
  ]);

export const odtBytes = () =>
  zipBytes([
    ['mimetype', 'application/vnd.oasis.opendocument.text'],
    ['content.xml', '<office:document-content/>'],
  ]);

/** An ISO-BMFF "ftyp heic" header followed by filler: what file-type recognises as HEIC. */
export function heicBytes(): Buffer {
  const ftyp = Buffer.alloc(24);
  ftyp.writeUInt32BE(24, 0);
  ftyp.write('ftypheic', 4, 'latin1');
  ftyp.writeUInt32BE(0, 12);
  ftyp.write('mif1heic', 16, 'latin1');
  return Buffer.concat([ftyp, randomBytes(2000)]);
}

/** A JPEG carrying EXIF with a GPS position, a camera make and a serial number. */
export async function jpegWithGps(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 30 } } })
    .jpeg()
    .withExif({
      IFD0: { Make: 'SpyCam', Model: 'Model X', Copyright: 'Owner Name' },
      IFD2: { BodySerialNumber: 'SERIAL-12345', DateTimeOriginal: '2026:01:02 03:04:05' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '41/1 42/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '44/1 47/1 0/1' },
    })
    .toBuffer();
}

export const pngBytes = () =>
  sharp({ create: { width: 32, height: 32, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 1 } } })
    .png()
    .withExif({ IFD0: { Make: 'SpyCam' } })
    .toBuffer();

export const webpBytes = () =>
  sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 0, g: 255, b: 0 } } })
    .webp()
    .withExif({ IFD0: { Make: 'SpyCam' } })
    .toBuffer();

export const textBytes = (n = 5000) =>
  Buffer.from(`Решение суда № 1-23/2026. Ruling of the court.\n${'строка text line\n'.repeat(Math.ceil(n / 20))}`);

/** A minimal ELF header: what an executable renamed ".pdf" starts with. */
export const elfBytes = () => Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), randomBytes(4000)]);

export type Field = [string, string];

/** multipart/form-data: the fields first, then the file (or no file). */
export function multipart(fields: Field[], file: Buffer | null, filename = 'upload.bin') {
  const boundary = `----docs${randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  if (file) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      ),
      file,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

export function upload(
  env: TestEnv,
  c: Client,
  caseId: string,
  file: Buffer | null,
  fields: Field[] = [['kind', 'OTHER']],
) {
  const { payload, contentType } = multipart(fields, file);
  return env.app.inject({
    method: 'POST',
    url: `/v1/cases/${caseId}/documents`,
    payload,
    headers: { authorization: `Bearer ${c.token}`, 'content-type': contentType },
  });
}

export function download(env: TestEnv, c: Client, id: string, range?: string) {
  return env.app.inject({
    method: 'GET',
    url: `/v1/documents/${id}/content`,
    headers: { authorization: `Bearer ${c.token}`, ...(range ? { range } : {}) },
  });
}
