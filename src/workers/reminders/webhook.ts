// Webhook delivery: a JSON body signed with HMAC-SHA256 over `<timestamp>.<body>`
// with the user's secret, carrying the reminder id as a stable idempotency key,
// posted over kept-alive connections to a target checked at send time: the
// host is resolved once, every address vetted, and the connection made only to
// those addresses (no second DNS answer can redirect it).
import { createHmac } from 'node:crypto';
import type { AppConfig } from '../../config.ts';
import type { Db } from '../../db.ts';
import { postJson } from '../../lib/http-post.ts';
import type { FieldCrypto } from '../../lib/field-crypto.ts';
import { resolveWebhookTarget } from '../../lib/webhook-target.ts';
import { labelCode, type ReminderLabel } from '../../modules/reminders/label.ts';
import { webhookSecretRef } from '../../modules/reminders/notification-settings.service.ts';
import { reminderMessage, type DeliveryDeadline } from './message.ts';

const SECRET_CACHE_MS = 30_000;
const TIMEOUT_MS = 10_000;

type Target = ({ url: string; secret: string } | { url: null; secret: null }) & { at: number; settingsAt: number };

/** The signature header value of a body sent at `timestamp` (seconds). */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export class WebhookSender {
  // Webhook targets are cached briefly per user: one settings read and one
  // decryption per user and half-minute instead of per reminder.
  private readonly cache = new Map<string, Target>();

  constructor(private readonly deps: { db: Db; config: AppConfig; crypto: FieldCrypto }) {}

  // A change of settings (a new URL, the channel turned off by "sign out everywhere") is seen at once: the
  // claim reads the settings' updated_at, and a cached target older than that is not used.
  private async target(userId: string, settingsAt: Date | null): Promise<Target> {
    const cached = this.cache.get(userId);
    const changedAt = settingsAt?.getTime() ?? 0;
    if (cached && Date.now() - cached.at < SECRET_CACHE_MS && cached.settingsAt >= changedAt) return cached;
    const s = await this.deps.db.notificationSettings.findUnique({ where: { userId } });
    const seen = s?.updatedAt.getTime() ?? 0;
    const entry: Target =
      s?.webhookEnabled && s.webhookUrl && s.webhookSecretEnc
        ? {
            at: Date.now(),
            settingsAt: seen,
            url: s.webhookUrl,
            secret: this.deps.crypto.decrypt(s.webhookSecretEnc, webhookSecretRef(userId)),
          }
        : { at: Date.now(), settingsAt: seen, url: null, secret: null };
    this.cache.set(userId, entry);
    return entry;
  }

  /** Sends one reminder to the user's webhook; throws unless it answers 2xx. */
  async send(
    reminderId: string,
    userId: string,
    label: ReminderLabel,
    d: DeliveryDeadline,
    settingsAt: Date | null = null,
  ): Promise<void> {
    const target = await this.target(userId, settingsAt);
    if (!target.url || !target.secret) throw new Error('webhook disabled or incomplete');
    const vetted = await resolveWebhookTarget(target.url, this.deps.config.webhooks.allowPrivate);
    const body = JSON.stringify({
      id: reminderId,
      idempotencyKey: reminderId,
      label: labelCode(label),
      text: reminderMessage(label, d).text,
      deadline: {
        id: d.id,
        kind: d.kind,
        title: d.title,
        dueAt: d.dueAt.toISOString(),
        dueDate: d.dueDate,
        timeZone: d.timeZone,
        status: d.status,
        citation: d.citation,
        verifyWithCounsel: d.verifyWithCounsel,
      },
      case: { id: d.case.id, reference: d.case.reference, pseudonym: d.case.person.pseudonym },
    });
    const ts = Math.floor(Date.now() / 1000).toString();
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'exile-case-backend-reminders/1',
      'idempotency-key': reminderId,
      'x-reminder-id': reminderId,
      'x-signature-timestamp': ts,
      'x-signature-256': signWebhook(target.secret, ts, body),
    };
    const res = await postJson(target.url, headers, body, TIMEOUT_MS, { connectTo: vetted.addresses });
    if (res.status < 200 || res.status >= 300) throw new Error(`webhook answered ${res.status}`);
  }
}
