// `npm run openapi:lint`: builds the app (no database needed: nothing is
// queried to describe the API), writes the document it serves at /docs/json
// to a temporary file (or to --out FILE, kept) and runs `redocly lint` on it
// with the committed redocly.yaml (recommended ruleset; what it changes is
// said there). Exits with redocly's status: non-zero on any error.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { randomSecretsEnv } from '../src/lib/random-secrets.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outArg = process.argv.indexOf('--out');
const keep = outArg > 0 ? path.resolve(process.argv[outArg + 1] ?? '') : null;

async function openapiDocument(): Promise<unknown> {
  const config = loadConfig({
    // Never connected to: building the document reads no data.
    DATABASE_URL: 'postgresql://openapi-lint@127.0.0.1:1/none',
    ...randomSecretsEnv('lint'),
    LOG_LEVEL: 'silent',
  });
  const app = await buildApp(config);
  try {
    await app.ready();
    const res = await app.inject({ url: '/docs/json' });
    if (res.statusCode !== 200) throw new Error(`/docs/json answered ${res.statusCode}`);
    return res.json();
  } finally {
    await app.close();
  }
}

const dir = keep ? null : mkdtempSync(path.join(os.tmpdir(), 'openapi-lint-'));
const file = keep ?? path.join(dir as string, 'openapi.json');
try {
  writeFileSync(file, JSON.stringify(await openapiDocument(), null, 2));
  const bin = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'redocly.cmd' : 'redocly');
  const lint = spawnSync(bin, ['lint', file, '--config', path.join(root, 'redocly.yaml')], {
    stdio: 'inherit',
    // Redocly's banner about Node 20 support is not a finding.
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  });
  process.exitCode = lint.status ?? 1;
} finally {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
