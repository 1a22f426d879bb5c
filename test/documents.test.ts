// Case documents: round trip of every allowed type, ranges, metadata
// stripping, need-to-know (404 for other teams, unassigned lawyers and
// coordinators), lists, deletion by crypto-shredding and the audit trail.
import { createHash, randomUUID } from 'node:crypto';
import { PDFDocument, PDFName, StandardFonts } from 'pdf-lib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientFor,
  countRows,
  createCase,
  createTeam,
  eventBody,
  expectProblem,
  setupTestEnv,
  type Client,
  type TestEnv,
} from './helpers.ts';
import {
  docxBytes,
  download,
  elfBytes,
  heicBytes,
  jpegWithGps,
  multipart,
  odtBytes,
  pdfBytes,
  pngBytes,
  textBytes,
  upload,
  webpBytes,
  zipBytes,
} from './documents-fixtures.ts';
import { textChecker } from '../src/modules/documents/text-check.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Two pages of text, an information dictionary naming its author and tools, and an XMP packet. */
async function pdfWithMetadata(): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  pdf.setAuthor('Investigator Name');
  pdf.setProducer('Scanner 9000');
  pdf.setCreator('Pages Writer');
  pdf.setTitle('Decision');
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  pdf.addPage().drawText('Decision of the court, page 1', { font, x: 50, y: 700 });
  pdf.addPage([400, 600]).drawText('page 2', { font, x: 50, y: 500 });
  const xmp = pdf.context.stream(
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>Investigator Name</dc:creator></x:xmpmeta>',
    {
      Type: 'Metadata',
      Subtype: 'XML',
    },
  );
  pdf.catalog.set(PDFName.of('Metadata'), pdf.context.register(xmp));
  return Buffer.from(await pdf.save({ useObjectStreams: false }));
}

let env: TestEnv;
let team: string;
let cw: Client;
let caseId: string;
beforeAll(async () => {
  env = await setupTestEnv();
  team = await createTeam(env, ['AM']);
  cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
  caseId = (await createCase(cw, team)).caseId;
});
afterAll(async () => env?.close());

async function auditOf(documentId: string) {
  return env.sql<{ action: string; changes: Record<string, unknown>; actor_id: string }>(
    `SELECT action, changes, actor_id FROM audit_entries WHERE entity_id = $1 ORDER BY id`,
    [documentId],
  );
}

