import { createRoute, z } from "@hono/zod-openapi";
import { requireFreshSession } from "../accounts/session";
import { listAuditEvents, recordAuditRestored, verifyAuditLog } from "../audit/audit";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { clientIp, staffUser } from "./guard";
import { CursorQuery, guarded, jsonContent } from "./staff-api";

const AuditEventSchema = z
  .object({
    id: z.number().int(),
    at: z.string(),
    actor: z.string(),
    ip: z.string().nullable(),
    action: z.string(),
    subject: z.string().nullable(),
    detail: z.unknown(),
    hash: z.string(),
    prevHash: z.string(),
  })
  .openapi("AuditEvent");

const listAuditRoute = createRoute({
  method: "get",
  path: "/admin/audit",
  operationId: "adminListAuditEvents",
  tags: ["Staff"],
  summary: "Audit events, oldest first (admin). No route changes or deletes an event.",
  request: { query: CursorQuery },
  responses: {
    200: { description: "A page", content: jsonContent(z.object({ items: z.array(AuditEventSchema), nextCursor: z.string().nullable() })) },
    ...guarded,
  },
});
const verifyAuditRoute = createRoute({
  method: "get",
  path: "/admin/audit/verify",
  operationId: "adminVerifyAuditLog",
  tags: ["Staff"],
  summary: "Verify the audit log (admin): from the newest R2 checkpoint (O(new events)), or every event and checkpoint with `full=1`",
  request: { query: z.object({ full: z.enum(["0", "1"]).optional() }) },
  responses: {
    200: {
      description: "The verdict; `code` names the problem (gap, forged_row, unkeyed_row, wrong_key, events_refused, anchor_mismatch, stale_anchor…)",
      content: jsonContent(
        z.object({
          ok: z.boolean(),
          count: z.number().optional(),
          anchoredAt: z.number().nullable().optional(),
          brokenAt: z.number().optional(),
          code: z.string().optional(),
          reason: z.string().optional(),
        }),
      ),
    },
    ...guarded,
  },
});

const AuditRestoredBody = z
  .object({
    note: z
      .string()
      .trim()
      .min(1)
      .max(500)
      .openapi({ example: "Time Travel restore to 2026-11-26T09:00Z after a bad migration; events 812–830 re-entered from Workers Logs" }),
  })
  .strict()
  .openapi("AuditRestored");
const recordAuditRestoredRoute = createRoute({
  method: "post",
  path: "/admin/audit/restored",
  operationId: "adminRecordAuditRestored",
  tags: ["Staff"],
  summary:
    "Explain the newest unexplained loss of audit events (admin, signed in within 10 minutes): records an `audit.restored` event with the note and the `audit.head_mismatch` event it explains. The verify route reports the log as broken while any such loss is unexplained.",
  request: { body: { content: jsonContent(AuditRestoredBody), required: true } },
  responses: {
    201: { description: "Recorded", content: jsonContent(z.object({ id: z.number().int(), hash: z.string() })) },
    409: problemResponseSpec("no_open_loss: the log reports no loss to explain"),
    422: problemResponseSpec("Invalid or unknown field"),
    503: problemResponseSpec("audit_unavailable: nothing was recorded"),
    ...guarded,
  },
});

/** Staff API for the audit log (admin): read and verify it; no route changes or deletes an event. */
export const auditApi = createApiApp();

auditApi
  .openapi(listAuditRoute, async (c) => {
    const { cursor, limit } = c.req.valid("query");
    const after = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isSafeInteger(after) || after < 0) throw new ProblemError(400, "invalid_cursor", "The cursor is not one this API issued.");
    return c.json(await listAuditEvents(c.env.DB, after, limit ?? 50), 200);
  })
  .openapi(verifyAuditRoute, async (c) => {
    const verdict = await verifyAuditLog(c.env, { from: c.req.valid("query").full === "1" ? "genesis" : "checkpoint" });
    return c.json(verdict.ok ? { ok: true, count: verdict.count, anchoredAt: verdict.anchoredAt ?? null } : verdict, 200);
  })
  .openapi(recordAuditRestoredRoute, async (c) => {
    const staff = staffUser(c);
    requireFreshSession(staff);
    const event = await recordAuditRestored(c.env, { id: staff.id, ip: clientIp(c) }, c.req.valid("json").note);
    return c.json(event, 201);
  });
