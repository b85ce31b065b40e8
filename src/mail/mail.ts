import { z } from "zod";

/**
 * One outgoing mail: a plain-text body, and the same text as simple HTML (no tracking pixels, no
 * remote content). `key` makes it idempotent: a mail with a key is delivered at most once.
 */
export const MailSchema = z.object({
  to: z.email().max(320),
  subject: z.string().min(1).max(200),
  text: z.string().max(20_000),
  html: z.string().max(60_000).optional(),
  key: z.string().max(200).optional(),
});
export type Mail = z.infer<typeof MailSchema>;

const escapeHtml = (s: string): string => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

/**
 * The HTML part of a plain-text mail: each paragraph a `<p>`, each https/http link a link, all
 * text escaped. The text stays the source of truth, so both parts always say the same thing.
 */
export function htmlFromText(subject: string, text: string): string {
  const paragraphs = text
    .trim()
    .split(/\n{2,}/)
    .map((p) =>
      escapeHtml(p)
        .replace(/https?:\/\/[^\s<]+/g, (url) => `<a href="${url}">${url}</a>`)
        .replaceAll("\n", "<br>"),
    );
  return [
    "<!DOCTYPE html>",
    `<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>`,
    '<body style="font-family:system-ui,sans-serif;line-height:1.5;color:#111;max-width:36rem;margin:0 auto;padding:1rem">',
    ...paragraphs.map((p) => `<p>${p}</p>`),
    "</body></html>",
  ].join("\n");
}

/**
 * Puts a mail on the mail queue (a Cloudflare Queue): the request that caused it never waits for
 * the provider, and a provider outage is retried by the queue, then kept (dead letters).
 */
export async function enqueueMail(env: Env, mail: Mail): Promise<void> {
  const message = MailSchema.parse({ ...mail, html: mail.html ?? htmlFromText(mail.subject, mail.text) });
  await env.MAIL_QUEUE.send(message, { contentType: "json" });
}

/**
 * Enqueues without ever failing the request that caused the mail (a sign-up, a webhook): if the
 * queue itself refuses, the failure is logged, without the body, for the operator.
 */
export async function enqueueMailSafely(env: Env, mail: Mail): Promise<void> {
  try {
    await enqueueMail(env, mail);
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "mail_enqueue_failed", subject: mail.subject, error: String(error) }));
  }
}
