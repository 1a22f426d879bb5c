// GET /v1/meta/enums: every enumeration of the API by name, so a client can
// build its pick lists without reading the schema. Generated from the
// database enums (the single source of the values the API accepts), plus the
// few API-level lists that are not stored as enums.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as DbEnums from '../../generated/prisma/enums.ts';
import { problems } from '../../lib/http-schemas.ts';
import { ExportFormat } from '../exports/exports.schemas.ts';
import { CaseLinkKind, RelationKind } from '../relations/relations.schemas.ts';

/** API-level lists that are not database enums. */
const API_ENUMS: Record<string, readonly string[]> = {
  SecondFactorMethod: ['totp', 'webauthn', 'recovery'],
  ExportFormat: ExportFormat.options,
  RelationKind: RelationKind.options,
  CaseLinkKind: CaseLinkKind.options,
};

export function apiEnums(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(DbEnums)) {
    if (value && typeof value === 'object') out[name] = Object.values(value as Record<string, string>);
  }
  for (const [name, values] of Object.entries(API_ENUMS)) out[name] = [...values];
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

export const metaRoutes: FastifyPluginAsyncZod = async (app) => {
  const enums = apiEnums();
  app.get('/v1/meta/enums', {
    schema: {
      tags: ['meta'],
      summary: 'Every enumeration of the API by name (event types, mechanisms, roles, deadline kinds, …)',
      response: {
        200: z
          .record(z.string(), z.array(z.string()))
          .describe('enum name → allowed values, in the order the API documents them'),
        ...problems(401),
      },
    },
    handler: async () => enums,
  });
};
