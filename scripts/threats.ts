// `npm run threats`: checks threats/register.ts against the attack tests, then writes THREATS.md,
// threats/bastion.tc.json (an AWS Threat Composer export) and the README summary between the
// `<!-- threats:start -->` / `<!-- threats:end -->` markers. `npm run threats -- --check` writes
// nothing and exits 1 when a file is out of date. test/tooling/threats.test.ts runs the same checks.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { REGISTER, type Threat } from "../threats/register.ts";

/** The ids a test title starts with: `P10/T07 race: …` → ["P10", "T07"]; `T10/M-009 …` → ["T10", "M-009"]. */
function leadingIds(title: string): string[] {
  const head = /^((?:[PT]\d{2}|M-\d{3})(?:\/(?:[PT]\d{2}|M-\d{3}))*)\b/.exec(title);
  return head ? head[1]!.split("/") : [];
}

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Every threat of the seed models: PASTA threats 3-18 and STRIDE threats T01-T10. */
export const SEED_THREAT_IDS: readonly string[] = [
  ...Array.from({ length: 16 }, (_, i) => `P${String(i + 3).padStart(2, "0")}`),
  ...Array.from({ length: 10 }, (_, i) => `T${String(i + 1).padStart(2, "0")}`),
];

/** The STRIDE seed's mitigations and the threats each one answers. */
export const SEED_MITIGATIONS: Readonly<Record<string, readonly string[]>> = {
  "M-001": ["T01"],
  "M-002": ["T02"],
  "M-003": ["T04"],
  "M-004": ["T03"],
  "M-005": ["T01"],
  "M-006": ["T01"],
  "M-007": ["T05"],
  "M-008": ["T06"],
  "M-009": ["T10"],
  "M-010": ["T05"],
  "M-011": ["T02"],
  "M-012": ["T07"],
  "M-013": ["T07"],
  "M-014": ["T08"],
  "M-015": ["T07"],
  "M-016": ["T07", "T08"],
  "M-017": ["T09"],
};

const STATUSES = new Set(["mitigated", "partial", "planned", "operator"]);

// it("…") / test('…') / it.each(…)(`…`): the first argument when it is a string literal.
const TEST_CALL =
  /\b(?:it|test)(?:\.(?:only|skip|todo|concurrent|fails|sequential)|\.each\([^)]*\))*\(\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)/g;

/** The test titles in one source file, exactly as written (template literals keep their `${…}`). */
export function extractTestTitles(source: string): string[] {
  return [...source.matchAll(TEST_CALL)].map((m) => m[1]!.slice(1, -1).replace(/\\(.)/g, "$1"));
}

function testFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(full);
    return /\.test\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

/** Every test title under test/ (test/**\/*.test.ts and .tsx). */
export function collectTestTitles(root: string = ROOT): Set<string> {
  return new Set(testFiles(path.join(root, "test")).flatMap((file) => extractTestTitles(readFileSync(file, "utf8"))));
}

/** Problems with a register: an empty list means it is sound. */
export function checkRegister(register: readonly Threat[], titles: ReadonlySet<string>, requiredIds: readonly string[] = SEED_THREAT_IDS): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const threat of register) {
    const where = `${threat.id} (${threat.title})`;
    if (seen.has(threat.id)) problems.push(`${where}: listed twice`);
    seen.add(threat.id);
    if (!STATUSES.has(threat.status)) problems.push(`${where}: unknown status "${threat.status}"`);
    if (threat.mitigations.length === 0) problems.push(`${where}: no mitigation described`);
    if (threat.status === "mitigated" && threat.tests.length === 0) problems.push(`${where}: marked mitigated but names no test`);
    if (threat.status === "operator" && !threat.operator?.trim()) problems.push(`${where}: marked operator but documents no operator step`);
    for (const title of threat.tests) {
      if (!titles.has(title)) problems.push(`${where}: names a test that does not exist: "${title}"`);
      else if (!leadingIds(title).includes(threat.id)) problems.push(`${where}: test "${title}" does not start with ${threat.id}`);
    }
  }
  for (const id of requiredIds) {
    if (!seen.has(id)) problems.push(`${id}: a seed threat is missing from the register`);
  }
  for (const [mid, threats] of Object.entries(SEED_MITIGATIONS)) {
    const used = register.some((t) => threats.includes(t.id) && t.mitigations.some((m) => m.includes(mid)));
    if (register.some((t) => threats.includes(t.id)) && !used) problems.push(`${mid}: not referenced by ${threats.join(" or ")}`);
  }
  return problems;
}

