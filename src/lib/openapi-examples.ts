// Examples for every operation of the OpenAPI document: a request body
// example and a 2xx response example, made from the operation's own schema
// (so they follow every schema change) with invented, plainly fictional
// values chosen by field name, then completed by the hand-written examples of
// openapi-examples-data.ts (by operationId). test/openapi-examples.test.ts
// validates each against its schema and fails when an operation lacks one.
import { CURATED, TEXT_EXAMPLES } from './openapi-examples-data.ts';

type Json = Record<string, unknown>;

const DAY = '2026-03-14';
const INSTANT = '2026-03-14T09:30:00.000Z';
const B64URL = 'ZmljdGlvbmFsLWRhdGE';
// Plainly invented people and places: no real person is meant.
const BY_NAME: Record<string, unknown> = {
  legalName: 'Aruzhan Fictiva',
  name: 'Timur Exampleov',
  displayName: 'Mira Casewell',
  lawyerName: 'Jonas Advokat',
  pseudonym: 'P-7KQ2',
  otherPseudonym: 'P-3XM9',
  email: 'mira.casewell@example.org',
  password: 'correct-horse-battery-staple',
  newPassword: 'a-new-long-passphrase-2026',
  currentPassword: 'correct-horse-battery-staple',
  temporaryPassword: 'temp-passphrase-fictional-42',
  reference: 'NGO-2026-0142',
  caseReference: 'NGO-2026-0142',
  otherReference: 'NGO-2026-0077',
  hostCountry: 'DE',
  issuingCountry: 'KZ',
  country: 'DE',
  jurisdiction: 'DE',
  city: 'Leipzig',
  article: 'Art. 405 (fictional code)',
  authority: 'Regional prosecutor (fictional)',
  organisation: 'Example Legal Aid e.V.',
  phone: '+49 30 0000000',
  summary: 'Fictional example: activist detained on a foreign request',
  description: 'Fictional example: the person was questioned at the border',
  note: 'fictional note',
  notes: 'fictional notes',
  details: 'fictional details',
  title: 'Example title',
  label: 'Example label',
  reason: 'Fictional reason given by the reviewer',
  code: '123456',
  key: 'detention_appeal',
  timeZone: 'Europe/Berlin',
  cutoffTime: '17:00',
  citizenship: 'KZ',
  dateOfBirth: '1988-05-17',
  at: INSTANT,
  tag: 'JOURNALIST',
  legalBasis: 'Provisional arrest on a foreign extradition request (fictional)',
  outcome: 'Released under reporting conditions (fictional)',
  expiresIn: 900,
  termDays: 40,
  lockedUntil: null,
  endedAt: null,
  completedAt: null,
  mediaType: 'application/pdf',
  sha256: 'a'.repeat(64),
  originalSha256: 'b'.repeat(64),
  hash: 'c'.repeat(64),
  prevHash: 'd'.repeat(64),
  leafHash: 'e'.repeat(64),
  language: 'en',
  accessToken: 'eyJhbGciOiJIUzI1NiJ9.fictional.signature',
  refreshToken: 'rt_fictional_0123456789abcdef',
  mfaToken: 'mfa_fictional_0123456789',
  secret: 'JBSWY3DPEHPK3PXP',
  otpauthUrl: 'otpauth://totp/Example:mira?secret=JBSWY3DPEHPK3PXP',
  url: 'https://example.org/fictional',
  sourceUrl: 'https://example.org/fictional-source',
  ip: '192.0.2.10',
  userAgent: 'ExampleBrowser/1.0',
  version: 3,
  limit: 25,
  k: 10,
  year: 2026,
  month: 3,
  quarter: 1,
  size: 48213,
  originalSize: 50122,
};

const sample = (key: string): unknown => {
  if (key in BY_NAME) return BY_NAME[key];
  if (/Id$|^id$/.test(key)) return uuidFor(key);
  if (/At$/.test(key)) return INSTANT;
  if (/(On|Date|Birth|^day|^since|^until)$/.test(key)) return DAY;
  if (/[Cc]ountr/.test(key)) return 'DE';
  return undefined;
};

/** A stable UUID per field name, so that ids read the same across examples. */
function uuidFor(key: string): string {
  let h = 0;
  for (const ch of key) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const hex = h.toString(16).padStart(8, '0');
  return `${hex}-0000-4000-8000-${hex.slice(0, 4)}00000000`;
}

const STRING_FALLBACKS = ['DE', '17:00', '123456', B64URL, 'detention_appeal', DAY, INSTANT, 'example'];

function str(s: Json, key: string): string {
  const fmt = s.format as string | undefined;
  const byFormat: Record<string, string> = {
    uuid: uuidFor(key),
    date: DAY,
    'date-time': INSTANT,
    email: 'mira.casewell@example.org',
    uri: 'https://example.org/fictional',
    binary: '(file content)',
  };
  const wanted = sample(key);
  let v = fmt && byFormat[fmt] ? byFormat[fmt] : typeof wanted === 'string' ? wanted : 'example';
  if (typeof s.pattern === 'string') {
    const re = new RegExp(s.pattern, 'u');
    if (!re.test(v)) v = STRING_FALLBACKS.find((c) => re.test(c)) ?? v;
  }
  const min = Number(s.minLength ?? 0);
  const max = Number(s.maxLength ?? Infinity);
  if (v.length < min) v = v.padEnd(min, 'x');
  return v.length > max ? v.slice(0, max) : v;
}

