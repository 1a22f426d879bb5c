// What makes a secret acceptable, and how the encryption keyring is read from
// ENCRYPTION_KEYS: shared by config parsing and its tests.
const KNOWN_PLACEHOLDERS = ['change-me', 'changeme', 'secret', 'password', 'example', 'placeholder', 'replace'];

/** A secret is weak when it is short, a known placeholder, or barely varied. */
export function secretWeakness(value: Buffer | string, minBytes = 32): string | null {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  if (bytes.length < minBytes) return `shorter than ${minBytes} bytes`;
  if (typeof value === 'string' && KNOWN_PLACEHOLDERS.some((p) => value.toLowerCase().includes(p))) {
    return 'contains a placeholder word';
  }
  if (new Set(bytes).size < 12) return 'too few distinct characters';
  return null;
}

export function parseKeyring(spec: string): { keys: Map<string, Buffer>; currentKeyId: string; problems: string[] } {
  const keys = new Map<string, Buffer>();
  const problems: string[] = [];
  let currentKeyId = '';
  for (const [n, part] of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .entries()) {
    const idx = part.indexOf(':');
    const id = idx > 0 ? part.slice(0, idx) : '';
    const key = Buffer.from(part.slice(idx + 1), 'base64');
    // Never echo the entry itself: a malformed entry may be raw key material.
    if (idx < 1 || !/^[A-Za-z0-9_-]{1,16}$/.test(id)) {
      problems.push(`ENCRYPTION_KEYS: entry #${n + 1} must be <keyId>:<base64 key> (key id: letters, digits, _ or -)`);
    } else if (key.length !== 32) {
      problems.push(`ENCRYPTION_KEYS: key ${id} must decode to 32 bytes (got ${key.length})`);
    } else if (secretWeakness(key)) problems.push(`ENCRYPTION_KEYS: key ${id} is weak (${secretWeakness(key)})`);
    else {
      keys.set(id, key);
      currentKeyId = id;
    }
  }
  if (!keys.size && !problems.length) problems.push('ENCRYPTION_KEYS: no key given');
  return { keys, currentKeyId, problems };
}
