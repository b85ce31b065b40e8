import { env } from "cloudflare:workers";

export type OutboxRow = { subject: string; text: string; html: string | null };

/** Every mail the dev outbox holds for `to`, oldest first. */
export async function outbox(to: string): Promise<OutboxRow[]> {
  return (await env.DB.prepare('SELECT subject, text, html FROM mail_outbox WHERE "to" = ? ORDER BY id').bind(to).all<OutboxRow>()).results;
}

/** Waits until the queue's consumer has put a mail for `to` that matches in the outbox; returns those that match. */
export async function waitForMail(to: string, matches: (m: OutboxRow) => boolean = () => true): Promise<OutboxRow[]> {
  for (let i = 0; i < 100; i++) {
    const rows = (await outbox(to)).filter(matches);
    if (rows.length > 0) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail for ${to} after 10 s`);
}
