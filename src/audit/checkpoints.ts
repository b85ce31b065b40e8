// The signed checkpoints in R2 (decision 006): each one read and checked, the newest found (and
// `latest.json` held to it), checkpoints of events the log recorded as lost set aside, and D1's
// events no checkpoint covers measured against how often the log writes them.
import { anchorKey, anchorProblem, HEAD_MISMATCH_ACTION, type AuditAnchor, type AuditKeyRing, type ChainFailure, type ChainProblem } from "./chain";
import { ANCHOR_EVERY, ANCHOR_MINUTES, LATEST_ANCHOR_KEY, MAX_BATCH } from "./log-state";

/** Events past the newest checkpoint before it counts as stale (the object anchors every ANCHOR_EVERY, after a batch). */
export const STALE_AFTER_EVENTS = ANCHOR_EVERY + MAX_BATCH;
/** Age of the oldest event no checkpoint covers before the checkpoints count as stale. */
export const STALE_AFTER_MS = (ANCHOR_MINUTES + 10) * 60_000;

/** A verdict that names the first bad event, what is wrong and why. */
export function fail(brokenAt: number, code: ChainProblem, reason: string): ChainFailure {
  return { ok: false, brokenAt, code, reason };
}

/** A loss the log recorded (`audit.head_mismatch`): D1 was found at `foundId` at time `at`. */
export interface RecordedLoss {
  at: string;
  foundId: number;
}

/**
 * Checkpoints of events the log recorded as lost (a Time Travel restore, truncated events):
 * written before the loss was recorded, for events after the point D1 was found at. They describe
 * the chain that was lost, and new events reuse their ids. The loss itself stays reported
 * (`unexplained_loss`) until an admin explains it, and on record after.
 */
function isObsolete(anchor: AuditAnchor, losses: readonly RecordedLoss[]): boolean {
  return losses.some((loss) => anchor.seq > loss.foundId && anchor.at < loss.at);
}

export async function recordedLosses(db: D1Database): Promise<RecordedLoss[]> {
  // Only keyed records count: one written without the key fails the chain check anyway.
  const { results } = await db
    .prepare("SELECT at, json_extract(detail, '$.foundId') AS found FROM audit_events WHERE action = ? AND key_id IS NOT NULL")
    .bind(HEAD_MISMATCH_ACTION)
    .all<{ at: string; found: number | null }>();
  return results.map((r) => ({ at: r.at, foundId: Number(r.found ?? 0) }));
}

/** Every checkpoint in R2 (after `startAfter`), oldest first, each checked; a bad one is a failure. */
export async function listAnchors(
  bucket: R2Bucket,
  keys: AuditKeyRing,
  losses: readonly RecordedLoss[] = [],
  startAfter?: string,
): Promise<AuditAnchor[] | ChainFailure> {
  const anchors: AuditAnchor[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: "anchors/", cursor, ...(startAfter ? { startAfter } : {}) });
    for (const object of page.objects) {
      const anchor = await readAnchor(bucket, object.key);
      const problem = await anchorProblem(anchor, keys);
      if (problem)
        return fail(
          (anchor as AuditAnchor | null)?.seq ?? 0,
          problem.includes("wrong key") ? "wrong_key" : "anchor_forged",
          `checkpoint ${object.key} ${problem}`,
        );
      if (anchorKey(anchor!.seq) !== object.key)
        return fail(anchor!.seq, "anchor_forged", `checkpoint ${object.key} holds the checkpoint of event ${anchor!.seq}: it was moved`);
      if (!isObsolete(anchor!, losses)) anchors.push(anchor!);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return anchors;
}

async function readAnchor(bucket: R2Bucket, key: string): Promise<AuditAnchor | null> {
  const object = await bucket.get(key);
  if (!object) return null;
  try {
    return (await object.json()) as AuditAnchor;
  } catch {
    return null;
  }
}

/**
 * The newest checkpoint, checked, or null when there is none. `latest.json` is a pointer; any
 * checkpoint after it means it was put back to an older one (stale).
 */
export async function newestAnchor(bucket: R2Bucket, keys: AuditKeyRing, losses: readonly RecordedLoss[]): Promise<AuditAnchor | null | ChainFailure> {
  let latest = await readAnchor(bucket, LATEST_ANCHOR_KEY);
  if (latest && isObsolete(latest, losses)) latest = null;
  const after = await listAnchors(bucket, keys, losses, latest ? anchorKey(latest.seq) : undefined);
  if (!Array.isArray(after)) return after;
  if (latest && after.length > 0) {
    return fail(
      latest.seq,
      "stale_anchor",
      `latest.json names the checkpoint of event ${latest.seq}, but checkpoints up to event ${after.at(-1)!.seq} exist: it was rolled back`,
    );
  }
  const newest = after.at(-1) ?? latest;
  if (!newest) return null;
  const problem = await anchorProblem(newest, keys);
  if (problem) return fail(newest.seq, problem.includes("wrong key") ? "wrong_key" : "anchor_forged", `the newest checkpoint ${problem}`);
  return newest;
}

/** D1's events no checkpoint covers: too many, or too old, means checkpoints were removed or stopped. */
export async function staleProblem(db: D1Database, newest: AuditAnchor | null, lastId: number): Promise<ChainFailure | null> {
  const covered = newest?.seq ?? 0;
  if (lastId - covered > STALE_AFTER_EVENTS) {
    return fail(
      covered + 1,
      "stale_anchor",
      `${lastId - covered} events follow the newest checkpoint (${newest ? `event ${covered}, ${newest.at}` : "none"}); one is written every ${ANCHOR_EVERY}: checkpoints were removed or stopped`,
    );
  }
  const oldest = await db.prepare("SELECT id, at FROM audit_events WHERE id > ? ORDER BY id LIMIT 1").bind(covered).first<{ id: number; at: string }>();
  if (oldest && Date.now() - Date.parse(oldest.at) > STALE_AFTER_MS) {
    return fail(
      Number(oldest.id),
      "stale_anchor",
      `event ${oldest.id} (${oldest.at}) is older than ${ANCHOR_MINUTES} minutes and no checkpoint covers it: checkpoints were removed or stopped`,
    );
  }
  return null;
}
