import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client.ts';

export type Db = PrismaClient;
import type { Prisma } from './generated/prisma/client.ts';
export type { Prisma };

/** A client or an interactive transaction: services take either, so they compose. */
export type Tx = Prisma.TransactionClient | Db;

export function createDb(url: string, poolMax = 10): Db {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: poolMax }) });
}
