import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without types
import { manifestSource, VENDORED } from "../../scripts/build-assets.mjs";
// @ts-expect-error plain ESM script without types
import { findSecrets } from "../../scripts/check-secrets.mjs";

describe("repository checks", () => {
  it("T03 supply chain: the SRI manifest matches the scripts and styles in public/", () => {
    const committed = readFileSync(fileURLToPath(import.meta.resolve("../../src/web/asset-manifest.ts")), "utf8");
    expect(committed).toBe(manifestSource());
  });

  it("T03 supply chain: vendored front-end code (Swagger UI) is byte for byte the pinned, lockfile-verified npm package", () => {
    for (const [served, from] of Object.entries(VENDORED as Record<string, string>)) {
      const ours = readFileSync(fileURLToPath(import.meta.resolve(`../../public/${served}`)));
      const pinned = readFileSync(fileURLToPath(import.meta.resolve(`../../node_modules/${from}`)));
      expect(ours.equals(pinned), `${served}: run npm run build:assets`).toBe(true);
    }
  });

  it("T02 test keys: the secret scan flags real-looking Stripe keys and webhook secrets", () => {
    const fake = ["sk", "test", "4eC39HqLyjWDarjtT1zdp7dc"].join("_");
    const hook = ["whsec", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"].join("_");
    expect(findSecrets("x.ts", `const k = "${fake}";\nconst w = '${hook}';`)).toHaveLength(2);
    expect(findSecrets("x.ts", "STRIPE_WEBHOOK_SECRET=whsec_dev_only_simulator_secret")).toEqual([]);
  });
});

describe("dependencies (T04)", () => {
  it("T04 supply chain: every dependency is pinned to an exact version, locked, and only allow-listed packages may run install scripts", () => {
    const pkg = JSON.parse(readFileSync(fileURLToPath(import.meta.resolve("../../package.json")), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
      allowScripts?: Record<string, boolean>;
    };
    const lock = JSON.parse(readFileSync(fileURLToPath(import.meta.resolve("../../package-lock.json")), "utf8")) as {
      packages: Record<string, { version?: string; integrity?: string; hasInstallScript?: boolean }>;
    };
    for (const [name, range] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
      expect(range, name).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?$/);
      expect(lock.packages[`node_modules/${name}`]?.version, name).toBe(range);
    }
    // Every locked package carries an integrity hash (npm verifies it at install).
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path.startsWith("node_modules/") && entry.version) expect(entry.integrity, path).toMatch(/^sha(512|384|256|1)-/);
    }
    // allowScripts is complete (npm install does not warn) and lists nothing that has no script.
    const withScripts = new Set(
      Object.entries(lock.packages)
        .filter(([, e]) => e.hasInstallScript)
        .map(([p]) => p.split("node_modules/").at(-1)!),
    );
    expect(Object.keys(pkg.allowScripts ?? {}).sort()).toEqual([...withScripts].sort());
  });
});

describe("D1's 100 bound parameters (P13)", () => {
  /** Every inArray(...) / notInArray(...) call in src/, with its file. */
  function inArrayCalls(): { file: string; call: string }[] {
    const src = fileURLToPath(import.meta.resolve("../../src"));
    const files = readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) => /\.tsx?$/.test(f));
    return files.flatMap((file) => {
      const text = readFileSync(`${src}/${file}`, "utf8");
      return [...text.matchAll(/\b(?:not)?[iI]nArray\(\s*[^,()]+,\s*([^)]{0,40})/g)].map((m) => ({ file, call: m[0] }));
    });
  }

  it("P13 bound parameters: inArray takes only a literal list or a subquery; a list from data or a request goes through inList (one JSON parameter)", () => {
    const calls = inArrayCalls();
    expect(calls.length).toBeGreaterThan(0);
    const bound = calls.filter(({ call }) => !/,\s*(\[|db\s*\.\s*select)/.test(call));
    expect(bound, "bind ids with inList from src/db/client.ts: inArray binds one parameter per id, and D1 refuses over 100").toEqual([]);
    // The check can fail: a list built from data is caught.
    expect(/,\s*(\[|db\s*\.\s*select)/.test("inArray(products.id, ids)")).toBe(false);
  });
});
