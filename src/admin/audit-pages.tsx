import { Hono, type Context } from "hono";
import { z } from "zod";
import { requireFreshSession } from "../accounts/session";
import { listAuditEvents, openHeadMismatch, recordAuditRestored, verifyAuditLog, type AuditEvent } from "../audit/audit";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { Layout } from "../web/layout";
import { clientIp, staffUser } from "./guard";
import { StaffNav } from "./page-parts";

function AuditTable(props: { items: AuditEvent[] }) {
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">At</th>
          <th scope="col">Actor</th>
          <th scope="col">IP</th>
          <th scope="col">Action</th>
          <th scope="col">Subject</th>
          <th scope="col">Detail</th>
          <th scope="col">Hash</th>
        </tr>
      </thead>
      <tbody>
        {props.items.map((e) => (
          <tr>
            <td>{e.id}</td>
            <td>{e.at}</td>
            <td>{e.actor}</td>
            <td>{e.ip ?? ""}</td>
            <td>{e.action}</td>
            <td>{e.subject ?? ""}</td>
            <td>
              <code>{JSON.stringify(e.detail)}</code>
            </td>
            <td>
              <code title={e.hash}>{e.hash.slice(0, 12)}…</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const RestoredNote = z.string().trim().min(1).max(500);

/** The audit log page: the verdict, a page of events, and the explanation form while a loss is open. */
async function AuditPage(props: { c: Context<AppEnv>; error?: string }) {
  const { c } = props;
  const raw = Number(c.req.query("cursor") ?? "0");
  const cursor = Number.isSafeInteger(raw) && raw >= 0 ? raw : 0;
  // The open loss is asked for apart from the verdict: a verdict that fails earlier (rows after
  // the log's last event) says nothing of it, and the form must still be offered.
  // A page view verifies from the newest checkpoint (O(new events)); the button checks everything.
  const full = c.req.query("verify") === "full";
  const [page, verdict, loss] = await Promise.all([
    listAuditEvents(c.env.DB, cursor, 100),
    verifyAuditLog(c.env, { from: full ? "genesis" : "checkpoint" }),
    openHeadMismatch(c.env.DB),
  ]);
  return (
    <Layout title="Staff: audit log">
      <StaffNav />
      <h1>Audit log</h1>
      <p
        role="status"
        data-chain={verdict.ok ? "ok" : "broken"}
        data-problem={verdict.ok ? undefined : verdict.code}
        data-verified={full ? "full" : "checkpoint"}
      >
        {verdict.ok
          ? `Chain verified: ${verdict.count} events intact. ${full ? "Every event checked" : "Checked from the newest checkpoint"}; ${verdict.anchoredAt ? `R2 checkpoint at event ${verdict.anchoredAt} matched.` : "no R2 checkpoint yet."}`
          : `Chain BROKEN at event ${verdict.brokenAt}: ${verdict.reason} [${verdict.code}]`}
      </p>
      <form method="get" action="/admin/audit">
        <input type="hidden" name="verify" value="full" />
        <button type="submit">Verify every event</button>
      </form>
      {props.error ? <p role="alert">{props.error}</p> : null}
      {loss ? (
        <form method="post" action="/admin/audit/restored" class="form">
          <p>Once you know what happened, record it: the note is appended as an audit.restored event under your name.</p>
          <label>
            What happened, and what was re-entered
            <textarea name="note" required maxlength={500} rows={3}></textarea>
          </label>
          <button type="submit">Record the explanation</button>
        </form>
      ) : null}
      <AuditTable items={page.items} />
      {page.nextCursor ? <a href={`/admin/audit?cursor=${encodeURIComponent(page.nextCursor)}`}>Next page</a> : null}
    </Layout>
  );
}

/** Staff pages for the audit log (admin): the verdict, the events, and the explanation of a loss. */
export const auditPages = new Hono<AppEnv>()
  .get("/admin/audit", async (c) => c.html(await AuditPage({ c })))
  // The form twin of POST /api/admin/audit/restored (admin, fresh sign-in).
  .post("/admin/audit/restored", async (c) => {
    const form = await c.req.parseBody();
    const parsed = RestoredNote.safeParse(typeof form.note === "string" ? form.note : "");
    if (!parsed.success) return c.html(await AuditPage({ c, error: "Write what happened, in 1 to 500 characters." }), 422);
    try {
      requireFreshSession(staffUser(c));
      await recordAuditRestored(c.env, { id: staffUser(c).id, ip: clientIp(c) }, parsed.data);
    } catch (error) {
      if (error instanceof ProblemError && error.status < 500) return c.html(await AuditPage({ c, error: error.detail ?? error.code }), error.status);
      throw error;
    }
    return c.redirect("/admin/audit", 303);
  });
