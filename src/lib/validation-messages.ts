// What a 400 says, in words a client developer can act on: zod's default
// messages rewritten (required, the allowed values, the expected format with
// an example, unknown fields, lengths), and Fastify's own client errors as our
// problem types. Used by the one error handler (src/plugins/errors.ts).

// Zod's default messages, said as what to send instead; a schema's own message is kept.
const FORMATS: Record<string, string> = {
  date: 'a date YYYY-MM-DD, e.g. 2026-03-01',
  datetime: 'an ISO 8601 instant with offset, e.g. 2026-03-01T09:30:00+04:00',
  uuid: 'a UUID',
  email: 'an email address',
  url: 'a URL',
};

export function friendlyMessage(keyword: string, params: Record<string, unknown>, message: string | undefined): string {
  const m = message ?? 'invalid';
  const isDefault = /^Invalid (input|option|string|value|ISO|UUID|email|URL)|^Too (small|big)|^Unrecognized key/.test(
    m,
  );
  if (!isDefault) return m;
  if (keyword === 'invalid_type') {
    return /received undefined$/.test(m) ? 'required' : `expected ${String(params.expected ?? 'another type')}`;
  }
  if (keyword === 'invalid_value' && Array.isArray(params.values)) {
    return `must be one of: ${params.values.map(String).join(', ')}`;
  }
  if (keyword === 'invalid_format' && typeof params.format === 'string') {
    return `expected ${FORMATS[params.format] ?? `format ${params.format}`}`;
  }
  if (keyword === 'unrecognized_keys' && Array.isArray(params.keys)) {
    return `unknown field${params.keys.length > 1 ? 's' : ''}: ${params.keys.join(', ')}`;
  }
  if (keyword === 'too_small' && params.minimum !== undefined) {
    return params.origin === 'string'
      ? `at least ${String(params.minimum)} characters`
      : `at least ${String(params.minimum)}`;
  }
  if (keyword === 'too_big' && params.maximum !== undefined) {
    return params.origin === 'string'
      ? `at most ${String(params.maximum)} characters`
      : `at most ${String(params.maximum)}`;
  }
  return m;
}

// Fastify's own client errors, as our problem types.
export const FASTIFY_CLIENT_ERRORS: Record<
  string,
  ['VALIDATION' | 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE', string]
> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    'UNSUPPORTED_MEDIA_TYPE',
    'this Content-Type is not accepted here (JSON routes take application/json)',
  ],
  FST_ERR_CTP_BODY_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 'larger than the limit (1 MiB for JSON)'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [
    'VALIDATION',
    'empty with Content-Type application/json: send a JSON body or no Content-Type',
  ],
  FST_ERR_CTP_INVALID_JSON_BODY: ['VALIDATION', 'not valid JSON'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['VALIDATION', 'Content-Length does not match the body'],
};
