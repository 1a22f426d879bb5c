// Login, refresh-token rotation and logout.
//
// Refresh tokens are opaque random strings stored only as SHA-256 hashes. Each
// refresh rotates the token; presenting a token that was already rotated means
// it was copied, so the whole session (every token descended from the login)
// is revoked (OAuth 2.0 Security BCP, refresh token rotation). A session keeps
// the client's IP and User-Agent from its login and `last_used_at` (its last
// login or refresh); listing and ending sessions: ./sessions.service.ts.
//
// Sign-in throttling (per IP, per submitted email, exponential backoff): ./login-throttle.ts.
// Argon2 work: at most LOGIN_CONCURRENCY verifications run at once per
//    process and LOGIN_QUEUE_MAX wait; past that a login answers 503 with
//    Retry-After before it touches any counter (see VerifyLimiter).
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { hashPassword, verifyPassword, VerifyLimiter } from '../../lib/passwords.ts';
import { hashToken } from '../../lib/token-hash.ts';
import { MfaLogin } from '../mfa/mfa-login.ts';
import { SecondFactors, type FactorMethod } from '../mfa/second-factors.ts';
import { LoginThrottle } from './login-throttle.ts';
import { rotateRefreshToken } from './refresh-rotation.ts';
import { issueSession, type TokenPair } from './session-issuer.ts';
import type { RateLimitSink } from '../../lib/rate-limit-headers.ts';

export { loginThrottleHmacKey, loginThrottleKey, THROTTLE_PRUNE_INTERVAL_MS } from './login-throttle.ts';

export type { TokenPair };

export type LoginResult =
  | {
      kind: 'tokens';
      userId: string;
      pair: TokenPair;
      mfaEnrolmentRequired: boolean;
      passwordChangeRequired: boolean;
    }
  | { kind: 'mfa'; mfaToken: string; methods: FactorMethod[] };

export class AuthService {
  readonly throttle: LoginThrottle;
  readonly factors: SecondFactors;
  readonly mfaLogin: MfaLogin;
  private readonly limiter: VerifyLimiter;
  private dummyHash: Promise<string> | null = null;

  constructor(private readonly app: FastifyInstance) {
    const { auth } = app.config;
    this.throttle = new LoginThrottle(app);
    this.factors = new SecondFactors(app);
    this.mfaLogin = new MfaLogin(app, this.throttle, this.factors);
    this.limiter = new VerifyLimiter(auth.verifyConcurrency, auth.verifyQueueMax);
  }

  private get db() {
    return this.app.db;
  }

  startPruning(): void {
    this.throttle.startPruning();
  }

  stopPruning(): void {
    this.throttle.stopPruning();
  }

  pruneThrottle(): Promise<number> {
    return this.throttle.pruneThrottle();
  }

  /** The argon2 hash verified for emails without an account: same parameters as real hashes. */
  private dummy(): Promise<string> {
    this.dummyHash ??= hashPassword(randomBytes(16).toString('hex'), this.app.config.auth.argon2);
    return this.dummyHash;
  }

  /** Computes the dummy hash ahead of the first unknown email (its first use would otherwise be slower). */
  warmUp(): void {
    this.dummy().catch(() => {
      this.dummyHash = null;
    });
  }

  /**
   * Signs in with a password. Without a second factor enrolled the session
   * opens at once (keeping the client's `ip` and `userAgent`); with one, the
   * answer is an mfaToken for POST /v1/auth/mfa and the email's throttle
   * streak goes on counting until that step succeeds.
   */
  async login(
    email: string,
    password: string,
    ip: string,
    requestId: string,
    userAgent?: string,
    onRateLimit?: RateLimitSink,
  ): Promise<LoginResult> {
    const now = this.app.clock();
    const normalised = email.trim().toLowerCase();
    const user = await this.checkPassword(normalised, password, requestId, now, ip, onRateLimit);
    const key = this.throttle.key('e', normalised);
    const methods = this.factors.methodsOf(await this.factors.enrolment(user.id));
    if (methods.length) {
      const mfaToken = await this.mfaLogin.begin(user.id, ip, userAgent, now);
      return { kind: 'mfa', mfaToken, methods };
    }
    const pair = await this.db.$transaction((tx) =>
      issueSession(this.app, tx, {
        userId: user.id,
        throttleKey: key,
        ip,
        userAgent,
        method: 'password',
        requestId,
        now,
      }),
    );
    return {
      kind: 'tokens',
      userId: user.id,
      pair,
      mfaEnrolmentRequired: this.app.config.auth.mfaRequiredRoles.includes(user.role),
      passwordChangeRequired: user.passwordChangeRequired,
    };
  }

