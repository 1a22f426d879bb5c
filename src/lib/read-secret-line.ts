// One secret line from standard input (a password, a passphrase): piped, or
// typed at a terminal after a prompt on stderr (not hidden: prefer piping).
// Never a command-line flag, which would land in the shell history and `ps`.
export async function readSecretLine(prompt: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(`${prompt} (input is not hidden; prefer piping it): `);
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) {
    chunks.push(c as Buffer);
    if (process.stdin.isTTY && Buffer.concat(chunks).includes(10)) break;
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}
