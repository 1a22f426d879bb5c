// A small HTTP(S) POST for webhook deliveries over kept-alive connections.
//
// Why not fetch: in the reminder benchmark, Node 20's fetch (undici with web
// streams, AbortSignal, DOMException) was the largest single CPU cost of a
// worker, with the garbage it leaves. node:http with a keep-alive agent per
// protocol does the same job: one TCP (and TLS) connection per receiving host
// is reused across deliveries instead of opened for each.
//
// Redirects are not followed (a 3xx is an answer like any other: the caller
// treats it as a failure). The whole exchange has a deadline. A request whose
// reused idle connection was closed by the server at the same moment
// (ECONNRESET on a reused socket, nothing answered) is sent once more on a
// fresh connection, as Node's documentation recommends; receivers see the
// same idempotency key either way.
import http from 'node:http';
import https from 'node:https';

// Idle connections are closed after 4 s, under the 5 s keep-alive most servers use.
const agentOptions = {
  keepAlive: true,
  maxSockets: 64,
  maxFreeSockets: 64,
  timeout: 4_000,
  scheduling: 'lifo' as const,
};
const agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) };

export type PostResult = { status: number };

export function postJson(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<PostResult> {
  const target = new URL(url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    return Promise.reject(new Error(`unsupported protocol ${target.protocol}`));
  }
  const payload = Buffer.from(body);
  // One deadline for the whole exchange, a resend included.
  const deadline = Date.now() + timeoutMs;
  const send = (retryOnStale: boolean): Promise<PostResult> =>
    new Promise<PostResult>((resolve, reject) => {
      const mod = target.protocol === 'https:' ? https : http;
      const req = mod.request(target, {
        method: 'POST',
        // The protocol was checked to be one of the two above.
        agent: agents[target.protocol as 'http:' | 'https:'],
        headers: { ...headers, 'content-length': String(payload.length) },
      });
      let settled = false;
      let responded = false;
      const finish = (err: Error | null, result?: PostResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(result!);
      };
      const timer = setTimeout(
        () => {
          req.destroy(new Error(`webhook did not answer within ${timeoutMs} ms`));
        },
        Math.max(0, deadline - Date.now()),
      );
      req.on('response', (res) => {
        responded = true;
        // The body is not needed: read and drop it so the connection can be reused.
        res.resume();
        res.on('end', () => finish(null, { status: res.statusCode ?? 0 }));
        res.on('error', (e) => finish(e));
        res.on('close', () => finish(new Error('connection closed before the answer ended')));
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        // Only a connection reset before any answer began, on a connection that was idle in the pool.
        if (
          !settled &&
          !responded &&
          retryOnStale &&
          req.reusedSocket &&
          e.code === 'ECONNRESET' &&
          Date.now() < deadline
        ) {
          settled = true;
          clearTimeout(timer);
          send(false).then(resolve, reject);
          return;
        }
        finish(e);
      });
      req.end(payload);
    });
  return send(true);
}
