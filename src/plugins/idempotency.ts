// Idempotency-Key on POST: a caseworker on a bad connection can resend safely.
// The key is claimed (inserted) before the handler runs, so two concurrent
// sends cannot both write; the first successful response is stored, encrypted
// (it can hold personal data), and replayed for the same key and body.
//
// What a database dump shows of it, and for how long:
// - The request is identified by an HMAC under a server key (derived from the
//   blind-index key with its own label), never a plain hash: a plain SHA-256 of
//   a body holding a legal name could be confirmed by guessing the name.
// - A body with a password field, at any depth, is never stored in any form:
//   such a POST runs as if it had no Idempotency-Key (a retry runs again, and
//   e.g. creating the same user twice answers 409 on its own).
// - Records expire after IDEMPOTENCY_TTL_HOURS and are deleted: the caller's
//   own expired records on each idempotent request, everyone's on start and
//   then periodically (an unref'd timer, stopped on close). Records written in
//   the old plain-hash form are deleted on start.
// - A replay re-checks that the caller may still see what the request touched
//   (the case of the path, the created case or person, or a response's
//   caseId): after losing access it answers 404, not the stored response.
import { createHmac } from 'node:crypto';
import fp from 'fastify-plugin';
import { AppError } from '../lib/app-error.ts';
import { canonicalJson } from '../lib/canonical-json.ts';
import { authoriseCaseRead, visiblePeopleWhere } from './access.ts';
import type { Actor } from './auth.ts';
import { UUID_RE } from '../lib/uuid.ts';

declare module 'fastify' {
  interface FastifyRequest {
    idempotencyKey: string | null;
  }
  interface FastifyInstance {
    /** Deletes expired idempotency records (of one user, or everyone's); returns how many. */
    purgeIdempotencyKeys(userId?: string): Promise<number>;
  }
}

const KEY_RE = /^[\x21-\x7e]{8,200}$/;
/** Version prefix of the stored request HMAC; rows without it are from the plain-hash era. */
const HASH_PREFIX = 'h1.';
const PASSWORD_FIELD = /passw(or)?d|passphrase/i;
const MAX_PURGE_INTERVAL_MS = 3_600_000;

/** True when any object in the body (at any depth) has a password-like field. Iterative: no stack limit. */
export function holdsPassword(body: unknown): boolean {
  const stack: unknown[] = [body];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
      continue;
    }
    // A non-null object here (arrays included): its own keys are what a body can carry.
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      if (PASSWORD_FIELD.test(k)) return true;
      stack.push(child);
    }
  }
  return false;
}

