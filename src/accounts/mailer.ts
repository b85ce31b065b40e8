import { enqueueMailSafely, type Mail } from "../mail/mail";
import type { Config } from "../platform/config";

export type { Mail } from "../mail/mail";

/** Sends the shop's account mail (verification, password reset, security notices). */
export interface Mailer {
  send(mail: Mail): Promise<void>;
}

/**
 * Account mail goes through the same mail queue as order mail (src/mail): the request never waits
 * for the provider, and a provider outage is retried, then kept, never lost.
 */
export function mailerFor(env: Env, _config: Config): Mailer {
  return { send: (mail) => enqueueMailSafely(env, mail) };
}

/** Sends without ever failing the request that caused the mail; failures are logged. */
export async function sendSafely(mailer: Mailer, mail: Mail): Promise<void> {
  try {
    await mailer.send(mail);
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "mail_send_failed", subject: mail.subject, error: String(error) }));
  }
}
