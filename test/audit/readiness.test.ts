import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { recordAudit } from "../../src/audit/audit";
import { auditRows, lastAuditId, tamperWithAudit } from "../support/audit";

// The readiness route (`/readyz`) is what an uptime monitor watches: it must turn red when the
// audit chain no longer verifies, not only when the config or D1 fail (issue 19, T10).

async function readyz(): Promise<Response> {
  return exports.default.fetch(new Request("http://localhost:8787/readyz"));
}

describe("readiness and the audit chain", () => {
  it("T10 readiness: /readyz answers 200 on an intact chain and 503 audit_chain_broken naming the problem after a row is forged in D1", async () => {
    for (let i = 0; i < 3; i++) expect(await recordAudit(env, { actor: "system", action: "test.readiness", detail: { i } })).not.toBeNull();
    const ok = await readyz();
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: "ready" });

    // An operator with D1 access rewrites the newest event's detail (its hash no longer matches).
    const last = await lastAuditId();
    await tamperWithAudit("UPDATE audit_events SET detail = ? WHERE id = ?", JSON.stringify({ i: 99 }), last);
    const before = await auditRows();
    const broken = await readyz();
    expect(broken.status).toBe(503);
    expect(broken.headers.get("content-type")).toContain("application/problem+json");
    const body = (await broken.json()) as { code: string; detail: string };
    expect(body.code).toBe("audit_chain_broken");
    expect(body.detail).toContain(`event ${last}`);
    // The check only reads: nothing was appended or changed.
    expect(await auditRows()).toEqual(before);
  });
});
