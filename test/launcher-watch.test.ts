// `npm start` killed with SIGKILL leaves `sh -c` behind and the service under
// it: scripts/launcher-watch.mjs notices npm is gone and stops the service
// the normal way (issue 12: signals through npm, no orphaned PostgreSQL).
// Here a tiny npm package runs a stand-in service that uses the same watcher.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const WATCHER = pathToFileURL(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../scripts/launcher-watch.mjs'),
).href;
const dir = mkdtempSync(path.join(os.tmpdir(), 'launcher-watch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The stand-in service: writes its pid and the chain it watches, then waits;
// when the watcher fires it records that and exits (as SIGTERM's graceful stop would).
writeFileSync(
  path.join(dir, 'service.mjs'),
  `import { writeFileSync } from 'node:fs';
import { launcherChain, watchLauncher } from ${JSON.stringify(WATCHER)};
const out = process.argv[2];
watchLauncher(() => { writeFileSync(out + '.gone', 'gone'); process.exit(0); }, { everyMs: 100 });
writeFileSync(out, JSON.stringify({ pid: process.pid, chain: launcherChain() }));
setInterval(() => {}, 1000);
`,
);
writeFileSync(
  path.join(dir, 'package.json'),
  JSON.stringify({
    name: 'launcher-watch-fixture',
    private: true,
    // `a && b`, like the project's own scripts: the shell stays between npm and the service.
    scripts: { serve: 'node -e 0 && node service.mjs "$OUT"' },
  }),
);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function waitFor<T>(f: () => T | undefined | false, ms: number): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) return undefined;
    await new Promise((r) => setTimeout(r, 50));
  }
}
const readJson = (file: string) => {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { pid: number; chain: [number, number][] | null };
  } catch {
    return undefined;
  }
};
// Under `npm test` the variables of the outer npm are inherited: the fixture gets its own from its own npm.
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));

describe.skipIf(process.platform !== 'linux')('the service stops when npm is killed', () => {
  it('npm SIGKILLed: the service behind `sh -c` notices within a second and stops', async () => {
    const out = path.join(dir, 'npm.json');
    const npm = spawn('npm', ['run', '--silent', 'serve'], {
      cwd: dir,
      env: { ...baseEnv, OUT: out },
      stdio: 'ignore',
    });
    const started = await waitFor(() => readJson(out), 20_000);
    expect(started, 'the service started under npm').toBeDefined();
    // service -> sh -> npm
    expect(started!.chain?.length).toBeGreaterThanOrEqual(2);
    expect(started!.chain!.at(-1)![1]).toBe(npm.pid);
    npm.kill('SIGKILL');
    expect(await waitFor(() => existsSync(`${out}.gone`), 5_000), 'the watcher fired').toBe(true);
    expect(await waitFor(() => !alive(started!.pid), 5_000), 'the service exited').toBe(true);
  }, 40_000);

  it('without the watcher (not started by npm) the same kill leaves the service running: the test above can fail', async () => {
    const out = path.join(dir, 'sh.json');
    const sh = spawn('sh', ['-c', `node -e 0 && node service.mjs "${out}"`], {
      cwd: dir,
      env: baseEnv,
      stdio: 'ignore',
    });
    const started = await waitFor(() => readJson(out), 20_000);
    expect(started).toBeDefined();
    sh.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(alive(started!.pid)).toBe(true);
    expect(existsSync(`${out}.gone`)).toBe(false);
    process.kill(started!.pid, 'SIGKILL');
  }, 40_000);
});
