import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Role } from '../../generated/prisma/enums.ts';
import { problemType } from '../../lib/app-error.ts';
import { IdParams, problems, Uuid } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import { sendProblem } from '../../plugins/errors.ts';
import { CreateExportBody, ExportSchema } from './exports.schemas.ts';
import { ExportGoneError, ExportsService } from './exports.service.ts';

export const exportRoutes: FastifyPluginAsyncZod = async (app) => {
  const exportsService = new ExportsService(app);
  const who: { roles: Role[] } = { roles: ['COORDINATOR', 'ADMIN'] };

  app.post('/v1/exports', {
    config: { ...who, recentAuth: true },
    schema: {
      tags: ['exports'],
      summary: 'Start an anonymised research export; it runs as a background job',
      body: CreateExportBody,
      description:
        '422 when k is below STATS_DEFAULT_K, or when the filters differ in one filter from an earlier published table or export and the two together isolate fewer than k cases (the problem names the earlier query).',
      response: { 202: z.object({ id: Uuid }), ...problems(400, 401, 403, 422, 503) },
    },
    handler: async (req, reply) => {
      const { id } = await exportsService.create(requireActor(req), req.body, req.id);
      return reply.code(202).header('location', `/v1/exports/${id}`).send({ id });
    },
  });

  app.get('/v1/exports/:id', {
    config: who,
    schema: {
      tags: ['exports'],
      summary: 'Status, progress and metadata of an export (its creator or an admin)',
      params: IdParams,
      response: { 200: ExportSchema, ...problems(400, 401, 403, 404) },
    },
    handler: async (req) => exportsService.get(requireActor(req), req.params.id),
  });

  app.get('/v1/exports/:id/download', {
    config: who,
    schema: {
      tags: ['exports'],
      summary: 'The export file (CSV or JSON), streamed; every download is audited',
      params: IdParams,
      response: {
        200: z.any().describe('the file: text/csv or application/json'),
        ...problems(400, 401, 403, 404, 409, 410),
      },
    },
    handler: async (req, reply) => {
      try {
        const file = await exportsService.openDownload(requireActor(req), req.params.id, req.id);
        return reply
          .header('content-type', file.contentType)
          .header('content-length', String(file.size))
          .header('content-disposition', `attachment; filename="${file.fileName}"`)
          .send(file.stream);
      } catch (err) {
        if (!(err instanceof ExportGoneError)) throw err;
        const gone = { type: problemType('EXPORT_GONE'), title: 'Gone', status: 410, detail: err.detail };
        return sendProblem(reply, req, gone);
      }
    },
  });
};
