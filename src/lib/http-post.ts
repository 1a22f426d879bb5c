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
//
// connectTo pins the connection to addresses vetted by resolveWebhookTarget:
// the request is made to the IP itself (hostname: ip) while the Host header and
// TLS (SNI and the certificate's name check) keep the URL's host name, so the
// name is never resolved again here. Because the request's host is the IP, the
// agents' pool key (host:port, plus servername for TLS) names the vetted IP: a
// kept-alive socket is reused only for a request vetted to the same IP, never
// for a name that now resolves elsewhere. When a pinned address cannot be
// reached (refused, unreachable: nothing was sent), the next vetted one is
// tried, in the resolver's order.
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { urlToHttpOptions } from 'node:url';

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

export type PostOptions = {
  /** Connect only to these addresses (vetted by resolveWebhookTarget), never resolving the URL's host. */
  connectTo?: readonly string[];
};

// Errors of a connection that was never established: nothing was sent, the next address may be tried.
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EAFNOSUPPORT']);

/** The options of one POST to `target`, over a connection to `address` when given (see connectTo above). */
export function requestOptions(
  target: URL,
  address: string | undefined,
  headers: Record<string, string>,
  contentLength: number,
): https.RequestOptions {
  const base: https.RequestOptions = {
    ...urlToHttpOptions(target),
    method: 'POST',
    // The protocol was checked to be http: or https: by the caller.
    agent: agents[target.protocol as 'http:' | 'https:'],
  };
  const sized = { ...headers, 'content-length': String(contentLength) };
  if (address === undefined) return { ...base, headers: sized };
  const name = target.hostname.replace(/^\[|\]$/g, '');
  return {
    ...base,
    // hostname wins over host in node:http; both name the vetted address.
    hostname: address,
    host: address,
    headers: { ...sized, host: target.host },
    // SNI and the certificate check use the URL's name; an IP literal is sent no SNI and checked as an IP.
    ...(target.protocol === 'https:' ? { servername: isIP(name) ? '' : name } : {}),
  };
}

export function postJson(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  { connectTo }: PostOptions = {},
): Promise<PostResult> {
  const target = new URL(url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    return Promise.reject(new Error(`unsupported protocol ${target.protocol}`));
  }
  if (connectTo && !connectTo.length) return Promise.reject(new Error('no address to connect to'));
  const payload = Buffer.from(body);
  // One deadline for the whole exchange, a resend included.
  const deadline = Date.now() + timeoutMs;
  const send = (retryOnStale: boolean, addressIndex: number): Promise<PostResult> =>
    new Promise<PostResult>((resolve, reject) => {
      const mod = target.protocol === 'https:' ? https : http;
      const req = mod.request(requestOptions(target, connectTo?.[addressIndex], headers, payload.length));
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
        // A pinned address that cannot be reached: nothing was sent, try the next vetted one.
        if (
          !settled &&
          connectTo &&
          addressIndex + 1 < connectTo.length &&
          UNREACHABLE.has(e.code ?? '') &&
          Date.now() < deadline
        ) {
          settled = true;
          clearTimeout(timer);
          send(retryOnStale, addressIndex + 1).then(resolve, reject);
          return;
        }
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
          send(false, addressIndex).then(resolve, reject);
          return;
        }
        finish(e);
      });
      req.end(payload);
    });
  return send(true, 0);
}
