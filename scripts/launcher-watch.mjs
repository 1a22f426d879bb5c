// When npm itself is killed with SIGKILL (an IDE's stop button, `kill -9`,
// an OOM kill), it cannot pass a signal on: npm runs a script through
// `sh -c`, the shell stays behind, re-parented to init, and the service — and
// the embedded PostgreSQL it started — would run on with nobody left to stop
// them. So, when started by npm, the service watches the chain of processes
// from its parent up to npm (on Linux, from /proc): once any link is broken
// (a process in it is gone, or was re-parented), the launcher is gone and the
// service stops itself the normal way (SIGTERM to itself: graceful shutdown,
// PostgreSQL stopped last). Without /proc (macOS) or outside npm, nothing is
// watched.
import { readFileSync } from 'node:fs';

/** The parent pid of a process from /proc/<pid>/stat, or null when it is gone. */
function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

function commandOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/**
 * The links [child, parent] from this process's parent up to the npm process
 * that started it (the first ancestor whose command line names npm), or null.
 */
export function launcherChain(pid = process.pid) {
  const links = [];
  let child = pid;
  for (let depth = 0; depth < 8; depth++) {
    const parent = parentOf(child);
    if (!parent || parent <= 1) return null;
    links.push([child, parent]);
    if (/(^|[/\s])npm(-cli\.js)?(\s|$)/.test(commandOf(parent))) return links;
    child = parent;
  }
  return null;
}

/**
 * Calls onGone once when the npm process that started this one, or any process
 * between them, is gone. Returns a function that stops watching. No-op when
 * not started by npm or without /proc.
 */
export function watchLauncher(onGone, { everyMs = 1000, env = process.env } = {}) {
  if (!env.npm_lifecycle_event || process.platform !== 'linux') return () => {};
  const links = launcherChain();
  if (!links) return () => {};
  const timer = setInterval(() => {
    if (links.every(([child, parent]) => parentOf(child) === parent)) return;
    clearInterval(timer);
    onGone();
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
