import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without types
import { placeholderProblems } from "../../scripts/deploy-check.mjs";

const toml = readFileSync(path.resolve(import.meta.dirname, "../../wrangler.toml"), "utf8");

describe("npm run deploy:check placeholders (P17)", () => {
  it("P17 configuration: the repository's placeholder database id and example.com origin fail deploy:check", () => {
    const problems = placeholderProblems(toml) as string[];
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^database_id 00000000-0000-0000-0000-000000000000 is a placeholder/);
    expect(problems[1]).toMatch(/^PUBLIC_ORIGIN https:\/\/shop\.example\.com is a placeholder/);
  });

  it("a real database id and origin pass; localhost and example.org do not", () => {
    const real = toml.replaceAll("00000000-0000-0000-0000-000000000000", "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b");
    expect(placeholderProblems(real.replace("https://shop.example.com", "https://shop.bastion.dev"))).toEqual([]);
    expect(placeholderProblems(real.replace("https://shop.example.com", "https://localhost"))).toHaveLength(1);
    expect(placeholderProblems(real.replace("https://shop.example.com", "https://www.example.org"))).toHaveLength(1);
  });
});
