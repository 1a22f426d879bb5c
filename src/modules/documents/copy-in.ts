// A binary `COPY … FROM STDIN` written straight to node-pg's socket, as a
// query object of its own (node-pg's "submittable"). Profiled
// (bench/documents.bench.ts --profile): with a COPY stream that frames every
// write as its own CopyData message and socket write, the ~8 small socket
// writes per 64 KiB chunk were one of an upload's largest costs (about an
// eighth of its main thread). Here each row is one CopyData message sent with
// one vectored write: its small header, then the caller's buffers as they are
// (no copy).
import { COPY_HEADER, COPY_TRAILER } from './chunk-copy.ts';

/** Bytes queued for the socket before a row waits for it to drain (backpressure). */
const IN_FLIGHT = 256 * 1024;

type Socket = {
  readonly writableLength: number;
  cork(): void;
  uncork(): void;
  write(b: Buffer): boolean;
  once(event: 'drain' | 'close', f: () => void): void;
  removeListener(event: 'drain' | 'close', f: () => void): void;
};
type Connection = { query(text: string): void; stream: Socket };

const message = (code: string, body: Buffer) => {
  const m = Buffer.allocUnsafe(5 + body.length);
  m[0] = code.charCodeAt(0);
  m.writeInt32BE(4 + body.length, 1);
  body.copy(m, 5);
  return m;
};
const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);

export class CopyIn {
  private connection: Connection | null = null;
  private failure: Error | null = null;
  private started!: () => void;
  private finished!: (e?: Error) => void;
  /** Resolves once PostgreSQL is ready for data (rejects if the COPY failed before). */
  readonly ready: Promise<void>;
  /** Resolves once the COPY has completed (or failed) and the connection is ready for the next query. */
  readonly done: Promise<void>;
  private sentHeader = false;
  private ended = false;

  constructor(readonly text: string) {
    this.done = new Promise((resolve, reject) => (this.finished = (e) => (e ? reject(e) : resolve())));
    this.ready = new Promise((resolve, reject) => {
      this.started = resolve;
      this.done.catch(reject);
    });
    this.done.catch(() => {});
    this.ready.catch(() => {});
  }

  submit(connection: Connection) {
    this.connection = connection;
    connection.query(this.text);
  }

  /** node-pg replaces this when query_timeout is configured. */
  callback() {}

  handleCopyInResponse() {
    this.started();
  }
  handleCommandComplete() {}
  handleReadyForQuery() {
    this.finished(this.failure ?? undefined);
  }
  handleError(err: Error) {
    this.failure ??= err;
    // node-pg has let go of this query: no ReadyForQuery will reach it.
    this.finished(this.failure);
  }
  // Anything else is not what a COPY FROM answers.
  handleRowDescription() {
    this.failure ??= new Error('unexpected answer to COPY');
  }
  handleDataRow() {}
  handleEmptyQuery() {}
  handlePortalSuspended() {}
  handleCopyData() {}

  /**
   * Sends one row (`head` then `pieces`, `length` bytes in all) as one CopyData message, in one vectored
   * write. Resolves once the socket can take more.
   */
  async row(head: Buffer, pieces: readonly Buffer[], length: number): Promise<void> {
    await this.ready;
    if (this.failure) throw this.failure;
    if (this.ended) throw new Error('COPY already ended');
    const sock = this.connection!.stream;
    const first = this.sentHeader ? 0 : COPY_HEADER.length;
    const frame = Buffer.allocUnsafe(5 + first + head.length);
    frame[0] = 0x64; // CopyData
    frame.writeInt32BE(4 + first + length, 1);
    if (first) COPY_HEADER.copy(frame, 5);
    head.copy(frame, 5 + first);
    this.sentHeader = true;
    sock.cork();
    sock.write(frame);
    for (const p of pieces) if (p.length) sock.write(p);
    sock.uncork();
    // Up to IN_FLIGHT bytes may wait in the socket's queue while the next rows are sealed.
    if (sock.writableLength > IN_FLIGHT) await this.drained(sock);
  }

  private drained(sock: Socket) {
    return new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        sock.removeListener('close', onClose);
        resolve();
      };
      const stop = (e: Error) => {
        sock.removeListener('drain', onDrain);
        sock.removeListener('close', onClose);
        reject(e);
      };
      const onClose = () => stop(new Error('connection closed during COPY'));
      sock.once('drain', onDrain);
      sock.once('close', onClose);
      // A failure meanwhile (the database refused a row) also ends the wait, with its error.
      this.done.then(undefined, (e: Error) => stop(e));
    });
  }

  /** Sends the trailer and CopyDone; resolves once PostgreSQL has committed the COPY to the transaction. */
  async end(): Promise<void> {
    await this.ready;
    if (this.failure) throw this.failure;
    this.ended = true;
    const sock = this.connection!.stream;
    const trailer = this.sentHeader ? COPY_TRAILER : Buffer.concat([COPY_HEADER, COPY_TRAILER]);
    sock.cork();
    sock.write(message('d', trailer));
    sock.write(COPY_DONE);
    sock.uncork();
    await this.done;
  }

  /** Abandons the COPY (CopyFail): PostgreSQL answers with an error and the connection is ready again. */
  async fail(reason: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    // Not yet in copy mode: CopyFail is sent once it is (or not at all if the COPY failed to start).
    const started = await this.ready.then(
      () => true,
      () => false,
    );
    if (started && !this.failure) this.connection!.stream.write(message('f', Buffer.from(`${reason}\0`)));
    await this.done.catch(() => {});
  }
}
