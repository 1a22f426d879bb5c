import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root, whichever file imports this: two levels above this
 * module, both from source (src/lib/paths.ts) and compiled
 * (dist/lib/paths.js, tsconfig.build.json keeps src/'s layout under dist/).
 */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'migrations');
export const DATA_DIR = path.join(PROJECT_ROOT, '.data');
