// Authentication for every route, in one place. Routes declare
// `config: { public: true }` to opt out, or `config: { roles: [...] }` to
// restrict by role; everything else needs a valid access token.
//
// Access tokens are short-lived HS256 JWTs (one algorithm pinned, so `alg:none`
// and algorithm-confusion tokens fail) that name their session. The session
// and user are re-read on each request, so revoking sessions, deactivating a
// user or changing a role takes effect at once, not when the token expires.
import fp from 'fastify-plugin';
import fastifyJwt from '@fastify/jwt';
import type { FastifyRequest } from 'fastify';
import type { Role } from '../generated/prisma/enums.ts';
import { AppError } from '../lib/app-error.ts';
import { query, sql } from '../lib/sql.ts';

export type Actor = { userId: string; role: Role; teamIds: string[]; sessionId: string };

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type SessionRow = { userId: string; role: Role; teamIds: string[] };

export type AccessClaims = { sub: string; sid: string; typ: 'access'; iat: number; exp: number };

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
  interface FastifyContextConfig {
    public?: boolean;
    roles?: Role[];
  }
  interface FastifyInstance {
    signAccessToken(userId: string, sessionId: string): { token: string; expiresIn: number };
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

export const authPlugin = fp(
  async (app) => {
    const { auth } = app.config;
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

    app.decorate('signAccessToken', (userId: string, sessionId: string) => {
      const iat = Math.floor(app.clock().getTime() / 1000);
      const exp = iat + auth.accessTtlSeconds;
      const token = app.jwt.sign({ sub: userId, sid: sessionId, typ: 'access', iat, exp });
      return { token, expiresIn: auth.accessTtlSeconds };
    });

    app.decorateRequest('actor', null);

    app.addHook('onRequest', async (req) => {
      const cfg = req.routeOptions.config;
      if (cfg?.public || !req.routeOptions.url) return;
      const header = req.headers.authorization;
      if (!header || !/^Bearer\s+\S+$/i.test(header)) {
        throw new AppError('UNAUTHENTICATED', 'A bearer access token is required.');
      }
      let claims: AccessClaims;
      try {
        claims = await req.jwtVerify<AccessClaims>();
      } catch {
        throw new AppError('INVALID_TOKEN');
      }
      if (claims.typ !== 'access' || !UUID_RE.test(String(claims.sid)) || !UUID_RE.test(String(claims.sub))) {
        throw new AppError('INVALID_TOKEN');
      }
      // One indexed statement (primary keys of sessions and users, the team_members
      // index) instead of a Prisma relation load: the per-request fixed cost.
      // Measured with bench/api.bench.ts; see README (Benchmarks).
      const [row] = await query<SessionRow>(
        app.sqlPool,
        sql`SELECT u.id AS "userId", u.role::text AS role,
                   ARRAY(SELECT tm.team_id::text FROM team_members tm WHERE tm.user_id = u.id ORDER BY tm.team_id) AS "teamIds"
            FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.id = ${claims.sid}::uuid AND s.user_id = ${claims.sub}::uuid
              AND s.revoked_at IS NULL AND s.expires_at > ${app.clock()} AND u.active`,
      );
      if (!row) throw new AppError('INVALID_TOKEN');
      req.actor = { userId: row.userId, role: row.role, teamIds: row.teamIds, sessionId: claims.sid };
      if (cfg?.roles && !cfg.roles.includes(req.actor.role)) {
        throw new AppError('FORBIDDEN', 'Your role may not do this.');
      }
    });
  },
  { name: 'auth', dependencies: ['core'] },
);
