import { recordAudit } from "../audit/audit";

/** Operator events moved per call, at most (admin:create writes one per run). */
const BATCH = 20;

/**
 * Moves events that operator tools wrote to D1 (`operator_events`) into the audit chain, oldest
 * first, marking each recorded only after the chain accepted it. An event is claimed by one
 * UPDATE before it is appended, so two sign-ins at once cannot record it twice.
 */
export async function recordOperatorEvents(env: Env, now: number = Date.now()): Promise<number> {
  const { results } = await env.DB.prepare("SELECT id, at, action, subject, detail FROM operator_events WHERE recorded_at IS NULL ORDER BY at, id LIMIT ?")
    .bind(BATCH)
    .all<{ id: string; at: number; action: string; subject: string | null; detail: string }>();
  let moved = 0;
  for (const event of results) {
    const claimed = await env.DB.prepare("UPDATE operator_events SET recorded_at = ? WHERE id = ? AND recorded_at IS NULL").bind(now, event.id).run();
    if (!claimed.meta.changes) continue;
    let detail: Record<string, unknown> = {};
    try {
      detail = JSON.parse(event.detail) as Record<string, unknown>;
    } catch {
      detail = { unparsed: event.detail.slice(0, 200) };
    }
    const appended = await recordAudit(env, {
      actor: "operator",
      action: event.action,
      subject: event.subject,
      detail: { ...detail, ranAt: new Date(event.at).toISOString() },
    });
    if (!appended) {
      await env.DB.prepare("UPDATE operator_events SET recorded_at = NULL WHERE id = ?").bind(event.id).run();
      break;
    }
    moved += 1;
  }
  return moved;
}
