// The S3-compatible document store: one object per document, its key the
// document id (never a file name), holding exactly the sealed chunks the
// PostgreSQL store keeps as rows — ciphertext only, server-side encryption is
// not relied on — followed by a trailer of every chunk's GCM tag:
//
//   chunk 0 ‖ chunk 1 ‖ … ‖ chunk n-1 ‖ tag 0 ‖ … ‖ tag n-1
//
// Every chunk but the last is CHUNK_SIZE + TAG_BYTES long, so chunk i starts
// at i × (CHUNK_SIZE + TAG_BYTES): a byte range of the document maps to one
// ranged GET of the chunks it needs, and the tags for the manifest check are
// one ranged GET of the trailer (whose position, from the row's size and
// chunk count, also proves the object has its full length).
//
// The bucket is outside the upload's transaction. Order: the object is
// written first (a single PUT, or a multipart upload of ~5 MiB parts for
// larger files), then the row commits; on rollback the object is deleted. A
// crash in between leaves an object no row points to, whose data key was never
// stored anywhere: ciphertext nobody can open, removed by sweepOrphans()
// (./s3-orphan-sweep.ts) once older than DOCUMENTS_S3_ORPHAN_MINUTES.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { FastifyBaseLogger } from 'fastify';
import type { AppConfig } from '../../config.ts';
import { CHUNK_SIZE, IntegrityError, TAG_BYTES } from './document-crypto.ts';
import {
  piecesOf,
  tailOf,
  type ChunkLayout,
  type ChunkWriter,
  type DocumentStore,
  type StoredChunk,
} from './document-store.ts';

const SEALED = CHUNK_SIZE + TAG_BYTES;
/** Chunks per multipart part: 80 × 65,552 bytes ≥ S3's 5 MiB minimum part size. */
const PART_CHUNKS = 80;

type S3Settings = NonNullable<AppConfig['documents']['s3']>;

export function s3Client(s3: S3Settings): S3Client {
  return new S3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: s3.forcePathStyle,
    credentials: s3.credentials,
    // Integrity comes from AES-GCM; CRC checksums by default are not spoken by every S3-compatible server.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

const isMissing = (e: unknown) => {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404;
};
const isBadRange = (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416;

/** Bytes of the sealed chunks (without the trailer). */
const bodyLength = (doc: ChunkLayout) => doc.size + doc.chunkCount * TAG_BYTES;

export class S3DocumentStore implements DocumentStore {
  readonly name = 's3';
  /** 4 MiB per ranged GET: a bucket's cost is per request more than per byte. */
  readonly readBatch = 64;

  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  writer(_tx: unknown, documentId: string): ChunkWriter {
    const { client, bucket } = this;
    const Key = documentId;
    const tags: Buffer[] = [];
    let pending: Buffer[] = [];
    let pendingChunks = 0;
    let uploadId: string | undefined;
    const parts: { PartNumber: number; ETag: string | undefined }[] = [];
    let inFlight: Promise<unknown> = Promise.resolve();
    let started = false;
    let completed = false;
    const sendPart = async (body: Buffer) => {
      const PartNumber = parts.length + 1;
      parts.push({ PartNumber, ETag: undefined });
      uploadId ??= (await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }))).UploadId;
      const res = await client.send(
        new UploadPartCommand({ Bucket: bucket, Key, UploadId: uploadId, PartNumber, Body: body }),
      );
      parts[PartNumber - 1].ETag = res.ETag;
    };
    return {
      put: async (_idx, body) => {
        tags.push(Buffer.from(tailOf(body, TAG_BYTES)));
        pending.push(...piecesOf(body));
        if (++pendingChunks < PART_CHUNKS) return;
        // One part in flight while the next is sealed: ~10 MiB per upload at most.
        await inFlight;
        const part = Buffer.concat(pending);
        pending = [];
        pendingChunks = 0;
        inFlight = sendPart(part);
        inFlight.catch(() => {});
      },
      flush: async () => {
        await inFlight;
        started = true;
        const last = Buffer.concat([...pending, ...tags]);
        pending = [];
        pendingChunks = 0;
        if (!parts.length) {
          await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: last, ContentLength: last.length }));
          return;
        }
        await sendPart(last);
        await client.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        );
        completed = true;
      },
      abort: async () => {
        await inFlight.catch(() => {});
        pending = [];
        pendingChunks = 0;
        if (uploadId && !completed) {
          // Parts of an unfinished multipart upload are not an object; a bucket lifecycle
          // rule (AbortIncompleteMultipartUpload) catches those this call cannot remove.
          await client
            .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId: uploadId }))
            .catch((e: unknown) => this.log.warn({ documentId, error: String(e) }, 'multipart upload not aborted'));
        }
        if (started) await this.discard(documentId);
      },
    };
  }

  private async getRange(key: string, from: number, to: number): Promise<{ bytes: Buffer; total: number | null }> {
    let res;
    try {
      res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${from}-${to}` }),
      );
    } catch (e) {
      if (isMissing(e)) throw new IntegrityError('object missing');
      if (isBadRange(e)) throw new IntegrityError('object too short');
      throw e;
    }
    const array = await res.Body!.transformToByteArray();
    const total = /\/(\d+)$/.exec(res.ContentRange ?? '')?.[1];
    return {
      bytes: Buffer.from(array.buffer, array.byteOffset, array.byteLength),
      total: total ? Number(total) : null,
    };
  }

  async tags(doc: ChunkLayout) {
    const start = bodyLength(doc);
    const want = doc.chunkCount * TAG_BYTES;
    const { bytes, total } = await this.getRange(doc.id, start, start + want - 1);
    // The trailer must end the object exactly where the row says: a truncated or extended object fails here.
    if (bytes.length !== want || (total !== null && total !== start + want)) {
      throw new IntegrityError('object length does not match');
    }
    return Array.from({ length: doc.chunkCount }, (_, idx) => ({
      idx,
      tag: bytes.subarray(idx * TAG_BYTES, (idx + 1) * TAG_BYTES),
    }));
  }

  async read(doc: ChunkLayout, from: number, to: number): Promise<StoredChunk[]> {
    const start = from * SEALED;
    const end = Math.min((to + 1) * SEALED, bodyLength(doc)) - 1;
    const { bytes } = await this.getRange(doc.id, start, end);
    const chunks: StoredChunk[] = [];
    // A short object yields a short chunk here, which then fails authentication.
    for (let idx = from, off = 0; idx <= to && off < bytes.length; idx++, off += SEALED) {
      chunks.push({ idx, body: bytes.subarray(off, Math.min(off + SEALED, bytes.length)) });
    }
    return chunks;
  }

  /** Nothing inside the transaction: the object goes once the key's destruction has committed. */
  async destroy() {}

  async discard(documentId: string) {
    await this.client
      .send(new DeleteObjectCommand({ Bucket: this.bucket, Key: documentId }))
      .catch((e: unknown) =>
        this.log.warn({ documentId, error: String(e) }, 'document object not deleted (the orphan sweep retries)'),
      );
  }
}
