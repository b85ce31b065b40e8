import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without types
import { placeholderProblems, productionConfig } from "../../scripts/deploy-check.mjs";

const toml = readFileSync(path.resolve(import.meta.dirname, "../../wrangler.toml"), "utf8");
const work = mkdtempSync(path.join(tmpdir(), "bastion-deploy-check-test-"));

/** deploy:check's verdict on a wrangler.toml with this text, read by wrangler like the real one. */
function problemsOf(text: string): string[] {
  const dir = mkdtempSync(path.join(work, "config-"));
  writeFileSync(path.join(dir, "wrangler.toml"), text);
  return placeholderProblems(productionConfig(path.join(dir, "wrangler.toml")));
}

describe("npm run deploy:check placeholders (P17)", () => {
  it("P17 configuration: the repository's placeholder database id and example.com origin fail deploy:check", () => {
    const problems = problemsOf(toml);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^database_id 00000000-0000-0000-0000-000000000000 is a placeholder/);
    expect(problems[1]).toMatch(/^PUBLIC_ORIGIN https:\/\/shop\.example\.com is a placeholder/);
  });

  it("a real database id and origin pass; localhost and example.org do not", () => {
    const real = toml.replaceAll("00000000-0000-0000-0000-000000000000", "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b");
    expect(problemsOf(real.replace("https://shop.example.com", "https://shop.bastion.dev"))).toEqual([]);
    expect(problemsOf(real.replace("https://shop.example.com", "https://localhost"))).toHaveLength(1);
    expect(problemsOf(real.replace("https://shop.example.com", "https://www.example.org"))).toHaveLength(1);
  });

  it("reads the production environment, not the development values at the top level", () => {
    // The top level's database id is real and its origin localhost: only [env.production] counts.
    const devOnlyReal = toml
      .replace("00000000-0000-0000-0000-000000000000", "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b")
      .replace("https://shop.example.com", "https://shop.bastion.dev");
    expect(problemsOf(devOnlyReal)).toEqual([expect.stringMatching(/^database_id 0{8}-/)]);
  });

  it("a config without [env.production] is refused, with or without other environments", () => {
    const topLevelOnly = toml.slice(0, toml.indexOf("[env.production]"));
    expect(() => problemsOf(topLevelOnly)).toThrow(/has no \[env\.production\]/);
    expect(() => problemsOf(`${topLevelOnly}\n[env.staging]\nname = "bastion-staging"\n`)).toThrow(/No environment found .* "production"/);
  });
});
