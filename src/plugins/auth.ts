// Authentication for every route, in one place. Routes declare
// `config: { public: true }` to opt out, or `config: { roles: [...] }` to
// restrict by role; everything else needs a valid access token.
// `config: { recentAuth: true }` (step-up) also needs the token's auth_time
// within REAUTH_MAX_AGE_SECONDS (else 401 reauthentication-required; POST
// /v1/auth/reauth gives a fresh token). A user who must enrol a second factor
// (MFA_REQUIRED_ROLES) or change an admin-reset password reaches only routes
// whose `config.allowWhile` names that state (403 otherwise); the state is
// read from the database on each request, so it lifts at the very next one.
//
// Access tokens are short-lived HS256 JWTs (one algorithm pinned, so `alg:none`
// and algorithm-confusion tokens fail) that name their session. The session
// and user are checked on each request, so revoking sessions, deactivating a
// user or changing a role takes effect at once, not when the token expires:
// read from the database, or from src/plugins/session-cache.ts, which database
// triggers empty for a user the moment anything about them changes.
import fp from 'fastify-plugin';
import fastifyJwt from '@fastify/jwt';
import type { FastifyRequest } from 'fastify';
import type { Role } from '../generated/prisma/enums.ts';
import { AppError } from '../lib/app-error.ts';
import { query, sql } from '../lib/sql.ts';
import { SessionCache, listenForAuthChanges } from './session-cache.ts';
import { UUID_RE } from '../lib/uuid.ts';

export type Actor = {
  userId: string;
  role: Role;
  teamIds: string[];
  sessionId: string;
  /** When the user last proved who they are in this session (sign-in or reauth), seconds since the epoch. */
  authTime: number;
};

/** What a restricted account may still do: see `config.allowWhile`. */
export type AccountRestriction = 'mfaEnrolment' | 'passwordChange';

type SessionRow = {
  userId: string;
  role: Role;
  teamIds: string[];
  passwordChangeRequired: boolean;
  mfaMissing: boolean;
  expiresAt: Date;
};

export type AccessClaims = {
  sub: string;
  sid: string;
  /** 'board': the queue board's cookie (src/plugins/queue-board.ts), valid only on its routes. */
  typ: 'access' | 'board';
  iat: number;
  exp: number;
  auth_time: number;
};

/** The queue board's session cookie. */
export const BOARD_COOKIE = 'queue_board';

/** One cookie's value from a Cookie header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  for (const part of header?.split(';') ?? []) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
  interface FastifyContextConfig {
    public?: boolean;
    roles?: Role[];
    /** Step-up: the token's auth_time must be within REAUTH_MAX_AGE_SECONDS. */
    recentAuth?: boolean;
    /** Account states in which this route stays reachable (see the top of this file). */
    allowWhile?: AccountRestriction[];
    /** The queue board's routes also accept its session cookie (BOARD_COOKIE). */
    boardCookie?: boolean;
  }
  interface FastifyInstance {
    signAccessToken(
      userId: string,
      sessionId: string,
      authTime: Date,
      opts?: { typ?: 'access' | 'board'; ttlSeconds?: number },
    ): { token: string; expiresIn: number };
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: AccessClaims;
    user: AccessClaims;
  }
}

export function requireActor(req: FastifyRequest): Actor {
  if (!req.actor) throw new AppError('UNAUTHENTICATED');
  return req.actor;
}

/** Step-up check for a route that needs recent authentication only in some cases. */
export function requireRecentAuth(actor: Actor, now: Date, maxAgeSeconds: number): void {
  if (now.getTime() / 1000 - actor.authTime > maxAgeSeconds) {
    throw new AppError(
      'REAUTHENTICATION_REQUIRED',
      `This action needs a sign-in within the last ${maxAgeSeconds} seconds: POST /v1/auth/reauth, then retry with the new access token.`,
    );
  }
}

