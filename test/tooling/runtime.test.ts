import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

// One runtime (decision 019): `npm run dev`, the vitest projects, the benches and `wrangler deploy`
// run the same workerd, through the same wrangler and miniflare. @cloudflare/vitest-plugin pins
// older ones of its own; `overrides` in package.json point it at the project's.

const root = path.resolve(import.meta.dirname, "../..");
const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, "utf8"));
const RUNTIME = ["wrangler", "miniflare", "workerd"] as const;

type LockEntry = { version?: string; dependencies?: Record<string, string> };
const lock = readJson(path.join(root, "package-lock.json")) as { packages: Record<string, LockEntry> };
const pkg = readJson(path.join(root, "package.json")) as { devDependencies: Record<string, string> };

/** Every copy of `name` the lockfile installs, by install path. */
function lockCopies(name: string): Array<{ at: string; version: string }> {
  return Object.entries(lock.packages)
    .filter(([at]) => at === `node_modules/${name}` || at.endsWith(`/node_modules/${name}`))
    .map(([at, entry]) => ({ at, version: entry.version ?? "" }));
}

/** The copy of `name` Node's resolution finds from package directory `from`: the nearest node_modules upward. */
function resolvedFrom(from: string, name: string): { dir: string; version: string } | null {
  for (let dir = from; dir.startsWith(root); dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (existsSync(path.join(candidate, "package.json"))) return { dir: candidate, version: String(readJson(path.join(candidate, "package.json")).version) };
    if (dir === root) break;
  }
  return null;
}

describe("one workerd for dev, tests, bench and deploy", () => {
  it("the lockfile installs one wrangler, one miniflare and one workerd, the versions package.json pins", () => {
    for (const name of RUNTIME) expect(lockCopies(name), name).toHaveLength(1);
    expect(lockCopies("wrangler")[0]?.version).toBe(pkg.devDependencies.wrangler);
    expect(lockCopies("miniflare")[0]?.version).toBe(pkg.devDependencies.miniflare);
    // wrangler's and miniflare's own workerd pins agree with the one installed copy.
    const workerd = lockCopies("workerd")[0]?.version;
    expect(lock.packages["node_modules/wrangler"]?.dependencies?.workerd).toBe(workerd);
    expect(lock.packages["node_modules/miniflare"]?.dependencies?.workerd).toBe(workerd);
    expect(lock.packages["node_modules/wrangler"]?.dependencies?.miniflare).toBe(pkg.devDependencies.miniflare);
    // The platform binary workerd runs is the same release on every OS.
    const binaries = Object.entries(lock.packages).filter(([at]) => /node_modules\/@cloudflare\/workerd-[^/]+$/.test(at));
    expect(binaries.length).toBeGreaterThan(0);
    for (const [at, entry] of binaries) expect(entry.version, at).toBe(workerd);
  });

  it("wrangler, miniflare and @cloudflare/vitest-plugin resolve the same installed copies in node_modules", () => {
    const importers = ["wrangler", "miniflare", "@cloudflare/vitest-plugin"].map((name) => path.join(root, "node_modules", name));
    for (const importer of importers) expect(existsSync(importer), importer).toBe(true);
    for (const name of RUNTIME) {
      const seen = new Set(
        importers
          .filter((importer) => path.basename(importer) !== name)
          .map((importer) => {
            const found = resolvedFrom(importer, name);
            expect(found, `${name} from ${path.relative(root, importer)}`).not.toBeNull();
            return `${path.relative(root, found?.dir ?? "")}@${found?.version}`;
          }),
      );
      expect([...seen], name).toEqual([`node_modules/${name}@${lockCopies(name)[0]?.version}`]);
    }
  });
});
