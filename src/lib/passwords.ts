// argon2id password hashing (OWASP Password Storage Cheat Sheet: at least
// m=19 MiB, t=2, p=1; config.ts enforces that floor).
import { Algorithm, hash, verify } from '@node-rs/argon2';

export type Argon2Params = { memoryCost: number; timeCost: number; parallelism: number };

export function hashPassword(password: string, p: Argon2Params): Promise<string> {
  return hash(password, {
    algorithm: Algorithm.Argon2id,
    memoryCost: p.memoryCost,
    timeCost: p.timeCost,
    parallelism: p.parallelism,
  });
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

export const PASSWORD_MIN_LENGTH = 12;
