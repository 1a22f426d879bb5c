// Idempotency-Key on POST: a caseworker on a bad connection can resend safely.
// The key is claimed (inserted) before the handler runs, so two concurrent
// sends cannot both write; the first successful response is stored, encrypted
// (it can hold personal data), and replayed for the same key and body.
import { createHash } from 'node:crypto';
import fp from 'fastify-plugin';
import { AppError } from '../lib/app-error.ts';
import { canonicalJson } from '../lib/canonical-json.ts';

declare module 'fastify' {
  interface FastifyRequest {
    idempotencyKey: string | null;
  }
}

const KEY_RE = /^[\x21-\x7e]{8,200}$/;

export const idempotencyPlugin = fp(
  async (app) => {
    app.decorateRequest('idempotencyKey', null);
    const ref = (userId: string, key: string) => ({
      table: 'idempotency_keys',
      column: 'response_body',
      rowId: `${userId}:${key}`,
    });

    app.addHook('preHandler', async (req, reply) => {
      if (req.method !== 'POST' || !req.actor) return;
      const key = req.headers['idempotency-key'];
      if (key === undefined) return;
      if (typeof key !== 'string' || !KEY_RE.test(key)) {
        throw new AppError('VALIDATION', 'Idempotency-Key must be 8-200 visible ASCII characters.', {
          errors: [{ path: 'headers.idempotency-key', message: 'must be 8-200 visible ASCII characters' }],
        });
      }
      const userId = req.actor.userId;
      const path = req.url.split('?')[0];
      const requestHash = createHash('sha256')
        .update(`${req.method} ${path}\n${canonicalJson(req.body ?? null)}`)
        .digest('hex');
      // Keys expire after IDEMPOTENCY_TTL_HOURS: an expired record is replaced
      // (a retry that late is a new request), so stored responses do not pile up.
      const expiredBefore = new Date(app.clock().getTime() - app.config.idempotencyTtlHours * 3_600_000);
      const claimed = await app.db.$executeRaw`
        INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, created_at)
        VALUES (${userId}::uuid, ${key}, ${req.method}, ${path}, ${requestHash}, ${app.clock()})
        ON CONFLICT (user_id, key) DO UPDATE SET
          method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash,
          status_code = NULL, response_body = NULL, created_at = EXCLUDED.created_at
        WHERE idempotency_keys.created_at < ${expiredBefore} AND idempotency_keys.status_code IS NOT NULL`;
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
      return reply
        .code(prior.statusCode)
        .header('content-type', 'application/json; charset=utf-8')
        .header('idempotent-replayed', 'true')
        .send(body);
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
