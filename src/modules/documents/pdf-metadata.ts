// PDF metadata removal (pdf-lib): the document information dictionary
// (Author, Creator, Producer, Title, Subject, Keywords, CreationDate, ModDate,
// any other key), every XMP metadata stream (the catalog's and those of pages
// and images) and the trailer's file identifier are dropped, and the file is
// written again from its objects — which also drops earlier revisions kept by
// incremental updates, where old metadata would otherwise survive. Pages,
// their content streams, fonts and images are copied unchanged.
//
// Left as uploaded, with a finding saying why (the upload never fails):
//   pdf:encrypted   its objects cannot be rewritten without the password
//   pdf:signed      rewriting would break a digital signature, and with it
//                   the document's value as evidence
//   pdf:unparsable  pdf-lib cannot read it
// In those cases the caller also reports the metadata keys it saw in clear.
import { PDFArray, PDFDict, PDFDocument, PDFName, PDFRef, PDFStream } from 'pdf-lib';

export type PdfStripResult = { bytes: Buffer; stripped: boolean; findings: string[] };

/** Info keys reported by name; any other key (its name could itself carry data) as pdf:Info-other. */
const INFO_KEYS = new Set(['Title', 'Author', 'Subject', 'Keywords', 'Creator', 'Producer', 'CreationDate', 'ModDate']);
const METADATA = PDFName.of('Metadata');
const TYPE = PDFName.of('Type');

function isSigned(doc: PDFDocument): boolean {
  for (const [, obj] of doc.context.enumerateIndirectObjects()) {
    const dict = obj instanceof PDFStream ? obj.dict : obj;
    if (!(dict instanceof PDFDict)) continue;
    const type = dict.get(TYPE);
    if (type === PDFName.of('Sig') || type === PDFName.of('DocTimeStamp')) return true;
    if (dict.get(PDFName.of('ByteRange')) instanceof PDFArray && dict.has(PDFName.of('Contents'))) return true;
  }
  return false;
}

const unchanged = (bytes: Buffer, finding: string): PdfStripResult => ({
  bytes,
  stripped: false,
  findings: [finding],
});

export async function stripPdfMetadata(input: Buffer): Promise<PdfStripResult> {
  let doc: PDFDocument;
  try {
    // Strict: a damaged object is never silently dropped from the rewritten file.
    doc = await PDFDocument.load(input, { ignoreEncryption: true, updateMetadata: false, throwOnInvalidObject: true });
    // Without a catalog there is nothing to rewrite from (pdf-lib would write an empty file).
    if (!(doc.context.trailerInfo.Root instanceof PDFRef) || !doc.catalog.has(PDFName.of('Pages'))) throw new Error();
  } catch {
    return unchanged(input, 'pdf:unparsable');
  }
  if (doc.isEncrypted) return unchanged(input, 'pdf:encrypted');
  if (isSigned(doc)) return unchanged(input, 'pdf:signed');

  const ctx = doc.context;
  const findings = new Set<string>();
  const info = ctx.trailerInfo.Info;
  if (info) {
    const dict = info instanceof PDFRef ? ctx.lookup(info) : info;
    if (dict instanceof PDFDict) {
      for (const key of dict.keys()) {
        const name = key.decodeText();
        findings.add(INFO_KEYS.has(name) ? `pdf:${name}` : 'pdf:Info-other');
      }
    }
    if (info instanceof PDFRef) ctx.delete(info);
    ctx.trailerInfo.Info = undefined;
  }
  if (ctx.trailerInfo.ID) {
    findings.add('pdf:ID');
    ctx.trailerInfo.ID = undefined;
  }
  for (const [ref, obj] of ctx.enumerateIndirectObjects()) {
    if (obj instanceof PDFStream && obj.dict.get(TYPE) === METADATA) {
      ctx.delete(ref);
      findings.add('pdf:XMP');
    } else if (obj instanceof PDFDict && obj.has(METADATA)) {
      obj.delete(METADATA);
      findings.add('pdf:XMP');
    } else if (obj instanceof PDFStream && obj.dict.has(METADATA)) {
      obj.dict.delete(METADATA);
      findings.add('pdf:XMP');
    }
  }
  try {
    const out = await doc.save({ useObjectStreams: false, addDefaultPage: false, updateFieldAppearances: false });
    return { bytes: Buffer.from(out.buffer, out.byteOffset, out.byteLength), stripped: true, findings: [...findings] };
  } catch {
    return unchanged(input, 'pdf:unparsable');
  }
}
