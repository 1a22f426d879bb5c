import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client.ts';

export type Db = PrismaClient;
import type { Prisma } from './generated/prisma/client.ts';
export type { Prisma };

/** A client or an interactive transaction: services take either, so they compose. */
export type Tx = Prisma.TransactionClient | Db;

/**
 * A write waits up to 5 s for a pooled connection before it answers 503 + Retry-After (Prisma's default is
 * 2 s): a burst on one case — many tabs, a sync after a phone was offline — queues instead of failing, while a
 * database that is really gone still fails fast enough for a client to retry.
 */
export const TX_MAX_WAIT_MS = 5_000;

export function createDb(url: string, poolMax = 10): Db {
  return new PrismaClient({
    adapter: new PrismaPg({ connectionString: url, max: poolMax }),
    transactionOptions: { maxWait: TX_MAX_WAIT_MS },
  });
}
