// What the auth tables forget, and when. A session's client address and
// User-Agent are personal data: kept while the session can be listed, erased
// SESSION_DETAILS_RETENTION_DAYS after it ended (revoked or expired). Pending
// second-factor sign-ins and passkey registrations are deleted a day after
// they expired or were used. Runs on start and hourly (unref'd timer).
import type { FastifyInstance } from 'fastify';

export const SESSION_DETAILS_RETENTION_DAYS = 30;
const CHALLENGE_RETENTION_MS = 86_400_000;
const INTERVAL_MS = 3_600_000;

export async function pruneAuthRecords(app: Pick<FastifyInstance, 'db' | 'clock'>) {
  const now = app.clock();
  const detailsBefore = new Date(now.getTime() - SESSION_DETAILS_RETENTION_DAYS * 86_400_000);
  const challengesBefore = new Date(now.getTime() - CHALLENGE_RETENTION_MS);
  const sessions = await app.db.$executeRaw`
    UPDATE sessions SET ip = NULL, user_agent = NULL
    WHERE (ip IS NOT NULL OR user_agent IS NOT NULL)
      AND (revoked_at < ${detailsBefore}::timestamptz OR expires_at < ${detailsBefore}::timestamptz)`;
  const challenges = await app.db.$executeRaw`
    DELETE FROM auth_challenges
    WHERE expires_at < ${challengesBefore}::timestamptz OR used_at < ${challengesBefore}::timestamptz`;
  return { sessionDetailsErased: sessions, challengesDeleted: challenges };
}

/** Starts the hourly run; returns its stop function. */
export function startAuthRetention(app: FastifyInstance): () => void {
  const run = () =>
    pruneAuthRecords(app).catch((err: unknown) =>
      app.log.warn({ err: { type: err instanceof Error ? err.name : typeof err } }, 'auth retention run failed'),
    );
  void run();
  const timer = setInterval(run, INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