function num(s: Json, key: string, integer: boolean): number {
  const wanted = sample(key);
  let v = typeof wanted === 'number' ? wanted : integer ? 1 : 0.5;
  const lo = (s.minimum as number | undefined) ?? (s.exclusiveMinimum as number | undefined);
  const hi = (s.maximum as number | undefined) ?? (s.exclusiveMaximum as number | undefined);
  if (lo !== undefined && v <= lo) v = integer ? lo + (s.minimum !== undefined ? 0 : 1) : lo + 0.5;
  if (hi !== undefined && v >= hi) v = integer ? hi - (s.maximum !== undefined ? 0 : 1) : hi / 2;
  return v;
}

/** An example value for a JSON schema (OpenAPI 3.1 dialect), resolving $refs into `components`. */
export function exampleFor(schema: unknown, components: Record<string, Json>, key = '', depth = 0): unknown {
  const s = (schema ?? {}) as Json;
  if (depth > 12) return null;
  // Fields best shown empty (a user not locked, an assignment not ended), where the schema allows it.
  if (BY_NAME[key] === null && JSON.stringify(s.type ?? s.anyOf ?? '').includes('null')) return null;
  if (typeof s.$ref === 'string') {
    return exampleFor(components[s.$ref.split('/').pop() as string], components, key, depth + 1);
  }
  if (s.example !== undefined) return s.example;
  if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
  if (s.const !== undefined) return s.const;
  if (Array.isArray(s.enum)) return s.enum.find((e) => e !== null) ?? s.enum[0];
  if (s.default !== undefined && s.default !== null && typeof s.default !== 'object') return s.default;
  for (const k of ['anyOf', 'oneOf'] as const) {
    const list = s[k] as Json[] | undefined;
    if (list?.length) {
      const branch = list.find((b) => b.type !== 'null' && Object.keys(b).length) ?? list[0];
      return exampleFor(branch, components, key, depth + 1);
    }
  }
  if (Array.isArray(s.allOf)) {
    return Object.assign({}, ...s.allOf.map((b) => exampleFor(b, components, key, depth + 1) as object));
  }
  const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string | undefined];
  const type = types.find((t) => t !== 'null') ?? types[0];
  switch (type) {
    case 'null':
      return null;
    case 'boolean':
      return !/Required$|^suppressed$|^pending$/.test(key);
    case 'integer':
      return num(s, key, true);
    case 'number':
      return num(s, key, false);
    case 'string':
      return str(s, key);
    case 'array': {
      const n = Math.max(1, Number(s.minItems ?? 1));
      const item = exampleFor(s.items, components, key.replace(/s$/, ''), depth + 1);
      return s.uniqueItems ? [item] : Array.from({ length: n }, () => item);
    }
    default: {
      const props = s.properties as Record<string, Json> | undefined;
      if (!props) return {};
      return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, exampleFor(v, components, k, depth + 1)]));
    }
  }
}

/** Overlays a hand-written example on a generated one: objects key by key, array elements on the first generated element. */
export function overlay(base: unknown, over: unknown): unknown {
  if (Array.isArray(over)) return over.map((e) => overlay(Array.isArray(base) ? base[0] : undefined, e));
  if (over && typeof over === 'object' && base && typeof base === 'object' && !Array.isArray(base)) {
    const out: Json = { ...(base as Json) };
    for (const [k, v] of Object.entries(over)) out[k] = overlay((base as Json)[k], v);
    return out;
  }
  return over;
}

type Media = { schema?: unknown; example?: unknown };
type Op = {
  operationId?: string;
  requestBody?: { content?: Record<string, Media> };
  responses?: Record<string, { content?: Record<string, Media> }>;
};

/** Sets `example` on every request body and every 2xx response media type of the document. */
export function addExamples(document: object): void {
  const doc = document as { paths?: Record<string, Record<string, Op>>; components?: { schemas?: object } };
  const components = (doc.components?.schemas ?? {}) as Record<string, Json>;
  for (const methods of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(methods)) {
      const curated = CURATED[op.operationId ?? ''] ?? {};
      for (const media of Object.values(op.requestBody?.content ?? {})) {
        const made = exampleFor(media.schema, components);
        media.example = curated.request === undefined ? made : overlay(made, curated.request);
      }
      for (const [status, res] of Object.entries(op.responses ?? {})) {
        if (!/^2/.test(status)) continue;
        for (const [type, media] of Object.entries(res.content ?? {})) {
          if (TEXT_EXAMPLES[type] !== undefined && type !== 'application/json') {
            media.example = TEXT_EXAMPLES[type];
            continue;
          }
          const made = exampleFor(media.schema, components);
          const over = curated.response?.[status];
          media.example = over === undefined ? made : overlay(made, over);
        }
      }
    }
  }
}
