// Local receivers for reminder tests and the benchmark: an in-process SMTP
// server (smtp-server + mailparser) and a webhook sink (node:http), both on
// 127.0.0.1 with a random port. Nothing here leaves the machine.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export type ReceivedMail = {
  receivedAt: number;
  rcpt: string[];
  from: string;
  subject: string;
  text: string;
  raw: string;
};

export async function startSmtpSink() {
  const messages: ReceivedMail[] = [];
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const receivedAt = Date.now();
        const rcpt = session.envelope.rcptTo.map((a) => a.address.toLowerCase());
        simpleParser(raw)
          .then((m) => {
            messages.push({
              receivedAt,
              rcpt,
              from: m.from?.text ?? '',
              subject: m.subject ?? '',
              text: m.text ?? '',
              raw: raw.toString('utf8'),
            });
            callback();
          })
          .catch((e: Error) => callback(e));
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = ((server as unknown as { server: Server }).server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type WebhookHit = {
  receivedAt: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
  answeredAt: number | null;
};
/** Decides the answer for one request: a status and an optional delay before answering. */
export type WebhookBehaviour = (hit: WebhookHit, previousHitsOnKey: number) => { status: number; delayMs?: number };

/**
 * Records every POST (with its raw body) and answers per path prefix: the
 * longest registered prefix that matches decides; 200 by default.
 */
export async function startWebhookSink() {
  const hits: WebhookHit[] = [];
  const behaviours = new Map<string, WebhookBehaviour>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const hit: WebhookHit = {
        receivedAt: Date.now(),
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        status: 0,
        answeredAt: null,
      };
      const key = String(req.headers['idempotency-key'] ?? '');
      const previous = hits.filter((h) => h.path === path && String(h.headers['idempotency-key'] ?? '') === key).length;
      hits.push(hit);
      const prefix = [...behaviours.keys()].filter((p) => path.startsWith(p)).sort((a, b) => b.length - a.length)[0];
      const decision = prefix ? behaviours.get(prefix)!(hit, previous) : { status: 200 };
      hit.status = decision.status;
      const answer = () => {
        if (res.destroyed) return;
        hit.answeredAt = Date.now();
        res.writeHead(decision.status, { 'content-type': 'text/plain' }).end(decision.status < 300 ? 'ok' : 'no');
      };
      if (decision.delayMs) setTimeout(answer, decision.delayMs);
      else answer();
    });
    req.on('error', () => {});
    res.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    hits,
    on(prefix: string, behaviour: WebhookBehaviour) {
      behaviours.set(prefix, behaviour);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Verifies `x-signature-256: sha256=<hex HMAC-SHA256(secret, "<ts>.<body>")>` in constant time. */
export function signatureValid(secret: string, hit: Pick<WebhookHit, 'headers' | 'body'>): boolean {
  const ts = String(hit.headers['x-signature-timestamp'] ?? '');
  const header = String(hit.headers['x-signature-256'] ?? '');
  if (!/^\d+$/.test(ts) || !header.startsWith('sha256=')) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${ts}.${hit.body}`).digest('hex'));
  const given = Buffer.from(header.slice('sha256='.length));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until check() returns a truthy value or the time runs out (then returns the last value). */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs: number, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last = await check();
  while (!last && Date.now() < until) {
    await sleep(everyMs);
    last = await check();
  }
  return last;
}
