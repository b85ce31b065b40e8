import { eq } from "drizzle-orm";
import { getDb } from "../db/client";
import { type Config, loadConfig } from "../platform/config";
import { type Mail, MailSchema } from "./mail";
import { mailDeadLetters, mailDeliveries, mailOutbox } from "./schema";

/** Where mail goes: the D1 dev outbox, an HTTP provider, or Cloudflare Email Service. */
export interface MailProvider {
  send(mail: Mail): Promise<void>;
}

/** Development: mail lands in the D1 outbox, readable at GET /api/dev/outbox. */
export class OutboxProvider implements MailProvider {
  constructor(private readonly db: D1Database) {}
  async send(mail: Mail): Promise<void> {
    await getDb(this.db)
      .insert(mailOutbox)
      .values({ to: mail.to, subject: mail.subject, text: mail.text, html: mail.html ?? null });
  }
}

/**
 * Production: an HTTP mail provider (JSON POST with a bearer token, the shape most transactional
 * providers accept: from, to, subject, text, html). Anything but a 2xx throws, so the queue retries.
 */
export class HttpProvider implements MailProvider {
  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly from: string,
  ) {}
  async send(mail: Mail): Promise<void> {
    const res = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ from: this.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`mail provider answered ${res.status}`);
  }
}

/**
 * Cloudflare Email Service through the `send_email` binding (EMAIL): HTML with its plain-text part,
 * from MAIL_FROM. A refusal (unverified sender, a limit) throws, so the queue retries it too.
 */
export class CloudflareEmailProvider implements MailProvider {
  constructor(
    private readonly binding: SendEmail,
    private readonly from: string,
  ) {}
  async send(mail: Mail): Promise<void> {
    await this.binding.send({ from: senderOf(this.from), to: mail.to, subject: mail.subject, text: mail.text, ...(mail.html ? { html: mail.html } : {}) });
  }
}

/** "Bastion <shop@example.com>" → { name, email }; a bare address stays a string. */
function senderOf(from: string): string | { email: string; name: string } {
  const m = /^\s*(.+?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(from);
  return m ? { name: m[1]!.replace(/^"|"$/g, ""), email: m[2]! } : from.trim();
}

/** The provider config names: the dev outbox outside production, else the HTTP provider or Cloudflare's binding. */
export function providerFor(env: Env, config: Config): MailProvider {
  const chosen = config.MAIL_PROVIDER ?? (config.ENVIRONMENT === "production" ? "http" : "outbox");
  // Production never writes mail into the database (the config gate refuses "outbox" there too).
  const provider = config.ENVIRONMENT === "production" && chosen === "outbox" ? "http" : chosen;
  const from = config.MAIL_FROM ?? "Bastion <no-reply@localhost>";
  if (provider === "outbox") return new OutboxProvider(env.DB);
  if (provider === "cloudflare") return new CloudflareEmailProvider(env.EMAIL, from);
  return new HttpProvider(config.MAIL_PROVIDER_URL ?? "", config.MAIL_PROVIDER_TOKEN ?? "", from);
}

/** Seconds before the next attempt: 30 s, 1 min, 2 min … capped at an hour (the queue gives up after max_retries). */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(3600, 30 * 2 ** Math.max(0, attempts - 1));
}

/**
 * The mail queue's consumer. Each message is sent once through the provider and acknowledged; a
 * failed send is retried later (backoff), and after the queue's last retry it goes to the dead-
 * letter queue, whose batches are kept in D1 (mail_dead_letters). A mail with a key that was
 * already delivered is acknowledged without sending again (the queue delivers at least once).
 */
export async function handleMailBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  if (batch.queue.endsWith("-dlq")) return keepDeadLetters(batch, env);
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    console.error(JSON.stringify({ level: "error", msg: "mail_queue_misconfigured", problems: loaded.problems }));
    batch.retryAll({ delaySeconds: 300 });
    return;
  }
  const provider = providerFor(env, loaded.config);
  const db = getDb(env.DB);
  for (const message of batch.messages) {
    const parsed = MailSchema.safeParse(message.body);
    if (!parsed.success) {
      // Nothing the shop sends looks like this: retrying it could never succeed.
      console.error(JSON.stringify({ level: "error", msg: "mail_message_invalid", id: message.id }));
      message.ack();
      continue;
    }
    const mail = parsed.data;
    try {
      if (mail.key && (await db.select().from(mailDeliveries).where(eq(mailDeliveries.key, mail.key)).limit(1)).length > 0) {
        message.ack();
        continue;
      }
      await provider.send(mail);
      if (mail.key) await db.insert(mailDeliveries).values({ key: mail.key }).onConflictDoNothing();
      message.ack();
    } catch (error) {
      const delaySeconds = retryDelaySeconds(message.attempts);
      console.error(
        JSON.stringify({
          level: "warn",
          msg: "mail_delivery_failed",
          id: message.id,
          attempts: message.attempts,
          retryInSeconds: delaySeconds,
          error: String(error),
        }),
      );
      message.retry({ delaySeconds });
    }
  }
}

/** The dead-letter queue's consumer: every mail that could not be sent is kept whole, and logged. */
async function keepDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = getDb(env.DB);
  for (const message of batch.messages) {
    const parsed = MailSchema.safeParse(message.body);
    const mail = parsed.success ? parsed.data : null;
    await db.insert(mailDeadLetters).values({
      key: mail?.key ?? null,
      to: mail?.to ?? "(invalid message)",
      subject: mail?.subject ?? "(invalid message)",
      message: JSON.stringify(message.body),
      attempts: message.attempts,
    });
    console.error(JSON.stringify({ level: "error", msg: "mail_dead_lettered", id: message.id, subject: mail?.subject ?? null }));
    message.ack();
  }
}