  /** After a successful password check outside sign-in: the email's streak of tries starts over. */
  async forgetFailures(normalisedEmail: string): Promise<void> {
    await this.db.$executeRaw`DELETE FROM login_throttle WHERE key = ${this.throttle.key('e', normalisedEmail)}`;
  }

  /**
   * The password check shared by sign-in, reauthentication, password change
   * and TOTP enrolment: the email's try is reserved atomically first (429
   * while blocked), the argon2 work waits for a slot (503 past the queue),
   * unknown emails verify a dummy hash, and a failure is audited and answers
   * the same 401 whether or not the account exists.
   */
  async checkPassword(
    normalisedEmail: string,
    password: string,
    requestId: string,
    now: Date,
    ip?: string,
    onRateLimit?: RateLimitSink,
  ) {
    // Refuse a flood before it touches any counter or the database: a 503
    // must not spend the owner's tries, and costs the server nothing.
    const ticket = this.limiter.admit();
    if (!ticket) {
      throw new AppError('UNAVAILABLE', 'Too many sign-ins in progress; retry shortly.', {
        retryAfterSeconds: this.limiter.retryAfterSeconds(),
      });
    }
    try {
      if (ip) await this.throttle.throttleIp(ip, now, onRateLimit);
      const key = this.throttle.key('e', normalisedEmail);
      const reservation = await this.throttle.reserve(key, normalisedEmail, now);
      const user = await this.db.user.findUnique({
        where: { email: normalisedEmail },
        select: { id: true, passwordHash: true, active: true, role: true, passwordChangeRequired: true },
      });
      const stored = user ? user.passwordHash : await this.dummy();
      const ok = await ticket.run(() => verifyPassword(stored, password));
      if (!ok || !user || !user.active) {
        // The same insert whether or not the account exists (timing); an
        // unknown email is recorded without any trace of the address.
        await this.db.$transaction(async (tx) => {
          await appendAudit(
            tx,
            {
              actorId: null,
              action: reservation.blockedUntil ? 'auth.locked' : 'auth.login_failed',
              entityType: 'user',
              entityId: user?.id ?? null,
              requestId,
              ...(ok && user ? { changes: { reason: 'inactive' } } : {}),
            },
            now,
          );
        });
        throw new AppError('INVALID_CREDENTIALS', 'Email or password is wrong.');
      }
      return user;
    } finally {
      ticket.release();
    }
  }

  /** Rotates a refresh token (./refresh-rotation.ts); reuse outside the grace revokes the session. */
  refresh(refreshToken: string, requestId: string): Promise<TokenPair & { userId: string }> {
    return rotateRefreshToken(this.app, refreshToken, (sessionId, userId) =>
      this.revokeSession(sessionId, userId, 'refresh_token_reuse', requestId),
    );
  }

  async revokeSession(
    sessionId: string,
    userId: string,
    reason: string,
    requestId: string,
    actorId: string | null = null,
  ): Promise<void> {
    const now = this.app.clock();
    await this.db.$transaction(async (tx) => {
      const { count } = await tx.session.updateMany({
        where: { id: sessionId, revokedAt: null },
        data: { revokedAt: now, revokeReason: reason },
      });
      if (count) {
        await appendAudit(
          tx,
          {
            actorId: actorId ?? userId,
            action: 'auth.session_revoked',
            entityType: 'session',
            entityId: sessionId,
            requestId,
            changes: { reason },
          },
          now,
        );
      }
    });
  }

  async logout(
    actorUserId: string,
    currentSessionId: string,
    refreshToken: string | undefined,
    requestId: string,
  ): Promise<void> {
    let sessionId = currentSessionId;
    if (refreshToken) {
      const row = await this.db.refreshToken.findUnique({
        where: { tokenHash: hashToken(refreshToken) },
        select: { sessionId: true, session: { select: { userId: true } } },
      });
      // Another user's token is ignored rather than revealed.
      if (row && row.session.userId === actorUserId) sessionId = row.sessionId;
    }
    await this.revokeSession(sessionId, actorUserId, 'logout', requestId);
  }
}
