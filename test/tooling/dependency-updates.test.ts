import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

// P15 / T04: the payment and auth libraries stay current. renovate.json asks for update pull
// requests; these checks keep its groups in step with package.json and the lockfile.

const root = path.resolve(import.meta.dirname, "../..");
const readJson = <T>(file: string): T => JSON.parse(readFileSync(path.join(root, file), "utf8")) as T;

type Rule = { groupName?: string; matchPackageNames?: string[]; schedule?: string[]; allowedVersions?: string };
const renovate = readJson<{ extends?: string[]; rangeStrategy?: string; packageRules?: Rule[] }>("renovate.json");
const pkg = readJson<{ dependencies: Record<string, string>; devDependencies: Record<string, string> }>("package.json");
const lock = readJson<{ packages: Record<string, { version?: string }> }>("package-lock.json");
const direct = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });

/** Renovate's package-name match for the forms used here: an exact name or a `scope/**` glob. */
const matches = (pattern: string, name: string): boolean => (pattern.endsWith("/**") ? name.startsWith(pattern.slice(0, -2)) : pattern === name);
const ruleFor = (name: string): Rule[] => (renovate.packageRules ?? []).filter((r) => r.matchPackageNames?.some((p) => matches(p, name)));
const groupOf = (name: string): string | undefined => ruleFor(name).findLast((r) => r.groupName)?.groupName;

/** Every copy of `name` the lockfile installs. */
const copies = (name: string): string[] =>
  Object.entries(lock.packages)
    .filter(([at]) => at === `node_modules/${name}` || at.endsWith(`/node_modules/${name}`))
    .map(([, entry]) => entry.version ?? "");

describe("dependency updates (P15, T04)", () => {
  it("P15 outdated payment library: stripe and the better-auth family get update pull requests at any time, each family in one group, pinned exactly", () => {
    expect(renovate.extends).toContain("config:best-practices"); // npm releases only once 3 days old
    expect(renovate.rangeStrategy).toBe("pin");
    const auth = direct.filter((name) => name === "better-auth" || name.startsWith("@better-auth/"));
    expect(auth.sort()).toEqual(["@better-auth/core", "@better-auth/passkey", "@better-auth/utils", "better-auth"]);
    for (const name of [...auth, "stripe"]) {
      expect(groupOf(name), name).toBe(name === "stripe" ? "stripe" : "better-auth");
      expect(
        ruleFor(name).some((r) => r.schedule?.includes("at any time")),
        `${name} waits for the weekly schedule`,
      ).toBe(true);
    }
    // The family resolves to one copy of each package: the peers of @better-auth/passkey are the
    // versions package.json pins, not a second, older copy.
    for (const name of ["better-auth", "@better-auth/core", "@better-auth/utils", "@better-auth/passkey", "better-call", "@better-fetch/fetch"])
      expect(copies(name), name).toHaveLength(1);
    expect(pkg.dependencies["@better-auth/core"]).toBe(pkg.dependencies["better-auth"]);
  });

  it("the Cloudflare toolchain (wrangler, miniflare, workerd, the vitest plugin) is one update group", () => {
    const toolchain = ["wrangler", "miniflare", "workerd", "@cloudflare/vitest-plugin"];
    expect(new Set(toolchain.map(groupOf))).toEqual(new Set(["Cloudflare toolchain"]));
    // Every direct dependency from Cloudflare is in it.
    for (const name of direct.filter((n) => n.startsWith("@cloudflare/"))) expect(groupOf(name), name).toBe("Cloudflare toolchain");
  });

  it("node and @types/node stay on major 24; typescript on 5 (openapi-typescript's peer)", () => {
    expect(pkg.devDependencies.node).toMatch(/^24\./);
    expect(pkg.devDependencies["@types/node"]).toMatch(/^24\./);
    for (const name of ["node", "@types/node"]) expect(ruleFor(name).map((r) => r.allowedVersions)).toContain("<25");
    expect(ruleFor("typescript").map((r) => r.allowedVersions)).toContain("<6");
  });
});
