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

export type Actor = { userId: string; role: Role; teamIds: string[]; sessionId: string };

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
      if (claims.typ !== 'access' || typeof claims.sid !== 'string') throw new AppError('INVALID_TOKEN');
      const session = await app.db.session.findUnique({
        where: { id: claims.sid },
        select: {
          userId: true,
          revokedAt: true,
          expiresAt: true,
          user: { select: { id: true, role: true, active: true, memberships: { select: { teamId: true } } } },
        },
      });
      const now = app.clock();
      if (
        !session ||
        session.userId !== claims.sub ||
        session.revokedAt ||
        session.expiresAt <= now ||
        !session.user.active
      ) {
        throw new AppError('INVALID_TOKEN');
      }
      req.actor = {
        userId: session.user.id,
        role: session.user.role,
        teamIds: session.user.memberships.map((m) => m.teamId),
        sessionId: claims.sid,
      };
      if (cfg?.roles && !cfg.roles.includes(req.actor.role)) {
        throw new AppError('FORBIDDEN', 'Your role may not do this.');
      }
    });
  },
  { name: 'auth', dependencies: ['core'] },
);
