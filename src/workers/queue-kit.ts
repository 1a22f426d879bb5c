// One place that decides where queues live: Redis (ioredis) whenever REDIS_URL
// is set — the production setting — and otherwise BullMQ's own PostgreSQL
// backend on the service's database, so a single machine needs nothing else.
// The same processors run on both. Jobs carry ids only (Redis stores job data
// in clear text); handlers re-read PostgreSQL, which stays the source of truth.
import { Queue, Worker, createPostgresBackend, withBackend, type Processor, type WorkerOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config.ts';

export type QueueBackendName = 'redis' | 'postgres';

export type QueueKit = {
  backend: QueueBackendName;
  queue(name: string): Queue;
  worker(
    name: string,
    processor: Processor,
    opts?: Partial<Pick<WorkerOptions, 'concurrency' | 'autorun' | 'lockDuration'>>,
  ): Worker;
  close(): Promise<void>;
};

export function createQueueKit(config: Pick<AppConfig, 'db' | 'redis'>, opts: { prefix?: string } = {}): QueueKit {
  const prefix = opts.prefix ?? 'exiles';
  const queues = new Map<string, Queue>();
  const workers: Worker[] = [];
  const redisUrl = config.redis.url;

  if (redisUrl) {
    // Producers fail fast (the API answers 503 instead of hanging while Redis
    // is down); workers block on Redis and must retry forever
    // (maxRetriesPerRequest: null, as BullMQ requires for workers).
    const producer = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
    producer.on('error', () => {});
    const workerConnections: Redis[] = [];
    return {
      backend: 'redis',
      queue(name) {
        let q = queues.get(name);
        if (!q) {
          q = new Queue(name, { connection: producer, prefix });
          queues.set(name, q);
        }
        return q;
      },
      worker(name, processor, wopts = {}) {
        const conn = new Redis(redisUrl, { maxRetriesPerRequest: null });
        conn.on('error', () => {});
        workerConnections.push(conn);
        const w = new Worker(name, processor, { connection: conn, prefix, ...wopts });
        workers.push(w);
        return w;
      },
      async close() {
        await Promise.all(workers.map((w) => w.close()));
        await Promise.all([...queues.values()].map((q) => q.close()));
        for (const c of workerConnections) c.disconnect();
        producer.disconnect();
      },
    };
  }

  const pg = withBackend(createPostgresBackend);
  const connection = {
    connectionString: config.db.url,
    migrate: true,
    schema: `bullmq_${prefix}`.replace(/[^a-z0-9_]/gi, '_').toLowerCase(),
  };
  return {
    backend: 'postgres',
    queue(name) {
      let q = queues.get(name);
      if (!q) {
        // The PostgreSQL backend's classes implement the Queue/Worker API but are typed on their own.
        q = new pg.Queue(name, { connection }) as unknown as Queue;
        queues.set(name, q);
      }
      return q;
    },
    worker(name, processor, wopts = {}) {
      // As above: the backend's Worker, typed as BullMQ's.
      const w = new pg.Worker(name, processor, { connection, ...wopts }) as unknown as Worker;
      workers.push(w);
      return w;
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
