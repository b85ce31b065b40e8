import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

// P17: `npm run doctor` flags unsafe production settings in wrangler.toml and local files.
const root = path.resolve(import.meta.dirname, "../..");
const work = mkdtempSync(path.join(tmpdir(), "bastion-doctor-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function doctor(toml: string, gitignore: string): { code: number; out: string } {
  writeFileSync(path.join(work, "wrangler.toml"), toml);
  writeFileSync(path.join(work, ".gitignore"), gitignore);
  try {
    return {
      code: 0,
      out: execFileSync("node", [path.join(root, "scripts/doctor.mjs"), "--config", path.join(work, "wrangler.toml")], { cwd: root, encoding: "utf8" }),
    };
  } catch (error) {
    const e = error as { status: number; stdout: string };
    return { code: e.status, out: e.stdout };
  }
}

describe("npm run doctor (P17)", () => {
  const good = readFileSync(path.join(root, "wrangler.toml"), "utf8")
    .replace(/^main = .*$/m, "")
    .replace(/\[assets\][^[]*/, "");

  it("passes the repository's own wrangler.toml and .gitignore", () => {
    const res = doctor(good, readFileSync(path.join(root, ".gitignore"), "utf8"));
    expect(res.out).not.toContain("UNSAFE");
    expect(res.code).toBe(0);
  });

  it("flags a secret in vars, the simulator and workers.dev in production, and a .gitignore without .dev.vars", () => {
    const bad = good
      .replace('PAYMENTS_PROVIDER = "stripe"', 'PAYMENTS_PROVIDER = "simulator"\nSTRIPE_SECRET_KEY = "sk_live_abc"')
      .replace(/(\[env\.production\][\s\S]*?)workers_dev = false/, "$1workers_dev = true");
    const res = doctor(bad, "node_modules/\n");
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/UNSAFE\s+\[env\.production\.vars\] STRIPE_SECRET_KEY/);
    expect(res.out).toMatch(/UNSAFE\s+\[env\.production\.vars\] PAYMENTS_PROVIDER/);
    expect(res.out).toMatch(/UNSAFE\s+\[env\.production\] workers_dev/);
    expect(res.out).toMatch(/UNSAFE\s+\.gitignore\s+does not list \.dev\.vars/);
    expect(res.out).not.toContain("sk_live_abc");
  });
});
