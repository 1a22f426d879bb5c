// Micro-batching: many concurrent callers each ask for one item; the batcher
// gathers the requests that arrive within one turn of the event loop (or up
// to maxWaitMs, or until maxSize) and answers them all with one call of
// `run`. Used by reminder delivery so that a hundred deliveries in flight cost
// one claim statement and one "sent" statement instead of two hundred
// round trips and commits. Each caller still gets its own answer (or the
// batch's error), so the per-item semantics of the callers do not change.

export type BatchRun<I, O> = (items: I[]) => Promise<O[]>;

export class Batcher<I, O> {
  private pending: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private scheduled = false;
  /** Batches run and items answered so far (for the worker's shutdown log). */
  readonly stats = { batches: 0, items: 0 };

  constructor(
    private readonly run: BatchRun<I, O>,
    private readonly opts: { maxSize: number; maxWaitMs: number },
  ) {
    if (opts.maxSize < 1) throw new Error('maxSize must be at least 1');
  }

  /** Resolves with the output at the same position as this item in its batch. */
  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.opts.maxSize) this.flush();
      else this.schedule();
    });
  }

  private schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    // maxWaitMs 0: the batch closes once the callers of this event-loop turn
    // have submitted (setImmediate runs after the pending I/O callbacks).
    if (this.opts.maxWaitMs <= 0) setImmediate(() => this.flush());
    else this.timer = setTimeout(() => this.flush(), this.opts.maxWaitMs);
  }

  private flush() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.scheduled = false;
    if (!this.pending.length) return;
    const batch = this.pending;
    this.pending = [];
    this.stats.batches++;
    this.stats.items += batch.length;
    // Promise.resolve().then: a run that throws synchronously rejects this batch like any failure.
    void Promise.resolve()
      .then(() => this.run(batch.map((b) => b.item)))
      .then(
        (out) => {
          if (out.length !== batch.length) {
            const err = new Error(`batch answered ${out.length} results for ${batch.length} items`);
            for (const b of batch) b.reject(err);
            return;
          }
          batch.forEach((b, i) => b.resolve(out[i]));
        },
        (err) => {
          for (const b of batch) b.reject(err);
        },
      );
  }
}
