import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkRegister, collectTestTitles, extractTestTitles, generatedFiles, SEED_THREAT_IDS } from "../../scripts/threats.ts";
import { REGISTER, type Threat } from "../../threats/register.ts";

// The threat register is data (threats/register.ts); these checks keep it honest: a threat marked
// mitigated must name attack tests that exist, every seed threat must be there, and the generated
// THREATS.md / Threat Composer export / README summary must match the register.
describe("threat register", () => {
  const titles = collectTestTitles();

  it("is sound: mitigated threats name tests, every named test exists and starts with its threat id", () => {
    expect(checkRegister(REGISTER, titles)).toEqual([]);
  });

  it("covers every threat of the seed models (P03-P18, T01-T10)", () => {
    expect(SEED_THREAT_IDS).toHaveLength(26);
    expect(REGISTER.map((t) => t.id).sort()).toEqual([...SEED_THREAT_IDS].sort());
    // When the seed documents are on this machine, read the ids from them rather than trust the list.
    const seeds = "/work/shared/seeds";
    const pasta = path.join(seeds, "000_3fbfbbdd86b1f06a.txt");
    const stride = path.join(seeds, "004_98eef493a01fb756.txt");
    if (existsSync(pasta) && existsSync(stride)) {
      const pastaIds = [...readFileSync(pasta, "utf8").matchAll(/^(\d{1,2})\t/gm)].map((m) => `P${m[1]!.padStart(2, "0")}`);
      const strideIds = [...readFileSync(stride, "utf8").matchAll(/^\|\s*(T\d{2})\s*\|/gm)].map((m) => m[1]!);
      expect([...pastaIds, ...strideIds].sort()).toEqual([...SEED_THREAT_IDS].sort());
    }
  });

  it("fails on a bad register: a bogus test name, a mitigated threat without tests, a missing seed threat", () => {
    const base: Threat = REGISTER.find((t) => t.id === "P04")!;
    const fake: Threat[] = [
      { ...base, tests: ["P04 SQL injection: this test does not exist anywhere"] },
      { ...base, id: "P05", status: "mitigated", tests: [] },
      { ...base, id: "P06", status: "operator", operator: undefined, tests: [] },
      { ...base, id: "P07", status: "partial", tests: [base.tests[0]!] },
    ];
    const problems = checkRegister(fake, titles, ["P04", "P05", "P06", "P07", "P08"]);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining(
          'P04 (SQL injection reveals hidden products): names a test that does not exist: "P04 SQL injection: this test does not exist anywhere"',
        ),
        expect.stringContaining("P05 (SQL injection reveals hidden products): marked mitigated but names no test"),
        expect.stringContaining("P06 (SQL injection reveals hidden products): marked operator but documents no operator step"),
        expect.stringContaining(`does not start with P07`),
        "P08: a seed threat is missing from the register",
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it("fails when a seed mitigation (M-0xx) is not referenced by its threat", () => {
    const withoutSri = REGISTER.map((t) => (t.id === "T03" ? { ...t, mitigations: ["Nothing at all."] } : t));
    expect(checkRegister(withoutSri, titles)).toEqual(["M-004: not referenced by T03"]);
  });

  it("finds test titles in every quote style, including it.each and template literals", () => {
    const source = [
      `it("P03 double \\"quoted\\"", () => {});`,
      `test('P04 single quoted', async () => {});`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: test source whose title is a template literal
      "it(`T02 template ${label} kept as written`, () => {});",
      `it.each([1, 2])("T05 each %s", () => {});`,
      `it(name, () => {}); // not a literal: ignored`,
    ].join("\n");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the title as written in that source
    expect(extractTestTitles(source)).toEqual(['P03 double "quoted"', "P04 single quoted", "T02 template ${label} kept as written", "T05 each %s"]);
  });

  it("THREATS.md, threats/bastion.tc.json and the README summary are up to date (run `npm run threats`)", () => {
    for (const { file, content } of generatedFiles()) {
      expect(existsSync(file), `${file} is missing`).toBe(true);
      expect(readFileSync(file, "utf8"), `${path.basename(file)} is out of date: run \`npm run threats\``).toBe(content);
    }
  });
});