describe('round trip', () => {
  const unchanged: [string, () => Buffer, string][] = [
    ['DOCX', docxBytes, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
    ['ODT', odtBytes, 'application/vnd.oasis.opendocument.text'],
    ['HEIC', heicBytes, 'image/heic'],
    ['TXT', () => textBytes(200_000), 'text/plain; charset=utf-8'],
  ];
  it.each(unchanged)('%s comes back byte for byte, with its hashes', async (_name, make, mediaType) => {
    const file = make();
    const res = await upload(env, cw, caseId, file, [
      ['kind', 'COURT_DECISION'],
      ['title', 'Ruling'],
    ]);
    expect(res.statusCode, res.body).toBe(201);
    const doc = res.json();
    expect(doc).toMatchObject({
      caseId,
      kind: 'COURT_DECISION',
      mediaType,
      size: file.length,
      metadataStripped: false,
    });
    expect(doc.sha256).toBe(sha256(file));
    expect(doc.originalSha256).toBe(sha256(file));
    expect(doc.suggestions).toEqual([]);
    const got = await download(env, cw, doc.id);
    expect(got.statusCode).toBe(200);
    expect(got.rawPayload.equals(file)).toBe(true);
    expect(got.headers['content-type']).toBe(mediaType);
    expect(got.headers['content-disposition']).toMatch(
      new RegExp(`^attachment; filename="document-${doc.id}\\.[a-z]+"$`),
    );
    expect(got.headers['x-content-type-options']).toBe('nosniff');
    expect(got.headers['content-security-policy']).toContain("default-src 'none'");
    expect(got.headers['content-security-policy']).toContain('sandbox');
    expect(got.headers['accept-ranges']).toBe('bytes');
  });

  it('removes PDF metadata (info dictionary, XMP) and keeps the pages; names what went, never values', async () => {
    const file = await pdfWithMetadata();
    expect(file.includes('Investigator Name')).toBe(true);
    const res = await upload(env, cw, caseId, file, [['kind', 'COURT_DECISION']]);
    expect(res.statusCode, res.body).toBe(201);
    const doc = res.json();
    expect(doc).toMatchObject({ mediaType: 'application/pdf', metadataStripped: true, originalSha256: sha256(file) });
    expect(doc.metadataFindings).toEqual(
      expect.arrayContaining(['pdf:Author', 'pdf:CreationDate', 'pdf:Creator', 'pdf:Producer', 'pdf:XMP']),
    );
    expect(res.body).not.toContain('Investigator Name');
    const got = (await download(env, cw, doc.id)).rawPayload;
    expect(sha256(got)).toBe(doc.sha256);
    for (const value of ['Investigator Name', 'Scanner 9000', 'Pages Writer', 'xmpmeta', '/Author', '/Producer']) {
      expect(got.toString('latin1')).not.toContain(value);
    }
    const back = await PDFDocument.load(got, { updateMetadata: false });
    expect([back.getAuthor(), back.getProducer(), back.getCreator(), back.getCreationDate()]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(back.catalog.get(PDFName.of('Metadata'))).toBeUndefined();
    expect(back.getPageCount()).toBe(2);
    const original = await PDFDocument.load(file, { updateMetadata: false });
    expect(back.getPage(1).getSize()).toEqual(original.getPage(1).getSize());
  });

  it('stores encrypted, signed or unparsable PDFs unchanged, saying so and naming the keys seen', async () => {
    const cases: [Buffer, string][] = [
      [
        Buffer.from(
          pdfBytes('4 0 obj << /Filter /Standard /V 1 /R 2 >> endobj')
            .toString('latin1')
            .replace('/Info 3 0 R', '/Info 3 0 R /Encrypt 4 0 R'),
          'latin1',
        ),
        'pdf:encrypted',
      ],
      [pdfBytes('4 0 obj << /Type /Sig /ByteRange [0 10 20 30] /Contents <00> >> endobj'), 'pdf:signed'],
      [Buffer.from('%PDF-1.4\n/Author (Investigator Name) broken beyond repair'), 'pdf:unparsable'],
    ];
    for (const [file, finding] of cases) {
      const res = await upload(env, cw, caseId, file);
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json()).toMatchObject({ metadataStripped: false, sha256: sha256(file) });
      expect(res.json().metadataFindings).toEqual(expect.arrayContaining([finding, 'pdf:Author']));
      expect(res.body).not.toContain('Investigator Name');
      expect((await download(env, cw, res.json().id)).rawPayload.equals(file)).toBe(true);
    }
  });

  it('re-encodes a JPEG with GPS EXIF without any EXIF, keeping both hashes', async () => {
    const jpeg = await jpegWithGps();
    const before = await sharp(jpeg).metadata();
    expect(before.exif?.toString('latin1')).toContain('SERIAL-12345');
    // The GPSInfo IFD pointer (tag 0x8825), in either byte order: the original does carry a position.
    const gpsTag = (b: Buffer) => b.includes(Buffer.from([0x88, 0x25])) || b.includes(Buffer.from([0x25, 0x88]));
    expect(gpsTag(before.exif!)).toBe(true);
    const res = await upload(env, cw, caseId, jpeg, [['kind', 'PHOTO']]);
    expect(res.statusCode, res.body).toBe(201);
    const doc = res.json();
    expect(doc).toMatchObject({ mediaType: 'image/jpeg', metadataStripped: true, originalSha256: sha256(jpeg) });
    const got = await download(env, cw, doc.id);
    expect(sha256(got.rawPayload)).toBe(doc.sha256);
    expect(doc.sha256).not.toBe(doc.originalSha256);
    const after = await sharp(got.rawPayload).metadata();
    expect(after.exif).toBeUndefined();
    expect(gpsTag(got.rawPayload)).toBe(false);
    expect(after.xmp).toBeUndefined();
    expect(after.format).toBe('jpeg');
    expect([after.width, after.height]).toEqual([64, 48]);
    for (const marker of ['SpyCam', 'SERIAL-12345', 'Owner Name', 'GPS']) {
      expect(got.rawPayload.toString('latin1')).not.toContain(marker);
    }
  });

  it.each([
    ['PNG', pngBytes, 'image/png', 'png'],
    ['WebP', webpBytes, 'image/webp', 'webp'],
  ] as const)('re-encodes a %s without its EXIF', async (_n, make, mediaType, format) => {
    const file = await make();
    expect((await sharp(file).metadata()).exif).toBeDefined();
    const res = await upload(env, cw, caseId, file, [['kind', 'PHOTO']]);
    expect(res.json()).toMatchObject({ mediaType, metadataStripped: true });
    const got = await download(env, cw, res.json().id);
    const meta = await sharp(got.rawPayload).metadata();
    expect(meta.format).toBe(format);
    expect(meta.exif).toBeUndefined();
    expect(sha256(got.rawPayload)).toBe(res.json().sha256);
  });
});

describe('ranges', () => {
  let id: string;
  let file: Buffer;
  beforeAll(async () => {
    file = textBytes(300_000);
    const res = await upload(env, cw, caseId, file);
    id = res.json().id;
  });

  it.each([
    ['bytes=0-0', 0, 0],
    ['bytes=65530-65545', 65530, 65545],
    ['bytes=65536-131072', 65536, 131072],
    ['bytes=1000-', 1000, -1],
    ['bytes=-10', -10, -1],
    ['bytes=5-999999999', 5, -1],
  ])('%s answers 206 with exactly those bytes', async (range, s, e) => {
    const start = s < 0 ? file.length + s : s;
    const end = e < 0 ? file.length - 1 : e;
    const res = await download(env, cw, id, range);
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${file.length}`);
    expect(res.rawPayload.equals(file.subarray(start, end + 1))).toBe(true);
  });

  it('416 past the end, with the size in Content-Range; several ranges get the whole file', async () => {
    const res = await download(env, cw, id, `bytes=${file.length}-`);
    expectProblem(res, 416, 'headers.range');
    expect(res.headers['content-range']).toBe(`bytes */${file.length}`);
    const multi = await download(env, cw, id, 'bytes=0-1,5-6');
    expect(multi.statusCode).toBe(200);
    expect(multi.rawPayload.equals(file)).toBe(true);
  });
});

describe('content safety and validation', () => {
  it('415 for an executable renamed .pdf, a plain ZIP and binary bytes; nothing stored', async () => {
    const before = await countRows(env, 'document_chunks');
    for (const bad of [
      elfBytes(),
      Buffer.concat([Buffer.from('MZ'), Buffer.alloc(3000, 1)]),
      zipBytes([['a.txt', 'x']]),
    ]) {
      expectProblem(await upload(env, cw, caseId, bad), 415, 'file');
    }
    expectProblem(await upload(env, cw, caseId, Buffer.from([0x41, 0x00, 0x42, 0x43])), 415, 'file');
    expect(await countRows(env, 'document_chunks')).toBe(before);
  });

  it('text is checked across piece boundaries: UTF-8 cut anywhere passes; broken sequences and controls do not', () => {
    const feed = (bytes: Buffer, a: number, b: number) => {
      const check = textChecker(() => new Error('refused'));
      check(bytes.subarray(0, a), false);
      check(bytes.subarray(a, b), false);
      check(bytes.subarray(b), true);
    };
    const good = Buffer.from('Решение 𝄞 № 1\tline\r\n\f€');
    for (let a = 0; a <= good.length; a++) for (let b = a; b <= good.length; b++) feed(good, a, b);
    const bad = [[0xd0], [0xd0, 0x41], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf0, 0x9d, 0x84], [0x0b], [0x7f], [0x00]];
    for (const b of bad) {
      const bytes = Buffer.concat([Buffer.from('ok й '), Buffer.from(b), Buffer.from(' ok')]);
      for (let a = 0; a <= bytes.length; a++) expect(() => feed(bytes, a, a), `${b} split at ${a}`).toThrow('refused');
    }
    // Every ASCII byte on its own: refused exactly when it is a control other than tab, LF, FF, CR, or DEL.
    for (let byte = 0; byte < 0x80; byte++) {
      const bytes = Buffer.from(`ok${String.fromCharCode(byte)}ok`, 'latin1');
      const refused = (byte < 0x20 && ![0x09, 0x0a, 0x0c, 0x0d].includes(byte)) || byte === 0x7f;
      if (refused) expect(() => feed(bytes, 1, 4), `byte ${byte}`).toThrow('refused');
      else expect(() => feed(bytes, 1, 4), `byte ${byte}`).not.toThrow();
    }
    // Deep inside long pieces, at every alignment.
    const long = Buffer.from('abc\tdé\n'.repeat(500));
    feed(long, 7, 1001);
    for (const at of [1001, 2002, 3003, 3004, long.length - 1]) {
      for (const byte of [0x00, 0x0b, 0x1f, 0x7f]) {
        const b = Buffer.from(long);
        b[at] = byte;
        expect(() => feed(b, 5, 6), `${byte} at ${at}`).toThrow('refused');
      }
    }
  });

  it("400 naming the field: no file, no or bad kind, another case's event, an unknown field", async () => {
    expectProblem(await upload(env, cw, caseId, null), 400, 'file');
    expectProblem(await upload(env, cw, caseId, textBytes(10), []), 400, 'body.kind');
    expectProblem(await upload(env, cw, caseId, textBytes(10), [['kind', 'SELFIE']]), 400, 'body.kind');
    const other = await createCase(cw, team);
    const ev = await cw.post(`/v1/cases/${other.caseId}/events`, eventBody());
    const res = await upload(env, cw, caseId, textBytes(10), [
      ['kind', 'DETENTION_ORDER'],
      ['eventId', ev.json().id],
    ]);
    expectProblem(res, 400, 'body.eventId');
    expectProblem(
      await upload(env, cw, caseId, textBytes(10), [
        ['kind', 'OTHER'],
        ['path', '../../etc'],
      ]),
      400,
    );
    const json = await cw.post(`/v1/cases/${caseId}/documents`, { kind: 'OTHER' });
    expectProblem(json, 415);
  });
});

describe('need-to-know', () => {
  let docId: string;
  let others: Record<string, Client>;
  beforeAll(async () => {
    const otherTeam = await createTeam(env, ['GE']);
    others = {
      'caseworker of another team': await clientFor(env, 'CASEWORKER', { teamIds: [otherTeam] }),
      'unassigned lawyer': await clientFor(env, 'LAWYER'),
      coordinator: await clientFor(env, 'COORDINATOR', { teamIds: [team] }),
    };
    docId = (await upload(env, cw, caseId, textBytes(100))).json().id;
  });

  it.each(['caseworker of another team', 'unassigned lawyer', 'coordinator'])(
    '%s gets 404 everywhere and changes nothing',
    async (who) => {
      const c = others[who];
      const chunks = await countRows(env, 'document_chunks');
      expectProblem(await upload(env, c, caseId, textBytes(10)), 404);
      expectProblem(await c.get(`/v1/cases/${caseId}/documents`), 404);
      expectProblem(await c.get(`/v1/documents/${docId}`), 404);
      expectProblem(await download(env, c, docId), 404);
      expectProblem(await c.del(`/v1/documents/${docId}`), 404);
      expect(await countRows(env, 'document_chunks')).toBe(chunks);
      expect((await auditOf(docId)).filter((a) => a.actor_id === c.userId)).toEqual([]);
    },
  );

  it('an assigned lawyer and an admin may read and upload; unassigned again, the lawyer gets 404', async () => {
    const lawyer = await clientFor(env, 'LAWYER');
    const a = await cw.post(`/v1/cases/${caseId}/assignments`, { lawyerId: lawyer.userId, role: 'LEAD' });
    expect(a.statusCode, a.body).toBe(201);
    expect((await download(env, lawyer, docId)).statusCode).toBe(200);
    expect((await upload(env, lawyer, caseId, textBytes(10))).statusCode).toBe(201);
    const admin = await clientFor(env, 'ADMIN');
    expect((await admin.get(`/v1/documents/${docId}`)).statusCode).toBe(200);
    await cw.del(`/v1/cases/${caseId}/assignments/${a.json().id}`);
    expectProblem(await download(env, lawyer, docId), 404);
  });

  it('404 for a document id that does not exist', async () => {
    expectProblem(await cw.get(`/v1/documents/${randomUUID()}`), 404);
  });
});

describe('lists, parallel uploads, deletion and custody', () => {
  it('parallel uploads to one case all land; the list pages through them by cursor and filters', async () => {
    const c = await createCase(cw, team);
    const ev = (await cw.post(`/v1/cases/${c.caseId}/events`, eventBody())).json().id as string;
    const files = Array.from({ length: 8 }, (_, i) => textBytes(70_000 + i));
    const results = await Promise.all(
      files.map((f, i) =>
        upload(env, cw, c.caseId, f, [
          ['kind', i % 2 ? 'DETENTION_ORDER' : 'OTHER'],
          ...(i < 3 ? [['eventId', ev] as [string, string]] : []),
        ]),
      ),
    );
    expect(results.map((r) => r.statusCode)).toEqual(Array(8).fill(201));
    for (const [i, r] of results.entries()) {
      expect((await download(env, cw, r.json().id)).rawPayload.equals(files[i])).toBe(true);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = (
        await cw.get(`/v1/cases/${c.caseId}/documents?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      seen.push(...page.items.map((d) => d.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual(results.map((r) => r.json().id).sort());
    expect((await cw.get(`/v1/cases/${c.caseId}/documents?kind=DETENTION_ORDER`)).json().items).toHaveLength(4);
    expect((await cw.get(`/v1/cases/${c.caseId}/documents?eventId=${ev}`)).json().items).toHaveLength(3);
    expectProblem(await cw.get(`/v1/cases/${c.caseId}/documents?cursor=nonsense`), 400, 'querystring.cursor');
  });

  it('delete destroys the data key, then the chunks; audit keeps upload, download and delete with the hash', async () => {
    const file = pdfBytes();
    const doc = (await upload(env, cw, caseId, file, [['kind', 'DETENTION_ORDER']])).json();
    await download(env, cw, doc.id);
    await download(env, cw, doc.id, 'bytes=0-9');
    const res = await cw.del(`/v1/documents/${doc.id}`);
    expect(res.statusCode).toBe(204);
    const [row] = await env.sql<{ wrapped_key: string | null; deleted_at: Date | null }>(
      'SELECT wrapped_key, deleted_at FROM documents WHERE id = $1',
      [doc.id],
    );
    expect(row.wrapped_key).toBeNull();
    expect(row.deleted_at).not.toBeNull();
    expect(await countRows(env, 'document_chunks', 'document_id = $1', [doc.id])).toBe(0);
    expectProblem(await cw.get(`/v1/documents/${doc.id}`), 404);
    expectProblem(await download(env, cw, doc.id), 404);
    expectProblem(await cw.del(`/v1/documents/${doc.id}`), 404);
    const audit = await auditOf(doc.id);
    expect(audit.map((a) => a.action)).toEqual([
      'document.upload',
      'document.download',
      'document.download',
      'document.delete',
    ]);
    for (const a of audit) expect(a.changes.sha256).toBe(doc.sha256);
    expect(audit[2].changes.range).toBe('0-9');
    expect(audit[0].changes.originalSha256).toBe(sha256(file));
  });

  it('a court decision or detention order attached to an event without servedOn suggests setting it', async () => {
    const c = await createCase(cw, team);
    const unserved = (
      await cw.post(`/v1/cases/${c.caseId}/events`, eventBody({ type: 'EXTRADITION_DECISION' }))
    ).json();
    const served = await cw.post(
      `/v1/cases/${c.caseId}/events`,
      eventBody({ type: 'EXTRADITION_DECISION', servedOn: '2026-03-02' }),
    );
    expect(served.statusCode, served.body).toBe(201);
    for (const kind of ['COURT_DECISION', 'DETENTION_ORDER']) {
      const res = await upload(env, cw, c.caseId, pdfBytes(), [
        ['kind', kind],
        ['eventId', unserved.id],
      ]);
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().suggestions).toEqual([
        expect.objectContaining({
          code: 'SET_SERVED_ON',
          field: 'servedOn',
          message: expect.stringContaining(unserved.id),
        }),
      ]);
    }
    const onServed = await upload(env, cw, c.caseId, pdfBytes(), [
      ['kind', 'COURT_DECISION'],
      ['eventId', served.json().id],
    ]);
    expect(onServed.json().suggestions).toEqual([]);
    const otherKind = await upload(env, cw, c.caseId, pdfBytes(), [
      ['kind', 'MEDICAL'],
      ['eventId', unserved.id],
    ]);
    expect(otherKind.json().suggestions).toEqual([]);
    const noEvent = await upload(env, cw, c.caseId, pdfBytes(), [['kind', 'COURT_DECISION']]);
    expect(noEvent.json().suggestions).toEqual([]);
  });

  it('filters by the date the document bears (documentFrom, documentTo), apart from the upload date', async () => {
    const c = await createCase(cw, team);
    const dated = async (documentDate?: string) =>
      (
        await upload(env, cw, c.caseId, textBytes(10), [
          ['kind', 'OTHER'],
          ...(documentDate ? [['documentDate', documentDate] as [string, string]] : []),
        ])
      ).json().id as string;
    const [jan, mar, may] = [await dated('2026-01-15'), await dated('2026-03-01'), await dated('2026-05-31')];
    await dated();
    const ids = async (query: string) =>
      ((await cw.get(`/v1/cases/${c.caseId}/documents?${query}`)).json().items as { id: string }[])
        .map((d) => d.id)
        .sort();
    expect(await ids('documentFrom=2026-03-01')).toEqual([mar, may].sort());
    expect(await ids('documentTo=2026-03-01')).toEqual([jan, mar].sort());
    expect(await ids('documentFrom=2026-02-01&documentTo=2026-05-30')).toEqual([mar]);
    expect(await ids('documentFrom=2026-06-01')).toEqual([]);
    expect(await ids('from=2026-01-01&documentTo=2026-01-31')).toEqual([jan]);
    expectProblem(
      await cw.get(`/v1/cases/${c.caseId}/documents?documentFrom=2026-13-01`),
      400,
      'querystring.documentFrom',
    );
  });

  it('searches titles literally, never bodies', async () => {
    const c = await createCase(cw, team);
    await upload(env, cw, c.caseId, Buffer.from('Extradition 100% confirmed'), [
      ['kind', 'OTHER'],
      ['title', 'Ruling of 100% court'],
    ]);
    await upload(env, cw, c.caseId, Buffer.from('nothing'), [
      ['kind', 'OTHER'],
      ['title', 'Ruling of 1000 days'],
    ]);
    const hits = async (q: string) =>
      (
        (await cw.get(`/v1/cases/${c.caseId}/documents?q=${encodeURIComponent(q)}`)).json().items as { title: string }[]
      ).map((d) => d.title);
    expect(await hits('ruling')).toHaveLength(2);
    expect(await hits('100%')).toEqual(['Ruling of 100% court']);
    expect(await hits('Extradition')).toEqual([]);
  });

  it('uploads are not idempotent: a key is ignored, so another file under the same key is never answered with the first', async () => {
    const c = await createCase(cw, team);
    const send = (bytes: Buffer) => {
      const { payload, contentType } = multipart([['kind', 'OTHER']], bytes);
      return env.app.inject({
        method: 'POST',
        url: `/v1/cases/${c.caseId}/documents`,
        payload,
        headers: {
          authorization: `Bearer ${cw.token}`,
          'content-type': contentType,
          'idempotency-key': `doc-${c.caseId}`,
        },
      });
    };
    const first = await send(textBytes(1000));
    const other = await send(textBytes(2000));
    expect(first.statusCode).toBe(201);
    expect(other.statusCode).toBe(201);
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(other.json().id).not.toBe(first.json().id);
    expect(other.json().size).not.toBe(first.json().size);
    expect(await countRows(env, 'documents', 'case_id = $1', [c.caseId])).toBe(2);
  });

  it('two parallel deletes: one 204, one 404, one audit entry', async () => {
    const doc = (await upload(env, cw, caseId, textBytes(100))).json();
    const codes = (await Promise.all([cw.del(`/v1/documents/${doc.id}`), cw.del(`/v1/documents/${doc.id}`)]))
      .map((r) => r.statusCode)
      .sort();
    expect(codes).toEqual([204, 404]);
    expect((await auditOf(doc.id)).filter((a) => a.action === 'document.delete')).toHaveLength(1);
  });

  it('the client file name is never used: a path in it changes nothing, the download name is generated', async () => {
    const { payload, contentType } = multipart(
      [['kind', 'OTHER']],
      textBytes(100),
      '../../../etc/passwd"\r\nX-Evil: 1',
    );
    const res = await env.app.inject({
      method: 'POST',
      url: `/v1/cases/${caseId}/documents`,
      payload,
      headers: { authorization: `Bearer ${cw.token}`, 'content-type': contentType },
    });
    expect(res.statusCode, res.body).toBe(201);
    const got = await download(env, cw, res.json().id);
    expect(got.headers['content-disposition']).toBe(`attachment; filename="document-${res.json().id}.txt"`);
    expect(got.headers['x-evil']).toBeUndefined();
  });

  it('the routes are in the OpenAPI document; HEAD on content is not served', async () => {
    const spec = (await env.app.inject({ method: 'GET', url: '/docs/json' })).json();
    for (const p of ['/v1/cases/{id}/documents', '/v1/documents/{id}', '/v1/documents/{id}/content']) {
      expect(Object.keys(spec.paths)).toContain(p);
    }
    const doc = (await upload(env, cw, caseId, textBytes(100))).json();
    const head = await env.app.inject({
      method: 'HEAD',
      url: `/v1/documents/${doc.id}/content`,
      headers: { authorization: `Bearer ${cw.token}` },
    });
    expect(head.statusCode).toBe(404);
    expect((await auditOf(doc.id)).map((a) => a.action)).toEqual(['document.upload']);
  });

  it('the case timeline lists documents (never to coordinators)', async () => {
    const c = await createCase(cw, team);
    const doc = (
      await upload(env, cw, c.caseId, textBytes(10), [
        ['kind', 'MEDICAL'],
        ['title', 'Injury report'],
      ])
    ).json();
    const items = (await cw.get(`/v1/cases/${c.caseId}/timeline`)).json().items as { kind: string; id: string }[];
    expect(items.find((i) => i.id === doc.id)).toMatchObject({ kind: 'document' });
    const coord = await clientFor(env, 'COORDINATOR');
    const seen = (await coord.get(`/v1/cases/${c.caseId}/timeline`)).json().items as { kind: string }[];
    expect(seen.some((i) => i.kind === 'document')).toBe(false);
  });
});
