// What the served OpenAPI document (/docs/json) adds to the route schemas, in
// one place, so that no route can forget it:
// - an operationId derived from method and path (getCasesById, …);
// - `x-roles` (who may call: the route's roles, "signed in" or "public") and
//   `x-step-up` (needs recent authentication), also said in the description;
// - error responses as application/problem+json with the shared Problem
//   schema (components.schemas.Problem), Retry-After on 429/503, ETag where a
//   route says so, descriptions instead of "Default Response";
// - the Idempotency-Key header on every POST that takes one;
// - named schemas in components (src/lib/openapi-components.ts) and an
//   example for every request body and 2xx answer (src/lib/openapi-examples.ts).
import type { SwaggerTransform, SwaggerTransformObject } from '@fastify/swagger';
import type { FastifyContextConfig } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { nameComponents, registerNamedSchemas } from './openapi-components.ts';
import { addExamples } from './openapi-examples.ts';

// Before any route is transformed: the main resources get component names.
registerNamedSchemas();

const pascal = (s: string) =>
  s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');

/** getCasesById, postCasesByIdEvents, getMe, … (the /v1 prefix left out). */
export function operationIdFor(method: string, url: string): string {
  const parts = url
    .replace(/^\/v1(?=\/)/, '')
    .split('/')
    .filter(Boolean)
    .map((seg) => (seg.startsWith(':') ? `By${pascal(seg.slice(1))}` : pascal(seg)));
  return `${method.toLowerCase()}${parts.join('') || 'Root'}`;
}

const STATUS_TEXT: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No content',
  206: 'Partial content (Range)',
  400: 'Invalid request: the problem names each field (errors[].path)',
  401: 'Not signed in, token expired (type …/token-expired) or invalid, or step-up needed (…/reauthentication-required)',
  403: 'Your role or account state does not allow this',
  404: 'Not found, or not visible to you (need-to-know)',
  409: 'Conflict with the current state',
  412: 'If-Match does not match the current version (reload, then retry)',
  413: 'Too large',
  415: 'Media type not allowed',
  416: 'Range not satisfiable',
  422: 'Understood but refused (the detail says why)',
  428: 'If-Match is required',
  429: 'Throttled: retry after Retry-After seconds',
  503: 'Temporarily unavailable: retry after Retry-After seconds',
};

type Op = {
  description?: string;
  requestBody?: { content?: Record<string, unknown> };
  parameters?: { in: string; name: string }[];
  responses?: Record<string, { description?: string; content?: Record<string, unknown>; headers?: object }>;
  'x-roles'?: string[];
  'x-location'?: string;
};

export const openapiTransform: SwaggerTransform = (input) => {
  const out = jsonSchemaTransform(input);
  const cfg = input.route.config as FastifyContextConfig | undefined;
  const roles = cfg?.public ? ['public'] : (cfg?.roles ?? ['signed in']);
  const method = Array.isArray(input.route.method) ? input.route.method[0] : input.route.method;
  const who = cfg?.public
    ? 'Public: no token needed.'
    : `Who may call: ${cfg?.roles ? cfg.roles.join(', ') : 'any signed-in user'}${
        cfg?.recentAuth ? ' with recent authentication (step-up, POST /v1/auth/reauth)' : ''
      }.`;
  const schema: Record<string, unknown> = { ...out.schema };
  schema.operationId ??= operationIdFor(method, input.url);
  schema['x-roles'] = roles;
  if (cfg?.recentAuth) schema['x-step-up'] = true;
  // Read back (and removed) when the document is finished: the 201's Location header.
  if (cfg?.location) schema['x-location'] = cfg.location;
  schema.description = schema.description ? `${String(schema.description)}\n\n${who}` : who;
  return { schema, url: out.url };
};

// 200 answers that are not (only) JSON: the media types the server really sends.
const BINARY = { type: 'string', format: 'binary' };
const MEDIA: Record<string, Record<string, object>> = {
  'get /v1/stats/events/chart.svg': { 'image/svg+xml': { schema: { type: 'string' } } },
  'get /v1/calendar/{file}': { 'text/calendar': { schema: { type: 'string' } } },
  'get /v1/audit/checkpoint': { 'text/plain': { schema: { $ref: '#/components/schemas/Checkpoint' } } },
  'get /v1/exports/{id}/download': { 'text/csv': { schema: BINARY }, 'application/json': { schema: BINARY } },
  'get /v1/documents/{id}/content': { 'application/octet-stream': { schema: BINARY } },
};
// JSON by default, CSV on request.
const ALSO: Record<string, Record<string, object>> = {
  'get /v1/stats/events': { 'text/csv': { schema: { type: 'string' } } },
};

export const openapiTransformObject: SwaggerTransformObject = (documentObject) => {
  const doc = jsonSchemaTransformObject(documentObject) as {
    paths?: Record<string, Record<string, Op>>;
    components?: { schemas?: Record<string, object> };
    servers?: object[];
  };
  // Relative: the document describes the server that serves it.
  doc.servers ??= [{ url: '/', description: 'this server (the one serving /docs/json)' }];
  for (const [path, methods] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(methods)) {
      const multipart = !!op.requestBody?.content?.['multipart/form-data'];
      if (method === 'post' && !path.startsWith('/v1/auth/') && !multipart) {
        op.parameters = [
          ...(op.parameters ?? []),
          {
            in: 'header',
            name: 'Idempotency-Key',
            required: false,
            description:
              'Any 8-200 printable characters: the same key with the same body within IDEMPOTENCY_TTL_HOURS ' +
              'replays the first response (header Idempotency-Replayed: true) and writes nothing; with another body 422.',
            schema: { type: 'string', minLength: 8, maxLength: 200 },
          } as { in: string; name: string },
        ];
      }
      // A deprecated query parameter (an alias kept for old clients): said on the parameter, not only in its schema.
      for (const prm of (op.parameters ?? []) as { schema?: { deprecated?: boolean }; deprecated?: boolean }[]) {
        if (prm.schema?.deprecated) prm.deprecated = true;
      }
      const created = op.responses?.['201'];
      if (created && op['x-location']) {
        const template = op['x-location'].replace(/:(\w+)/g, '{$1}');
        created.headers = {
          ...created.headers,
          Location: { description: `the created record's URL: ${template}`, schema: { type: 'string' } },
        };
      }
      delete op['x-location'];
      const ok = op.responses?.['200'];
      const media = MEDIA[`${method} ${path}`];
      if (ok && media) ok.content = media;
      const also = ALSO[`${method} ${path}`];
      if (ok && also) ok.content = { ...ok.content, ...also };
      for (const [status, res] of Object.entries(op.responses ?? {})) {
        if (!res.description || res.description === 'Default Response') res.description = STATUS_TEXT[status] ?? status;
        const json = res.content?.['application/json'] as { schema?: { $ref?: string } } | undefined;
        if (Number(status) >= 400 && json?.schema?.$ref === '#/components/schemas/Problem') {
          res.content = { 'application/problem+json': json };
        }
        if (status === '429' || status === '503') {
          res.headers = {
            ...res.headers,
            'Retry-After': { description: 'seconds to wait', schema: { type: 'integer', minimum: 1 } },
          };
        }
      }
    }
  }
  doc.components = {
    ...doc.components,
    schemas: {
      ...doc.components?.schemas,
      Checkpoint: { type: 'string', description: 'signed checkpoint, C2SP tlog-checkpoint text' },
    },
  };
  nameComponents(doc);
  addExamples(doc);
  return doc;
};
