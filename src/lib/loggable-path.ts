/**
 * The request path as it may appear in logs and error bodies: no query string
 * (it can hold a legal name, as in a duplicate check) and no secret path
 * segments (calendar feed tokens).
 */
export function loggablePath(url: string): string {
  return url.split('?')[0].replace(/^\/v1\/calendar\/[^/]+$/, '/v1/calendar/[token].ics');
}
