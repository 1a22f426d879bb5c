// The caller's reminder channels: email (on by default) and a signed webhook
// whose secret is stored encrypted and never returned. Saving them re-plans
// the caller's pending reminders in the same transaction.
import type { AppConfig } from '../../config.ts';
import type { Db } from '../../db.ts';
import type { NotificationSettings } from '../../generated/prisma/client.ts';
import { AppError } from '../../lib/app-error.ts';
import type { FieldCrypto } from '../../lib/field-crypto.ts';
import { assertWebhookTarget } from '../../lib/webhook-target.ts';
import type { Viewer } from '../access/visibility.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { queueSecurityNotice } from '../auth/security-notices.ts';
import { ReminderPlanner } from './planner.ts';
import type { NotificationSettingsDto, PutNotificationSettings } from './reminders.schemas.ts';

export type NotificationSettingsDeps = { db: Db; config: AppConfig; crypto: FieldCrypto; clock: () => Date };

/** Where the webhook secret of a user is encrypted (associated data of the field encryption). */
export const webhookSecretRef = (userId: string) => ({
  table: 'notification_settings',
  column: 'webhook_secret_enc',
  rowId: userId,
});

type SettingsRow = Pick<NotificationSettings, 'emailEnabled' | 'webhookUrl' | 'webhookEnabled' | 'webhookSecretEnc'>;

function toSettingsDto(s: SettingsRow | null): NotificationSettingsDto {
  return {
    email: { enabled: s?.emailEnabled ?? true },
    webhook: {
      url: s?.webhookUrl ?? null,
      enabled: s?.webhookEnabled ?? false,
      secretSet: Boolean(s?.webhookSecretEnc),
    },
  };
}

export class NotificationSettingsService {
  private readonly planner: ReminderPlanner;

  constructor(private readonly deps: NotificationSettingsDeps) {
    this.planner = new ReminderPlanner(deps);
  }

  async get(userId: string): Promise<NotificationSettingsDto> {
    return toSettingsDto(await this.deps.db.notificationSettings.findUnique({ where: { userId } }));
  }

  /** Replaces the caller's channels (a webhook left out keeps its current values), audited; reminders follow. */
  async put(viewer: Viewer, body: PutNotificationSettings, requestId: string): Promise<NotificationSettingsDto> {
    const { db, config, crypto, clock } = this.deps;
    const userId = viewer.userId;
    const now = clock();
    const w = body.webhook;
    const saved = await db.$transaction(async (tx) => {
      const prev = await tx.notificationSettings.findUnique({ where: { userId } });
      const secretEnc = w?.secret
        ? crypto.encrypt(w.secret, webhookSecretRef(userId))
        : (prev?.webhookSecretEnc ?? null);
      if (w?.url) {
        await assertWebhookTarget(w.url, config.webhooks.allowPrivate).catch((e: Error) => {
          throw new AppError('VALIDATION', `webhook.url: ${e.message}`, {
            errors: [{ path: 'body.webhook.url', message: e.message }],
          });
        });
      }
      if (w?.enabled && (!w.url || !secretEnc)) {
        throw new AppError('VALIDATION', 'an enabled webhook needs a url and a secret', {
          errors: [
            {
              path: w.url ? 'body.webhook.secret' : 'body.webhook.url',
              message: 'required when the webhook is enabled',
            },
          ],
        });
      }
      const data = {
        emailEnabled: body.email.enabled,
        webhookUrl: w ? w.url : (prev?.webhookUrl ?? null),
        webhookEnabled: w ? w.enabled : (prev?.webhookEnabled ?? false),
        webhookSecretEnc: secretEnc,
      };
      const s = await tx.notificationSettings.upsert({ where: { userId }, create: { userId, ...data }, update: data });
      // The host (never the path or query, which may carry tokens) is recorded and told to the user: an
      // attacker's webhook shows up in the audit log and in the owner's inbox.
      const webhookHost = data.webhookUrl ? new URL(data.webhookUrl).host : null;
      const changes = {
        emailEnabled: { new: data.emailEnabled },
        webhookUrl: { personal: true },
        webhookHost: { old: prev?.webhookUrl ? new URL(prev.webhookUrl).host : null, new: webhookHost },
        webhookEnabled: { new: data.webhookEnabled },
        webhookSecret: { personal: true },
      };
      await appendAudit(
        tx,
        {
          actorId: userId,
          action: 'notification_settings.put',
          entityType: 'user',
          entityId: userId,
          requestId,
          changes,
        },
        now,
      );
      await queueSecurityNotice(
        tx,
        userId,
        'channels_changed',
        { emailEnabled: data.emailEnabled, webhookEnabled: data.webhookEnabled, webhookHost },
        now,
      );
      await this.planner.replanForUser(tx, viewer);
      return s;
    });
    return toSettingsDto(saved);
  }
}
