import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { problems } from '../../lib/http-schemas.ts';
import { requireActor } from '../../plugins/auth.ts';
import { NotificationSettingsService } from './notification-settings.service.ts';
import { NotificationSettingsSchema, PutNotificationSettingsBody } from './reminders.schemas.ts';

export const notificationSettingsRoutes: FastifyPluginAsyncZod = async (app) => {
  const settings = new NotificationSettingsService({
    db: app.db,
    config: app.config,
    crypto: app.crypto,
    clock: app.clock,
  });

  app.get('/v1/me/notification-settings', {
    schema: {
      tags: ['reminders'],
      summary: 'Your reminder channels (email on by default); the webhook secret is never returned',
      response: { 200: NotificationSettingsSchema, ...problems(401) },
    },
    handler: async (req) => settings.get(requireActor(req).userId),
  });

  app.put('/v1/me/notification-settings', {
    config: { recentAuth: true },
    schema: {
      tags: ['reminders'],
      summary: 'Set your reminder channels (recent authentication; you get a security notice naming the webhook host)',
      body: PutNotificationSettingsBody,
      response: { 200: NotificationSettingsSchema, ...problems(400, 401) },
    },
    handler: async (req) => settings.put(requireActor(req), req.body, req.id),
  });
};
