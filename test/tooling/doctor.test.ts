import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module script without types
import { doctorFindings, doctorReport } from "../../scripts/doctor.mjs";

// P17: `npm run doctor` flags unsafe production settings in wrangler.toml and local files.
const root = path.resolve(import.meta.dirname, "../..");
const work = mkdtempSync(path.join(tmpdir(), "bastion-doctor-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
mkdirSync(path.join(work, "public"));
copyFileSync(path.join(root, "public/_headers"), path.join(work, "public/_headers"));

/** The checks in this process (one wrangler config reader for the file, decision 014); `cli` runs the command itself. */
function doctor(toml: string, gitignore: string, opts: { cli?: boolean } = {}): { code: number; out: string } {
  writeFileSync(path.join(work, "wrangler.toml"), toml);
  writeFileSync(path.join(work, ".gitignore"), gitignore);
  if (!opts.cli) {
    const { text, bad } = doctorReport(doctorFindings(path.join(work, "wrangler.toml")));
    return { code: bad ? 1 : 0, out: text };
  }
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
  const good = readFileSync(path.join(root, "wrangler.toml"), "utf8").replace(/^main = .*$/m, "");

  it("passes the repository's own wrangler.toml and .gitignore", () => {
    const res = doctor(good, readFileSync(path.join(root, ".gitignore"), "utf8"));
    expect(res.out).not.toContain("UNSAFE");
    expect(res.code).toBe(0);
  });

  it("flags a secret in vars, the simulator and workers.dev in production, and a .gitignore without .dev.vars", () => {
    const bad = good
      .replace('PAYMENTS_PROVIDER = "stripe"', 'PAYMENTS_PROVIDER = "simulator"\nSTRIPE_SECRET_KEY = "sk_live_abc"')
      .replace(/(\[env\.production\][\s\S]*?)workers_dev = false/, "$1workers_dev = true");
    const res = doctor(bad, "node_modules/\n", { cli: true }); // the command itself: its exit code and output
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/UNSAFE\s+\[env\.production\.vars\] STRIPE_SECRET_KEY/);
    expect(res.out).toMatch(/UNSAFE\s+\[env\.production\.vars\] PAYMENTS_PROVIDER/);
    expect(res.out).toMatch(/UNSAFE\s+\[env\.production\] workers_dev/);
    expect(res.out).toMatch(/UNSAFE\s+\.gitignore\s+does not list \.dev\.vars/);
    expect(res.out).not.toContain("sk_live_abc");
  });

  it("flags static files that skip the worker without the security headers, and routes that skip it at all", () => {
    // Top level: only the API first (pages would skip the worker); production: nothing first.
    const loose = good
      .replace(/(\[env\.production\.assets\][^[]*?)run_worker_first = \[.*\]/, "$1run_worker_first = false")
      .replace(/run_worker_first = \[.*\]/, 'run_worker_first = ["/api/*"]');
    const res = doctor(loose, readFileSync(path.join(root, ".gitignore"), "utf8"));
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/UNSAFE\s+\[assets\] run_worker_first/);
    expect(res.out).toMatch(/UNSAFE\s+\[env\.production\.assets\] run_worker_first/);
    rmSync(path.join(work, "public/_headers"));
    try {
      const bare = doctor(good, readFileSync(path.join(root, ".gitignore"), "utf8"));
      expect(bare.code).toBe(1);
      expect(bare.out).toMatch(/UNSAFE\s+public\/_headers/);
    } finally {
      copyFileSync(path.join(root, "public/_headers"), path.join(work, "public/_headers"));
    }
  });
});
