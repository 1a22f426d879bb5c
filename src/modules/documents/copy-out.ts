// A binary `COPY (SELECT idx, body …) TO STDOUT` read straight from node-pg's
// own message parser, as a query object of its own (node-pg's "submittable").
// Profiled (bench/documents.bench.ts --profile): garbage collection was the
// largest share of a download's CPU, set off by fresh 64 KiB buffers — the
// socket's, the COPY stream's joins of messages and rows, then the plaintext.
// Here each CopyData message is parsed where the protocol parser left it (a
// view into its reused buffer) and each body copied once into one of a few
// recycled slots, so a download allocates its socket reads and its plaintext
// only.
// The socket is paused while rows wait for the consumer (backpressure).
import type { StoredChunk } from './document-store.ts';
import { COPY_SIGNATURE } from './chunk-copy.ts';
import { CHUNK_SIZE, TAG_BYTES } from './document-crypto.ts';

type Connection = { query(text: string): void; stream: { pause(): void; resume(): void } };

/** Rows queued before the socket is paused (about 1 MiB of 64 KiB chunks). */
const HIGH_WATER = 16;
const HEAD_BYTES = COPY_SIGNATURE.length + 8; // signature, flags, header-extension length
const TUPLE_HEAD = 14; // int16 fields, int32 4, int32 idx, int32 body length

const malformed = () => new Error('unexpected COPY output');

/**
 * The rows of a binary COPY of (idx int4, body bytea), in order. With `recycle`,
 * a row's body is valid only until the next row is asked for (its slot is then
 * reused); without, every body is a buffer of its own.
 */
export class CopyOutRows {
  private connection: Connection | null = null;
  private readonly queue: { idx: number; body: Buffer; slot: Buffer | null }[] = [];
  private readonly free: Buffer[] = [];
  private paused = false;
  private ended = false;
  private failed: Error | null = null;
  private wake: (() => void) | null = null;
  // Parser state: the fixed-size parts (file header, tuple head) gather in `scratch`.
  private readonly scratch = Buffer.alloc(HEAD_BYTES);
  private need = HEAD_BYTES;
  private have = 0;
  private state: 'header' | 'extension' | 'tuple' | 'body' | 'trailer' = 'header';
  private skip = 0;
  private row: { idx: number; body: Buffer; slot: Buffer | null; filled: number } | null = null;

  constructor(
    readonly text: string,
    private readonly recycle: boolean,
  ) {}

  /** Called by node-pg when the query's turn comes. */
  submit(connection: Connection) {
    this.connection = connection;
    connection.query(this.text);
  }

  /** node-pg replaces this when query_timeout is configured. */
  callback() {}

  handleCopyData(msg: { chunk: Buffer }) {
    if (this.failed) return;
    try {
      this.parse(msg.chunk);
    } catch (e) {
      this.fail(e as Error);
    }
  }

  handleCommandComplete() {}

  handleReadyForQuery() {
    if (!this.failed && this.state !== 'trailer') this.failed = malformed();
    this.ended = true;
    this.notify();
  }

  handleError(err: Error) {
    this.fail(err);
    this.ended = true;
    this.notify();
  }

  // Anything else is not what a COPY TO answers.
  handleRowDescription() {
    this.fail(malformed());
  }
  handleDataRow() {
    this.fail(malformed());
  }
  handleEmptyQuery() {
    this.fail(malformed());
  }
  handlePortalSuspended() {
    this.fail(malformed());
  }
  handleCopyInResponse() {
    this.fail(malformed());
  }

  /** The consumer went away: rows still arriving are dropped, and the socket flows again so it can close. */
  stop() {
    this.fail(new Error('COPY abandoned'));
    if (this.paused) {
      this.paused = false;
      this.connection?.stream.resume();
    }
  }

  private fail(e: Error) {
    this.failed ??= e;
    this.queue.length = 0;
    this.notify();
  }

  private notify() {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private parse(data: Buffer) {
    let at = 0;
    while (at < data.length) {
      if (this.state === 'body') {
        const row = this.row!;
        const n = Math.min(row.body.length - row.filled, data.length - at);
        data.copy(row.body, row.filled, at, at + n);
        row.filled += n;
        at += n;
        if (row.filled === row.body.length) this.finishRow();
        continue;
      }
      if (this.state === 'extension') {
        const n = Math.min(this.skip, data.length - at);
        this.skip -= n;
        at += n;
        if (!this.skip) this.startTuple();
        continue;
      }
      if (this.state === 'trailer') throw malformed();
      const n = Math.min(this.need - this.have, data.length - at);
      data.copy(this.scratch, this.have, at, at + n);
      this.have += n;
      at += n;
      if (this.have === this.need) this.parsed();
    }
  }

  private startTuple() {
    this.state = 'tuple';
    this.need = 2;
    this.have = 0;
  }

  /** A fixed-size part is complete in `scratch`. */
  private parsed() {
    const s = this.scratch;
    if (this.state === 'header') {
      if (!s.subarray(0, COPY_SIGNATURE.length).equals(COPY_SIGNATURE)) throw malformed();
      this.skip = s.readInt32BE(COPY_SIGNATURE.length + 4);
      if (this.skip < 0) throw malformed();
      this.state = 'extension';
      if (!this.skip) this.startTuple();
      return;
    }
    // state 'tuple': first its field count, then the rest of its head.
    if (this.need === 2) {
      const fields = s.readInt16BE(0);
      if (fields === -1) {
        this.state = 'trailer';
        return;
      }
      if (fields !== 2) throw malformed();
      this.need = TUPLE_HEAD;
      return;
    }
    if (s.readInt32BE(2) !== 4) throw malformed();
    const idx = s.readInt32BE(6);
    const length = s.readInt32BE(10);
    if (length < 0) throw malformed();
    let slot: Buffer | null = null;
    if (this.recycle) {
      slot = this.free.pop() ?? null;
      if (!slot || slot.length < length) slot = Buffer.allocUnsafeSlow(Math.max(length, CHUNK_SIZE + TAG_BYTES));
    }
    this.row = { idx, body: slot ? slot.subarray(0, length) : Buffer.allocUnsafe(length), slot, filled: 0 };
    this.state = 'body';
    if (!length) this.finishRow();
  }

  private finishRow() {
    const { idx, body, slot } = this.row!;
    this.row = null;
    this.queue.push({ idx, body, slot });
    this.startTuple();
    if (this.queue.length >= HIGH_WATER && !this.paused && this.connection) {
      this.paused = true;
      this.connection.stream.pause();
    }
    this.notify();
  }

  /**
   * The rows as they arrive; ends once the COPY has completed and the connection is ready again. A consumer
   * that stops early (or a failure) drops the rest of the COPY as it arrives.
   */
  async *rows(): AsyncGenerator<StoredChunk> {
    let held: Buffer | null = null;
    let complete = false;
    try {
      for (;;) {
        if (held) this.free.push(held);
        held = null;
        if (this.failed) throw this.failed;
        const next = this.queue.shift();
        if (next) {
          if (this.paused && this.queue.length < HIGH_WATER / 2) {
            this.paused = false;
            this.connection?.stream.resume();
          }
          held = next.slot;
          yield { idx: next.idx, body: next.body };
          continue;
        }
        if (this.ended) {
          complete = true;
          return;
        }
        await new Promise<void>((r) => (this.wake = r));
      }
    } finally {
      if (!complete) this.stop();
    }
  }
}