const cell = (text: string): string => text.replaceAll("|", "\\|").replaceAll("\n", " ");
const STATUS_LABEL: Record<string, string> = { mitigated: "**mitigated**", partial: "partial", planned: "planned", operator: "operator" };

function counts(register: readonly Threat[]): string {
  const by = (s: string) => register.filter((t) => t.status === s).length;
  const tests = new Set(register.flatMap((t) => t.tests)).size;
  return `${register.length} threats: ${by("mitigated")} mitigated, ${by("partial")} partial, ${by("operator")} operator, ${by("planned")} planned; ${tests} attack tests.`;
}

/** THREATS.md. */
export function renderMarkdown(register: readonly Threat[] = REGISTER): string {
  const rows = register.map(
    (t) =>
      `| ${t.id} | **${cell(t.title)}**<br>${cell(t.statement)} | ${STATUS_LABEL[t.status]} | ${t.mitigations.map(cell).join("<br>")}${t.operator ? `<br>**Operator:** ${cell(t.operator)}` : ""} | ${t.tests.length ? t.tests.map((x) => `\`${cell(x)}\``).join("<br>") : "—"} |`,
  );
  const operatorSteps = register.filter((t) => t.operator).map((t) => `- **${t.id} ${t.title}**: ${t.operator}`);
  return [
    "# Bastion threat register",
    "",
    "<!-- Generated by `npm run threats` from threats/register.ts: do not edit by hand. -->",
    "",
    "Threats come from two seed models: a PASTA model of an e-commerce application (threats 3-18,",
    "here P03-P18) and a STRIDE model of a Stripe Checkout flow (T01-T10, mitigations M-001..M-017).",
    "Status: **mitigated** (done in code, proven by the tests named), **partial** (part done, tests",
    "named, the rest being built or an operator step), **planned** (being built), **operator**",
    "(outside the code's reach: a documented step for the person running the shop).",
    "`npm test` fails when a mitigated threat names no test or a test that does not exist.",
    "",
    counts(register),
    "",
    "| id | threat | status | mitigations | tests |",
    "|---|---|---|---|---|",
    ...rows,
    "",
    "## Operator steps",
    "",
    ...operatorSteps,
    "",
  ].join("\n");
}

/** The summary table written into README.md between the threat markers. */
export function renderReadmeSummary(register: readonly Threat[] = REGISTER): string {
  return [
    counts(register),
    "",
    "| id | threat | status | tests |",
    "|---|---|---|---|",
    ...register.map((t) => `| ${t.id} | ${cell(t.title)} | ${STATUS_LABEL[t.status]} | ${t.tests.length} |`),
  ].join("\n");
}

const START = "<!-- threats:start -->";
const END = "<!-- threats:end -->";

/** README.md with the generated summary between the markers; everything else untouched. */
export function replaceReadmeSummary(readme: string, summary: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} … ${END} block`);
  return `${readme.slice(0, start + START.length)}\n${summary}\n${readme.slice(end)}`;
}

