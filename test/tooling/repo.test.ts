import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without types
import { manifestSource } from "../../scripts/build-assets.mjs";
// @ts-expect-error plain ESM script without types
import { findSecrets } from "../../scripts/check-secrets.mjs";

describe("repository checks", () => {
  it("T03 supply chain: the SRI manifest matches the scripts and styles in public/", () => {
    const committed = readFileSync(fileURLToPath(import.meta.resolve("../../src/web/asset-manifest.ts")), "utf8");
    expect(committed).toBe(manifestSource());
  });

  it("T02 test keys: the secret scan flags real-looking Stripe keys and webhook secrets", () => {
    const fake = ["sk", "test", "4eC39HqLyjWDarjtT1zdp7dc"].join("_");
    const hook = ["whsec", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"].join("_");
    expect(findSecrets("x.ts", `const k = "${fake}";\nconst w = '${hook}';`)).toHaveLength(2);
    expect(findSecrets("x.ts", "STRIPE_WEBHOOK_SECRET=whsec_dev_only_simulator_secret")).toEqual([]);
  });
});
