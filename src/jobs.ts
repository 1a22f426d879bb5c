// Every background job in one registry: queue names, job names and the zod
// schema of each payload. The API (producer) and the workers (consumers) both
// import from here and parse payloads on both sides, so a job can never be
// queued that no handler knows, and a handler never trusts a payload blindly.
// Payloads carry ids only: Redis keeps job data in clear text.
import { z } from 'zod';

const Id = z.uuid();

export const JOBS = {
  /** One delayed job per reminder; the job id is the reminder id. */
  reminders: {
    queue: 'reminders',
    jobs: { deliver: z.strictObject({ reminderId: Id }) },
  },
  /** Scheduled runs: the relay (outbox → queue) and the morning digest. */
  reminderRelay: {
    queue: 'reminder-relay',
    jobs: { relay: z.object({}).passthrough(), digest: z.object({}).passthrough() },
  },
  /** Export builds (one per export; job id = export id) and the hourly sweep. */
  exports: {
    queue: 'exports',
    jobs: { build: z.strictObject({ exportId: Id }), sweep: z.object({}).passthrough() },
  },
  /** Scheduled backups (BACKUP_CRON) and the hourly check of the last good one's age. */
  backups: {
    queue: 'backups',
    jobs: { run: z.object({}).passthrough(), check: z.object({}).passthrough() },
  },
} as const;

type Registry = typeof JOBS;
export type QueueKey = keyof Registry;
export type JobName<Q extends QueueKey> = keyof Registry[Q]['jobs'] & string;
export type JobPayload<Q extends QueueKey, N extends JobName<Q>> = z.infer<
  Registry[Q]['jobs'][N] extends z.ZodType ? Registry[Q]['jobs'][N] : never
>;

export const REMINDER_QUEUE = JOBS.reminders.queue;
export const RELAY_QUEUE = JOBS.reminderRelay.queue;
export const EXPORT_QUEUE = JOBS.exports.queue;
export const BACKUP_QUEUE = JOBS.backups.queue;
/** Every queue name, for the board and for tests that clean up. */
export const QUEUE_NAMES: readonly string[] = Object.values(JOBS).map((q) => q.queue);

/** A parsed job of a queue: its name and payload, narrowed together. */
export type ParsedJob<Q extends QueueKey> = { [N in JobName<Q>]: { name: N; data: JobPayload<Q, N> } }[JobName<Q>];

/**
 * Parses a job's payload against the registry: an unknown job name or a
 * malformed payload throws (the job fails loudly instead of doing something
 * half right). Switch on `name` to get the payload's type.
 */
export function parseJob<Q extends QueueKey>(queue: Q, name: string, data: unknown): ParsedJob<Q> {
  // Looked up by a run-time name: the registry's literal type widened to a string-keyed map.
  const schemas = JOBS[queue].jobs as Record<string, z.ZodType>;
  const schema = Object.hasOwn(schemas, name) ? schemas[name] : undefined;
  if (!schema) throw new Error(`unknown job "${name}" on queue ${JOBS[queue].queue}`);
  // The schema of this very name validated the data: name and payload match by construction.
  return { name, data: schema.parse(data) } as ParsedJob<Q>;
}

/** Builds a payload for queueing, checked against the same schema. */
export function jobPayload<Q extends QueueKey, N extends JobName<Q>>(
  queue: Q,
  name: N,
  data: JobPayload<Q, N>,
): JobPayload<Q, N> {
  // As above; the schema of this name produced the value, so it has the payload type of this name.
  const schemas = JOBS[queue].jobs as Record<string, z.ZodType>;
  return schemas[name].parse(data) as JobPayload<Q, N>;
}
