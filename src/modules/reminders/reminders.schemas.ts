import { z } from 'zod';

export const NotificationSettingsSchema = z.object({
  email: z.object({ enabled: z.boolean() }),
  webhook: z.object({
    url: z.string().nullable(),
    enabled: z.boolean(),
    secretSet: z.boolean().describe('the secret itself is never returned'),
  }),
});
export type NotificationSettingsDto = z.infer<typeof NotificationSettingsSchema>;

export const PutNotificationSettingsBody = z.strictObject({
  email: z.strictObject({ enabled: z.boolean() }),
  webhook: z
    .strictObject({
      url: z
        .url({ protocol: /^https?$/ })
        .max(2000)
        .nullable(),
      secret: z
        .string()
        .min(16, 'at least 16 characters')
        .max(200)
        .optional()
        .describe('HMAC-SHA256 key; omit to keep the current one'),
      enabled: z.boolean(),
    })
    .optional(),
});
export type PutNotificationSettings = z.infer<typeof PutNotificationSettingsBody>;