export const authPlugin = fp(
  async (app) => {
    const { auth } = app.config;
    const mfaRoles = auth.mfaRequiredRoles;
    const cache = new SessionCache<SessionRow>(auth.sessionCacheSeconds * 1000);
    app.decorate('sessionCache', cache as SessionCache<unknown>);
    if (cache.enabled) {
      const stop = listenForAuthChanges(app.config.db.url, cache as SessionCache<unknown>, app.log);
      app.addHook('onClose', stop);
    }
    await app.register(fastifyJwt, {
      secret: auth.jwtSecret,
      sign: { algorithm: 'HS256', iss: auth.issuer, aud: auth.audience },
      verify: {
        algorithms: ['HS256'],
        allowedIss: auth.issuer,
        allowedAud: auth.audience,
        requiredClaims: ['exp', 'iat', 'iss', 'aud', 'sub'],
      },
    });

    app.decorate(
      'signAccessToken',
      (
        userId: string,
        sessionId: string,
        authTime: Date,
        opts: { typ?: 'access' | 'board'; ttlSeconds?: number } = {},
      ) => {
        const ttl = opts.ttlSeconds ?? auth.accessTtlSeconds;
        const iat = Math.floor(app.clock().getTime() / 1000);
        const exp = iat + ttl;
        const token = app.jwt.sign({
          sub: userId,
          sid: sessionId,
          typ: opts.typ ?? 'access',
          iat,
          exp,
          auth_time: Math.floor(authTime.getTime() / 1000),
        });
        return { token, expiresIn: ttl };
      },
    );

    // One indexed statement (primary keys of sessions and users, the team_members
    // index) instead of a Prisma relation load: the per-request fixed cost.
    // Measured with bench/api.bench.ts; see README (Benchmarks).
    const readSession = async (claims: AccessClaims, now: Date, seenStamp: string) => {
      const [row] = await query<SessionRow>(
        app.sqlPool,
        sql`SELECT u.id AS "userId", u.role::text AS role,
                   ARRAY(SELECT tm.team_id::text FROM team_members tm WHERE tm.user_id = u.id ORDER BY tm.team_id) AS "teamIds",
                   u.password_change_required AS "passwordChangeRequired", s.expires_at AS "expiresAt",
                   (u.role::text = ANY(${mfaRoles}::text[])
                     AND NOT EXISTS (SELECT 1 FROM user_totp t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL)
                     AND NOT EXISTS (SELECT 1 FROM webauthn_credentials w WHERE w.user_id = u.id)) AS "mfaMissing"
            FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.id = ${claims.sid}::uuid AND s.user_id = ${claims.sub}::uuid
              AND s.revoked_at IS NULL AND s.expires_at > ${now} AND u.active`,
      );
      if (row) {
        const entry = { row, userId: row.userId, expiresAtMs: row.expiresAt.getTime(), cachedAtMs: now.getTime() };
        cache.set(claims.sid, entry, seenStamp);
      }
      return row ?? null;
    };

    app.decorateRequest('actor', null);

    app.addHook('onRequest', async (req) => {
      const cfg = req.routeOptions.config;
      if (cfg?.public || !req.routeOptions.url) return;
      const header = req.headers.authorization;
      const bearer = !!header && /^Bearer\s+\S+$/i.test(header);
      // The queue board (a browser page) may use its short-lived cookie instead.
      const cookie = !bearer && cfg?.boardCookie ? readCookie(req.headers.cookie, BOARD_COOKIE) : null;
      if (!bearer && !cookie) throw new AppError('UNAUTHENTICATED', 'A bearer access token is required.');
      let claims: AccessClaims;
      try {
        claims = cookie ? app.jwt.verify<AccessClaims>(cookie) : await req.jwtVerify<AccessClaims>();
      } catch (err) {
        const code = err instanceof Error && 'code' in err ? err.code : null;
        if (code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED' || code === 'FAST_JWT_EXPIRED') {
          throw new AppError(
            'TOKEN_EXPIRED',
            'The access token has expired: get a new one with POST /v1/auth/refresh.',
            {
              wwwAuthenticate: 'Bearer error="invalid_token", error_description="expired"',
            },
          );
        }
        throw new AppError('INVALID_TOKEN');
      }
      if (
        claims.typ !== (cookie ? 'board' : 'access') ||
        !UUID_RE.test(String(claims.sid)) ||
        !UUID_RE.test(String(claims.sub)) ||
        !Number.isInteger(claims.auth_time)
      ) {
        throw new AppError('INVALID_TOKEN');
      }
      const now = app.clock();
      const seen = cache.stamp(claims.sub);
      const row = cache.get(claims.sid, claims.sub, now.getTime()) ?? (await readSession(claims, now, seen));
      if (!row) throw new AppError('INVALID_TOKEN');
      req.actor = {
        userId: row.userId,
        role: row.role,
        teamIds: row.teamIds,
        sessionId: claims.sid,
        authTime: claims.auth_time,
      };
      if (row.passwordChangeRequired && !cfg?.allowWhile?.includes('passwordChange')) {
        throw new AppError(
          'PASSWORD_CHANGE_REQUIRED',
          'Your password was reset by an administrator: choose a new one with POST /v1/me/password first.',
        );
      }
      if (row.mfaMissing && !cfg?.allowWhile?.includes('mfaEnrolment')) {
        throw new AppError(
          'MFA_ENROLMENT_REQUIRED',
          'Your role must use a second factor: enrol one under /v1/me/mfa (TOTP or a passkey) first.',
        );
      }
      if (cfg?.roles && !cfg.roles.includes(req.actor.role)) {
        throw new AppError(
          'FORBIDDEN',
          `Your role (${req.actor.role}) may not do this: it needs ${cfg.roles.join(' or ')}.`,
        );
      }
      if (cfg?.recentAuth) requireRecentAuth(req.actor, app.clock(), auth.reauthMaxAgeSeconds);
    });
  },
  { name: 'auth', dependencies: ['core'] },
);
