// Password hashing cost: the configured argon2id parameters against OWASP's
// floor (m=19 MiB, t=2, p=1), measured in the same process.
//   npx tsx bench/argon2.bench.ts [--memory 65536] [--time 3] [--runs 10]
import { hashPassword, verifyPassword } from '../src/lib/passwords.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const runs = arg('runs', 10);
const configured = { memoryCost: arg('memory', 65536), timeCost: arg('time', 3), parallelism: 1 };
const floor = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

async function measure(p: typeof floor) {
  const hash = await hashPassword('correct horse battery staple', p);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await verifyPassword(hash, 'correct horse battery staple');
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const base = await measure(floor);
const conf = await measure(configured);
console.log(`argon2id verify, median of ${runs}:`);
console.log(`  OWASP floor m=${floor.memoryCost} KiB t=${floor.timeCost}: ${base.toFixed(1)} ms`);
console.log(
  `  configured  m=${configured.memoryCost} KiB t=${configured.timeCost}: ${conf.toFixed(1)} ms  (${(conf / base).toFixed(2)}x the floor)`,
);
