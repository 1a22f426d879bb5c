// Headers a client needs after a write, on every route alike:
// - ETag: `"<version>"` on any 2xx JSON answer to a write that carries an
//   integer `version` (the value to send back as If-Match), unless the route
//   set one (reads that need it, like GET /v1/cases/:id, set it themselves);
// - Location: on a 201, the record's own URL when the route names it with
//   `config: { location: '/v1/cases/:id' }`: each `:name` is the created
//   record's field of that name (`:id` its id, `:caseId` its case).
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The created record's URL template for the Location header of a 201. */
    location?: string;
  }
}

export const resourceHeadersPlugin = fp(
  async (app) => {
    app.addHook('onSend', async (req, reply, payload) => {
      const status = reply.statusCode;
      // Writes only: reads that need an ETag set it themselves, so no list or read pays for a JSON.parse here.
      if (req.method === 'GET' || req.method === 'HEAD') return payload;
      if (status < 200 || status >= 300 || typeof payload !== 'string' || !payload.startsWith('{')) return payload;
      const needsEtag = !reply.hasHeader('etag');
      const template = status === 201 ? req.routeOptions.config?.location : undefined;
      if (!needsEtag && !template) return payload;
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(payload) as Record<string, unknown>;
      } catch {
        return payload;
      }
      if (needsEtag && Number.isInteger(body.version)) reply.header('etag', `"${String(body.version)}"`);
      if (template) {
        let complete = true;
        const url = template.replace(/:(\w+)/g, (_, name: string) => {
          const v = body[name];
          if (typeof v === 'string' && /^[\w-]+$/.test(v)) return v;
          complete = false;
          return '';
        });
        if (complete) reply.header('location', url);
      }
      return payload;
    });
  },
  { name: 'resource-headers' },
);