export const idempotencyPlugin = fp(
  async (app) => {
    app.decorateRequest('idempotencyKey', null);
    const ref = (userId: string, key: string) => ({
      table: 'idempotency_keys',
      column: 'response_body',
      rowId: `${userId}:${key}`,
    });
    // A key of its own, derived from the blind-index key with a distinct label:
    // no new secret, and these HMACs are unlinkable to any blind index.
    const hmacKey = createHmac('sha256', app.config.crypto.blindIndexKey).update('idempotency-request-v1').digest();
    const requestHmac = (userId: string, key: string, method: string, path: string, body: unknown) =>
      HASH_PREFIX +
      createHmac('sha256', hmacKey)
        .update(`${userId}\u0000${key}\u0000${method} ${path}\n${canonicalJson(body ?? null)}`)
        .digest('base64url');

    const ttlMs = app.config.idempotencyTtlHours * 3_600_000;
    const expiredBefore = () => new Date(app.clock().getTime() - ttlMs);

    app.decorate('purgeIdempotencyKeys', async (userId?: string) =>
      userId === undefined
        ? app.db.$executeRaw`DELETE FROM idempotency_keys WHERE created_at < ${expiredBefore()}`
        : app.db
            .$executeRaw`DELETE FROM idempotency_keys WHERE user_id = ${userId}::uuid AND created_at < ${expiredBefore()}`,
    );

    // Everyone's expired records (and any plain-hash ones) on start, then periodically.
    let timer: NodeJS.Timeout | null = null;
    let running: Promise<unknown> | null = null;
    const sweep = (sql: () => Promise<number>) => {
      if (running) return;
      running = sql()
        .catch((err: unknown) =>
          app.log.warn({ error: err instanceof Error ? err.message : String(err) }, 'idempotency purge failed'),
        )
        .finally(() => {
          running = null;
        });
    };
    app.addHook('onReady', async () => {
      sweep(
        () =>
          app.db.$executeRaw`DELETE FROM idempotency_keys
            WHERE created_at < ${expiredBefore()} OR left(request_hash, ${HASH_PREFIX.length}) <> ${HASH_PREFIX}`,
      );
      timer = setInterval(() => sweep(() => app.purgeIdempotencyKeys()), Math.min(ttlMs, MAX_PURGE_INTERVAL_MS));
      timer.unref();
    });
    app.addHook('onClose', async () => {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    });

    /** May the caller still see what the stored request touched? */
    const stillVisible = async (actor: Actor, path: string, responseText: string): Promise<boolean> => {
      let response: unknown = null;
      try {
        response = responseText ? JSON.parse(responseText) : null;
      } catch {
        response = null;
      }
      const field = (name: string) => {
        const v: unknown = response && typeof response === 'object' ? Reflect.get(response, name) : undefined;
        return typeof v === 'string' && UUID_RE.test(v) ? v : null;
      };
      const inCasePath = /^\/v1\/cases\/([^/]+)(?:\/|$)/.exec(path)?.[1];
      let caseId: string | null;
      if (inCasePath !== undefined) caseId = inCasePath;
      else if (path === '/v1/cases') {
        caseId = field('id');
        if (!caseId) return false; // fail closed: a created case we cannot name is not replayed
      } else caseId = path === '/v1/people' ? null : field('caseId');
      if (caseId !== null) {
        if (!UUID_RE.test(caseId)) return false;
        try {
          await authoriseCaseRead(app.sqlPool, actor, caseId);
          return true;
        } catch (err) {
          if (err instanceof AppError && err.code === 'NOT_FOUND') return false;
          throw err;
        }
      }
      if (path === '/v1/people') {
        const personId = field('id');
        if (!personId) return false;
        return (await app.db.person.count({ where: { AND: [{ id: personId }, visiblePeopleWhere(actor)] } })) > 0;
      }
      // Nothing case- or person-scoped: role checks (route config) already ran in onRequest.
      return true;
    };

    app.addHook('preHandler', async (req, reply) => {
      if (req.method !== 'POST' || !req.actor) return;
      const key = req.headers['idempotency-key'];
      if (key === undefined) return;
      if (typeof key !== 'string' || !KEY_RE.test(key)) {
        throw new AppError('VALIDATION', 'Idempotency-Key must be 8-200 visible ASCII characters.', {
          errors: [{ path: 'headers.idempotency-key', message: 'must be 8-200 visible ASCII characters' }],
        });
      }
      // Never store anything derived from a password: such a request is simply not idempotent.
      if (holdsPassword(req.body)) return;
      // A file upload streams past this hook (its body is not here to compare): a replay could answer
      // for a different file, so uploads are not idempotent either (a resend stores a second copy).
      if (/^multipart\//i.test(String(req.headers['content-type'] ?? ''))) return;
      const actor = req.actor;
      const userId = actor.userId;
      const path = req.url.split('?')[0];
      const requestHash = requestHmac(userId, key, req.method, path, req.body);
      // Keys expire after IDEMPOTENCY_TTL_HOURS: the caller's expired records are
      // deleted first (a retry that late is a new request), so none pile up.
      await app.purgeIdempotencyKeys(userId);
      const claimed = await app.db.$executeRaw`
        INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, created_at)
        VALUES (${userId}::uuid, ${key}, ${req.method}, ${path}, ${requestHash}, ${app.clock()})
        ON CONFLICT (user_id, key) DO UPDATE SET
          method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash,
          status_code = NULL, response_body = NULL, created_at = EXCLUDED.created_at
        WHERE idempotency_keys.created_at < ${expiredBefore()} AND idempotency_keys.status_code IS NOT NULL`;
      if (claimed === 1) {
        req.idempotencyKey = key;
        return;
      }
      const prior = await app.db.idempotencyKey.findUnique({ where: { userId_key: { userId, key } } });
      if (!prior) throw new AppError('IDEMPOTENCY_IN_PROGRESS', 'Retry the request.');
      if (prior.requestHash !== requestHash) {
        throw new AppError('IDEMPOTENCY_MISMATCH', 'This Idempotency-Key was used for a different request.');
      }
      if (prior.statusCode === null || prior.responseBody === null) throw new AppError('IDEMPOTENCY_IN_PROGRESS');
      const body = app.crypto.decrypt(prior.responseBody, ref(userId, key));
      if (!(await stillVisible(actor, path, body))) throw new AppError('NOT_FOUND', 'Not found.');
      return (
        reply
          .code(prior.statusCode)
          .header('content-type', 'application/json; charset=utf-8')
          // The name, and the name first shipped (kept: clients may read it).
          .header('idempotency-replayed', 'true')
          .header('idempotent-replayed', 'true')
          .send(body)
      );
    });

    app.addHook('onSend', async (req, reply, payload) => {
      const key = req.idempotencyKey;
      if (!key || !req.actor) return payload;
      const userId = req.actor.userId;
      req.idempotencyKey = null;
      if (reply.statusCode >= 200 && reply.statusCode < 300) {
        const text =
          typeof payload === 'string' ? payload : payload === null || payload === undefined ? '' : String(payload);
        await app.db.idempotencyKey.update({
          where: { userId_key: { userId, key } },
          data: { statusCode: reply.statusCode, responseBody: app.crypto.encrypt(text, ref(userId, key)) },
        });
      } else {
        // A failed attempt wrote nothing: free the key so the client can retry it.
        await app.db.idempotencyKey.delete({ where: { userId_key: { userId, key } } }).catch(() => {});
      }
      return payload;
    });
  },
  { name: 'idempotency', dependencies: ['core', 'auth'] },
);
