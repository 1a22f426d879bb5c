// Browsers: CORS for the origins listed in CORS_ORIGINS (exact matches; none
// by default, so a page elsewhere cannot call the API from a user's browser).
// Credentials (cookies) are never allowed cross-origin: the API takes bearer
// tokens. Preflights are answered before authentication; clients may read
// the headers they need (ETag for If-Match, Location of a created record,
// Retry-After, Idempotent-Replayed, x-request-id, x-stats-metadata, RateLimit-*).
import fp from 'fastify-plugin';
import cors from '@fastify/cors';
import { RATE_LIMIT_HEADERS } from '../lib/rate-limit-headers.ts';

export const CORS_EXPOSED_HEADERS = [
  'ETag',
  'Location',
  'Retry-After',
  'Idempotency-Replayed',
  'Idempotent-Replayed',
  'X-Request-Id',
  'X-Stats-Metadata',
  'WWW-Authenticate',
  ...RATE_LIMIT_HEADERS,
];

export const corsPlugin = fp(
  async (app) => {
    const origins = app.config.http.corsOrigins;
    if (!origins.length) return;
    app.addHook('onRoute', (route) => {
      // The preflight route of @fastify/cors is public (route.config is an object or undefined here).
      if (route.method === 'OPTIONS') route.config = { ...(route.config as object), public: true };
    });
    await app.register(cors, {
      origin: origins,
      credentials: false,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'If-Match', 'X-Request-Id', 'Range'],
      exposedHeaders: CORS_EXPOSED_HEADERS,
      maxAge: 600,
      strictPreflight: true,
    });
  },
  { name: 'cors', dependencies: ['core'] },
);
