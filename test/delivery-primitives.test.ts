// The two pieces reminder delivery is built from, tested on their own:
// the micro-batcher that lets deliveries in flight share one statement, and
// the keep-alive webhook POST (real node:http servers on 127.0.0.1).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Batcher } from '../src/lib/batcher.ts';
import { postJson } from '../src/lib/http-post.ts';

describe('Batcher', () => {
  it('answers the callers of one event-loop turn with one run, each with its own result in order', async () => {
    const runs: number[][] = [];
    const b = new Batcher<number, number>(
      async (xs) => {
        runs.push(xs);
        return xs.map((x) => x * 10);
      },
      { maxSize: 100, maxWaitMs: 0 },
    );
    const out = await Promise.all([1, 2, 3, 4].map((x) => b.submit(x)));
    expect(out).toEqual([10, 20, 30, 40]);
    expect(runs).toEqual([[1, 2, 3, 4]]);
    // A later turn is a new batch.
    expect(await b.submit(5)).toBe(50);
    expect(runs).toHaveLength(2);
    expect(b.stats).toEqual({ batches: 2, items: 5 });
  });

  it('splits at maxSize and gathers across turns within maxWaitMs', async () => {
    const runs: number[][] = [];
    const b = new Batcher<number, number>(
      async (xs) => {
        runs.push(xs);
        return xs;
      },
      { maxSize: 3, maxWaitMs: 30 },
    );
    const first = [1, 2, 3, 4, 5].map((x) => b.submit(x));
    await new Promise((r) => setTimeout(r, 5));
    const later = b.submit(6);
    expect(await Promise.all([...first, later])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(runs).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });

  it('a failed run rejects every caller of that batch and no other; a short answer is an error, not a silent undefined', async () => {
    let fail = true;
    const b = new Batcher<number, number>(
      async (xs) => {
        if (fail) throw new Error('database went away');
        return xs.slice(1);
      },
      { maxSize: 10, maxWaitMs: 0 },
    );
    const failed = await Promise.allSettled([b.submit(1), b.submit(2)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((failed[0] as PromiseRejectedResult).reason.message).toBe('database went away');
    fail = false;
    const short = await Promise.allSettled([b.submit(3), b.submit(4)]);
    expect(short.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((short[0] as PromiseRejectedResult).reason.message).toMatch(/1 results for 2 items/);
    expect(() => new Batcher(async (x) => x, { maxSize: 0, maxWaitMs: 0 })).toThrow(/maxSize/);
    // A run that throws before returning a promise, on the maxSize path: every caller of the batch is answered.
    const sync = new Batcher<number, number>(
      () => {
        throw new Error('bad input');
      },
      { maxSize: 2, maxWaitMs: 1_000 },
    );
    const both = await Promise.allSettled([sync.submit(1), sync.submit(2)]);
    expect(both.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});

describe('postJson (webhook POST over kept-alive connections)', () => {
  let server: Server | null = null;
  afterEach(async () => {
    if (!server) return;
    server.closeAllConnections();
    await new Promise((r) => server!.close(r));
    server = null;
  });

  async function listen(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => handler(req, res, body));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  }

  it('sends the body and headers, answers the status, and reuses one connection for consecutive posts', async () => {
    const seen: { body: string; key: string | undefined; socket: Socket; length: string | undefined }[] = [];
    const base = await listen((req, res, body) => {
      seen.push({
        body,
        key: req.headers['idempotency-key'] as string,
        socket: req.socket,
        length: req.headers['content-length'],
      });
      res.writeHead(seen.length === 2 ? 503 : 204).end();
    });
    const body = JSON.stringify({ text: 'Срок подачи: ARK-2026-000001' });
    expect(
      await postJson(`${base}/a`, { 'content-type': 'application/json', 'idempotency-key': 'k1' }, body, 5_000),
    ).toEqual({ status: 204 });
    expect(await postJson(`${base}/a`, { 'idempotency-key': 'k2' }, body, 5_000)).toEqual({ status: 503 });
    expect(seen.map((s) => s.body)).toEqual([body, body]);
    expect(seen.map((s) => s.key)).toEqual(['k1', 'k2']);
    expect(seen[0].length).toBe(String(Buffer.byteLength(body)));
    expect(seen[1].socket).toBe(seen[0].socket);
  });

  it('does not follow redirects: a 302 is the answer, the Location is never requested', async () => {
    const paths: string[] = [];
    const base = await listen((req, res) => {
      paths.push(req.url!);
      if (req.url === '/hook') res.writeHead(302, { location: '/elsewhere' }).end();
      else res.writeHead(200).end();
    });
    expect(await postJson(`${base}/hook`, {}, '{}', 5_000)).toEqual({ status: 302 });
    expect(paths).toEqual(['/hook']);
  });

  it('gives up after the deadline when the receiver does not answer', async () => {
    const base = await listen(() => {
      /* never answers */
    });
    const t = Date.now();
    await expect(postJson(`${base}/slow`, {}, '{}', 300)).rejects.toThrow(/did not answer within 300 ms/);
    expect(Date.now() - t).toBeLessThan(3_000);
  });

  it('a reused idle connection reset by the receiver is retried once on a fresh one; a reset on a fresh connection is not', async () => {
    const perSocket = new Map<Socket, number>();
    const keys: string[] = [];
    let resetFresh = false;
    const base = await listen((req, res) => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      keys.push(String(req.headers['idempotency-key']));
      // The second request on a kept-alive connection, or every request once resetFresh is set: reset without an answer.
      if (n >= 2 || resetFresh) req.socket.resetAndDestroy();
      else res.writeHead(200).end();
    });
    expect(await postJson(`${base}/h`, { 'idempotency-key': 'a' }, '{}', 5_000)).toEqual({ status: 200 });
    // Reuses the idle connection, which is reset: sent again on a new one.
    expect(await postJson(`${base}/h`, { 'idempotency-key': 'b' }, '{}', 5_000)).toEqual({ status: 200 });
    expect(keys).toEqual(['a', 'b', 'b']);
    expect(perSocket.size).toBe(2);
    // Drop the pooled connections so the next request opens a fresh one.
    server!.closeAllConnections();
    await new Promise((r) => setTimeout(r, 50));
    resetFresh = true;
    keys.length = 0;
    await expect(postJson(`${base}/h`, { 'idempotency-key': 'c' }, '{}', 5_000)).rejects.toThrow();
    expect(keys).toEqual(['c']);
  });

  it('refuses protocols other than http and https', async () => {
    await expect(postJson('file:///etc/passwd', {}, '{}', 1_000)).rejects.toThrow(/unsupported protocol/);
  });
});