// Threat Composer wants UUIDs; deriving them from our ids keeps the export stable between runs.
function stableUuid(name: string): string {
  const h = createHash("sha256").update(`bastion:${name}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const STRIDE_NAMES: Record<string, string> = {
  S: "Spoofing",
  T: "Tampering",
  R: "Repudiation",
  I: "Information Disclosure",
  D: "Denial of Service",
  E: "Elevation of Privilege",
};

/** An AWS Threat Composer (schema 1) export of the register. */
export function renderThreatComposer(register: readonly Threat[] = REGISTER): object {
  const mitigations: { id: string; numericId: number; displayOrder: number; content: string; status: string; tags: string[] }[] = [];
  const mitigationLinks: { linkedId: string; mitigationId: string }[] = [];
  const threats = register.map((t, i) => {
    const threatId = stableUuid(t.id);
    t.mitigations.forEach((content, j) => {
      const id = stableUuid(`${t.id}/m${j}`);
      mitigations.push({
        id,
        numericId: mitigations.length + 1,
        displayOrder: mitigations.length + 1,
        content,
        status: t.status === "mitigated" ? "mitigationResolved" : t.status === "planned" ? "mitigationIdentified" : "mitigationInProgress",
        tags: [t.id, ...(content.match(/M-\d{3}/g) ?? [])],
      });
      mitigationLinks.push({ linkedId: threatId, mitigationId: id });
    });
    return {
      id: threatId,
      numericId: i + 1,
      displayOrder: i + 1,
      statement: t.statement,
      status: t.status === "mitigated" ? "threatResolved" : "threatIdentified",
      tags: [t.id, t.status],
      metadata: [
        { key: "STRIDE", value: [...t.stride] },
        { key: "Priority", value: t.priority },
        {
          key: "Comments",
          value: `${t.title}. Seed: ${t.seed}.${t.operator ? ` Operator: ${t.operator}` : ""}${t.tests.length ? ` Tests: ${t.tests.join("; ")}` : ""}`,
        },
      ],
      strideCategories: [...t.stride].map((letter) => STRIDE_NAMES[letter] ?? letter),
    };
  });
  return {
    schema: 1,
    applicationInfo: {
      name: "Bastion",
      description:
        "A shop on Cloudflare Workers (Hono, D1, Durable Objects, better-auth, Stripe Checkout). Generated from threats/register.ts by `npm run threats`.",
    },
    architecture: {
      description:
        "One worker: storefront pages, JSON API, webhooks; D1 for catalog, accounts, orders and the audit log; Durable Objects for carts, coupons, login throttling and the audit chain; Stripe Checkout for payments.",
    },
    dataflow: { description: "Shopper browser → worker (HTTPS) → D1 / Durable Objects; worker → Stripe API (HTTPS); Stripe → worker webhook (signed)." },
    assumptions: [],
    mitigations,
    assumptionLinks: [],
    mitigationLinks,
    threats,
  };
}

/** The generated files and their expected content. */
export function generatedFiles(root: string = ROOT, register: readonly Threat[] = REGISTER): { file: string; content: string }[] {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  return [
    { file: path.join(root, "THREATS.md"), content: renderMarkdown(register) },
    { file: path.join(root, "threats", "bastion.tc.json"), content: `${JSON.stringify(renderThreatComposer(register), null, 2)}\n` },
    { file: path.join(root, "README.md"), content: replaceReadmeSummary(readme, renderReadmeSummary(register)) },
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const problems = checkRegister(REGISTER, collectTestTitles());
  if (problems.length > 0) {
    console.error(`threats/register.ts has ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    process.exit(1);
  }
  const checkOnly = process.argv.includes("--check");
  let stale = 0;
  for (const { file, content } of generatedFiles()) {
    const current = existsSync(file) ? readFileSync(file, "utf8") : null;
    if (current === content) continue;
    stale += 1;
    if (checkOnly) console.error(`out of date: ${path.relative(ROOT, file)}`);
    else writeFileSync(file, content);
    if (!checkOnly) console.log(`wrote ${path.relative(ROOT, file)}`);
  }
  if (checkOnly && stale > 0) process.exit(1);
  console.log(counts(REGISTER));
}
