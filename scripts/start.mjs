// `npm start`, `npm run worker` and `npm run build`. Production runs compiled
// JavaScript: tsc -p tsconfig.build.json compiles src/ (with the generated
// Prisma client) to dist/, keeping its layout (dist/main.js,
// dist/workers/export-child.js) and rewriting relative `.ts` imports to `.js`.
//
//   node scripts/start.mjs           build dist/ when it is missing or older than src/, then run dist/main.js
//   node scripts/start.mjs --build   build dist/ (always) and exit
//
// dist/ is up to date when dist/.build-inputs matches the path, size and mtime
// of every file under src/ and of the tsconfig files as they were when it was
// built (so an edited, added, deleted or restored file all count). The build
// goes to a temporary folder that replaces dist/ only when tsc succeeded, under
// a lock, so an API and a worker started together build once. dist/main.js then
// runs in this very process: same argv, environment, signals and exit code as
// `node dist/main.js`, without a second Node process.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { watchLauncher } from './launcher-watch.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');
const entry = path.join(dist, 'main.js');
const stampFile = path.join(dist, '.build-inputs');
const lockDir = path.join(root, '.dist-lock');
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json'];

/** One line per input (path, size, mtime), hashed. */
function fingerprint() {
  const lines = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const s = statSync(p);
        lines.push(`${path.relative(root, p)}\0${s.size}\0${s.mtimeMs}`);
      }
    }
  };
  walk(src);
  for (const c of CONFIGS) {
    const p = path.join(root, c);
    if (existsSync(p)) lines.push(`${c}\0${statSync(p).size}\0${statSync(p).mtimeMs}`);
  }
  return createHash('sha256').update(lines.sort().join('\n')).digest('hex');
}

function upToDate() {
  if (!existsSync(entry)) return false;
  // A deployment that ships dist/ without src/ runs what it has.
  if (!existsSync(src)) return true;
  return existsSync(stampFile) && readFileSync(stampFile, 'utf8') === fingerprint();
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** Serialises builds of this checkout (mkdir is atomic); a dead holder's lock is taken over. */
async function withLock(fn) {
  const pidFile = path.join(lockDir, 'pid');
  for (let waited = 0; ; waited += 200) {
    try {
      mkdirSync(lockDir);
      writeFileSync(pidFile, String(process.pid));
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let holder = NaN;
      try {
        holder = Number(readFileSync(pidFile, 'utf8'));
      } catch {
        // Just created and not written yet, or left empty by a crash: give it a while.
      }
      if ((Number.isInteger(holder) && holder > 0 && !alive(holder)) || (Number.isNaN(holder) && waited > 10_000)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (waited === 0) console.error('waiting for another build of dist/ to finish');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function build() {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) {
    console.error(
      'dist/ must be built from src/ but TypeScript is not installed: run `npm install` (with dev dependencies)',
    );
    return false;
  }
  // Taken before compiling: a file edited during the build leaves dist/ stale.
  const inputs = fingerprint();
  const tmp = path.join(root, `.dist-tmp-${process.pid}`);
  const old = path.join(root, `.dist-old-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  const started = Date.now();
  console.error('building dist/ (tsc -p tsconfig.build.json)');
  // The temporary folder sits next to dist/, so source maps' relative paths stay right after the move.
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', tmp], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    console.error(`build failed (tsc exited with ${r.status ?? r.signal}); dist/ left as it was`);
    return false;
  }
  writeFileSync(path.join(tmp, '.build-inputs'), inputs);
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(tmp, dist);
  rmSync(old, { recursive: true, force: true });
  console.error(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}

if (process.argv.includes('--build')) {
  if (!(await withLock(build))) process.exit(1);
} else {
  if (!upToDate() && !(await withLock(() => upToDate() || build()))) process.exit(1);
  // npm killed with SIGKILL cannot pass a signal on: stop the normal way when it is gone (launcher-watch.mjs).
  watchLauncher(() => {
    console.error('npm, which started this service, is gone: shutting down');
    process.kill(process.pid, 'SIGTERM');
  });
  await import(pathToFileURL(entry).href);
}
