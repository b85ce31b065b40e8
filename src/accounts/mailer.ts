import type { Config } from "../platform/config";
import { getDb } from "../db/client";
import { mailOutbox } from "../db/schema";

/** One outgoing mail. Plain text only: no tracking pixels, no remote content. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/** Sends the shop's mail (verification, password reset, security notices). */
export interface Mailer {
  send(mail: Mail): Promise<void>;
}

/** Development and test: mail lands in the D1 outbox, readable at GET /api/dev/outbox. */
export class DevOutboxMailer implements Mailer {
  constructor(private readonly db: D1Database) {}
  async send(mail: Mail): Promise<void> {
    await getDb(this.db).insert(mailOutbox).values(mail);
  }
}

/**
 * Production: an HTTP mail provider (JSON POST with a bearer token, the shape most transactional
 * providers accept). A failed send is logged without the message body, never thrown at the user.
 */
export class HttpMailer implements Mailer {
  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly from: string,
  ) {}
  async send(mail: Mail): Promise<void> {
    const res = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ from: this.from, to: mail.to, subject: mail.subject, text: mail.text }),
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) throw new Error(`mail provider answered ${res.status}`);
  }
}

/** The mailer this environment uses: the outbox outside production, the HTTP provider in it. */
export function mailerFor(env: Env, config: Config): Mailer {
  if (config.ENVIRONMENT !== "production") return new DevOutboxMailer(env.DB);
  return new HttpMailer(config.MAIL_PROVIDER_URL ?? "", config.MAIL_PROVIDER_TOKEN ?? "", config.MAIL_FROM ?? "Bastion <no-reply@localhost>");
}

/** Sends without ever failing the request that caused the mail; failures are logged. */
export async function sendSafely(mailer: Mailer, mail: Mail): Promise<void> {
  try {
    await mailer.send(mail);
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "mail_send_failed", subject: mail.subject, error: String(error) }));
  }
}
