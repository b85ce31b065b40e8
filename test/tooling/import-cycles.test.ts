import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// Imports run downward (docs/architecture.md "Layers"), so src/ has no import cycle: not through
// runtime imports, and not through `import type` either (a type passed back up is still a file
// that knows the one above it). This resolves every relative import of every file under src/
// (type-only, re-exports and dynamic imports included) and fails on any strongly connected group.

const SRC = path.resolve(import.meta.dirname, "../../src");
/**
 * Cycles that exist and are waiting for their fix, each with why it is not fixed yet. Nothing else
 * may join this list: break a new cycle by moving what both files need into a leaf module.
 */
const KNOWN_CYCLES: readonly string[] = [];

const EXTENSIONS = [".ts", ".tsx", "/index.ts", "/index.tsx"];

/** The file a relative specifier names, among `files` (paths relative to src/, with "/"), or null. */
function resolveRelative(from: string, specifier: string, files: ReadonlySet<string>): string | null {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  const stem = base.replace(/\.(js|jsx|mjs)$/, "");
  for (const candidate of [base, ...EXTENSIONS.map((ext) => stem + ext)]) if (files.has(candidate)) return candidate;
  return null;
}

/** Each file's relative imports, resolved to files; an unresolvable one is reported, not ignored. */
function importGraph(sources: Readonly<Record<string, string>>): { edges: Map<string, string[]>; unresolved: string[] } {
  const files = new Set(Object.keys(sources));
  const edges = new Map<string, string[]>();
  const unresolved: string[] = [];
  for (const [file, text] of Object.entries(sources)) {
    const targets = new Set<string>();
    for (const { fileName: specifier } of ts.preProcessFile(text, true, true).importedFiles) {
      if (!specifier.startsWith(".")) continue;
      const target = resolveRelative(file, specifier, files);
      if (target) targets.add(target);
      else unresolved.push(`${file} → ${specifier}`);
    }
    edges.set(file, [...targets].sort());
  }
  return { edges, unresolved };
}

/** Every import cycle, one per strongly connected group (Tarjan), each as a closed path a → … → a. */
function importCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1 || (edges.get(v) ?? []).includes(v)) groups.push(group);
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return groups.map((group) => closedPath(group.sort()[0]!, new Set(group), edges));
}

/** A shortest path from `start` back to itself inside its group (breadth first), for the message. */
function closedPath(start: string, group: ReadonlySet<string>, edges: ReadonlyMap<string, readonly string[]>): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of edges.get(v) ?? []) {
      if (!group.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0]!)!);
        return [...path, start];
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

function sourcesUnder(dir: string): Record<string, string> {
  const sources: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.tsx?$/.test(entry.name)) continue;
    const full = path.join(entry.parentPath, entry.name);
    sources[path.relative(dir, full).split(path.sep).join("/")] = readFileSync(full, "utf8");
  }
  return sources;
}

describe("import cycles", () => {
  it("finds a cycle through type-only imports and re-exports, and none in a chain", () => {
    const cyclic = importGraph({
      "a/log.ts": 'import type { Event } from "../b/types";\nexport const log = 1;',
      "b/types.ts": 'export { log } from "../a/log";\nexport interface Event {}',
      "c/leaf.ts": 'import { log } from "../a/log.ts";',
    });
    expect(cyclic.unresolved).toEqual([]);
    expect(importCycles(cyclic.edges)).toEqual([["a/log.ts", "b/types.ts", "a/log.ts"]]);
    const chain = importGraph({ "a.ts": 'import "./b";', "b.tsx": 'const m = await import("./c");', "c/index.ts": "// import './a'" });
    expect(chain.edges.get("b.tsx")).toEqual(["c/index.ts"]);
    expect(importCycles(chain.edges)).toEqual([]);
  });

  it("src/ imports form a DAG: no file imports, even for a type, a file that imports it back", () => {
    const { edges, unresolved } = importGraph(sourcesUnder(SRC));
    expect(unresolved).toEqual([]);
    expect(edges.size).toBeGreaterThan(50);
    const cycles = importCycles(edges).map((cycle) => cycle.join(" → "));
    expect(cycles.filter((cycle) => !KNOWN_CYCLES.includes(cycle))).toEqual([]);
    // A known cycle that is gone must leave the list, so it cannot come back unnoticed.
    expect(KNOWN_CYCLES.filter((cycle) => !cycles.includes(cycle))).toEqual([]);
  });

  it("the coupon ledgers are reached only through src/coupons/: a hold's life through coupon-hold.ts, a cart's check through coupons.ts", () => {
    const sources = sourcesUnder(SRC);
    const { edges } = importGraph(sources);
    const importersOf = (target: string): string[] =>
      [...edges]
        .filter(([, to]) => to.includes(target))
        .map(([from]) => from)
        .sort();
    // index.ts only exports the class for wrangler's binding.
    expect(importersOf("coupons/coupon-object.ts").filter((f) => !f.startsWith("coupons/"))).toEqual(["index.ts"]);
    // ledger-carry.ts moves uses between ledgers when a layout changes their names (decision 027).
    expect(importersOf("coupons/ledgers.ts")).toEqual(["coupons/coupon-hold.ts", "coupons/coupons.ts", "coupons/ledger-carry.ts"]);
    expect(
      Object.keys(sources)
        .filter((f) => sources[f]!.includes("env.COUPON"))
        .sort(),
    ).toEqual(["coupons/ledgers.ts"]);
  });
});
