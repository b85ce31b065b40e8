import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");

describe("the typed client", () => {
  it("client/schema.d.ts is generated from the committed openapi/openapi.json (run `npm run openapi`)", () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), "bastion-openapi-")), "schema.d.ts");
    execFileSync(path.join(ROOT, "node_modules", ".bin", "openapi-typescript"), ["openapi/openapi.json", "--output", out, "--redocly", "redocly.yaml"], {
      cwd: ROOT,
      stdio: "pipe",
    });
    expect(readFileSync(out, "utf8")).toBe(readFileSync(path.join(ROOT, "client", "schema.d.ts"), "utf8"));
  });

  it("Redocly's recommended rules pass on the committed document (redocly.yaml; npm test runs the same lint first)", () => {
    const result = execFileSync(path.join(ROOT, "node_modules", ".bin", "redocly"), ["lint", "openapi/openapi.json", "--format=summary"], {
      cwd: ROOT,
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
      encoding: "utf8",
      stdio: "pipe",
    });
    expect(result).not.toMatch(/error|warning/i);
  });
});
