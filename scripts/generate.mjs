// Generates the Prisma client (src/generated/prisma) from prisma/schema.prisma.
// The prisma CLI insists on locating its native schema engine at start-up even
// though `generate` never calls it, and it cannot be downloaded on offline
// machines: pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file is enough.
// Skips the work when the schema has not changed since the last generation.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const schemaPath = path.join(root, 'prisma', 'schema.prisma');
const stampPath = path.join(root, 'src', 'generated', 'prisma', '.schema-hash');
const prismaPkg = JSON.parse(readFileSync(path.join(root, 'node_modules', 'prisma', 'package.json'), 'utf8'));
const digest = createHash('sha256').update(readFileSync(schemaPath)).update(prismaPkg.version).digest('hex');

if (existsSync(stampPath) && readFileSync(stampPath, 'utf8') === digest && !process.argv.includes('--force')) {
  process.exit(0);
}
const cli = path.join(root, 'node_modules', 'prisma', 'build', 'index.js');
const result = spawnSync(process.execPath, [cli, 'generate', '--schema', schemaPath], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  },
});
if (result.status !== 0) {
  console.error('prisma generate failed');
  process.exit(result.status ?? 1);
}
writeFileSync(stampPath, digest);
