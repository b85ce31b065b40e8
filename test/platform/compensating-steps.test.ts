import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runSteps, type Step } from "../../src/platform/compensating-steps";

/** What the steps did, in order: "run a", "undo a", … */
type Journal = string[];

/** A step named `name` that journals its run and undo; `fails` makes the run throw, `undoFails` the undo. */
function step(name: string, opts: { fails?: Error; undoFails?: Error; noUndo?: boolean } = {}): Step<Journal> {
  return {
    name,
    run: async (journal) => {
      journal.push(`run ${name}`);
      if (opts.fails) throw opts.fails;
    },
    ...(!opts.noUndo && {
      undo: async (journal: Journal) => {
        journal.push(`undo ${name}`);
        if (opts.undoFails) throw opts.undoFails;
      },
    }),
  };
}

/** Runs `steps`, returning the journal, what was reported and what was thrown (null when nothing was). */
async function run(
  steps: Step<Journal>[],
  report?: (step: string, error: unknown) => void,
): Promise<{ journal: Journal; reported: [string, unknown][]; thrown: unknown }> {
  const journal: Journal = [];
  const reported: [string, unknown][] = [];
  let thrown: unknown = null;
  try {
    await runSteps(journal, steps, (name, error) => {
      reported.push([name, error]);
      report?.(name, error);
    });
  } catch (error) {
    thrown = error;
  }
  return { journal, reported, thrown };
}

describe("compensating steps", () => {
  it("runs every step in order and undoes nothing when all succeed", async () => {
    const { journal, reported, thrown } = await run([step("a"), step("b"), step("c")]);
    expect(journal).toEqual(["run a", "run b", "run c"]);
    expect(reported).toEqual([]);
    expect(thrown).toBeNull();
  });

  it("a step failing in the middle undoes exactly the earlier steps, in reverse, and throws its own error", async () => {
    const cause = new Error("c failed");
    const { journal, reported, thrown } = await run([step("a"), step("b"), step("c", { fails: cause }), step("d")]);
    // c's own undo does not run (it took nothing), d never runs.
    expect(journal).toEqual(["run a", "run b", "run c", "undo b", "undo a"]);
    expect(thrown).toBe(cause);
    expect(reported).toEqual([]);
  });

  it("skips steps that have nothing to undo", async () => {
    const cause = new Error("d failed");
    const { journal, thrown } = await run([step("a"), step("check", { noUndo: true }), step("c"), step("d", { fails: cause })]);
    expect(journal).toEqual(["run a", "run check", "run c", "run d", "undo c", "undo a"]);
    expect(thrown).toBe(cause);
  });

  it("the first step failing undoes nothing", async () => {
    const cause = new Error("a failed");
    const { journal, thrown } = await run([step("a", { fails: cause }), step("b")]);
    expect(journal).toEqual(["run a"]);
    expect(thrown).toBe(cause);
  });

  it("an undo that fails is reported, the other undos still run, and the original error is thrown", async () => {
    const cause = new Error("d failed");
    const undoError = new Error("b's undo failed");
    const { journal, reported, thrown } = await run([step("a"), step("b", { undoFails: undoError }), step("c"), step("d", { fails: cause })]);
    expect(journal).toEqual(["run a", "run b", "run c", "run d", "undo c", "undo b", "undo a"]);
    expect(reported).toEqual([["b", undoError]]);
    expect(thrown).toBe(cause);
  });

  it("a reporter that fails does not hide the original error either", async () => {
    const cause = new Error("c failed");
    const { journal, reported, thrown } = await run(
      [step("a", { undoFails: new Error("x") }), step("b", { undoFails: new Error("y") }), step("c", { fails: cause })],
      () => {
        throw new Error("reporter down");
      },
    );
    expect(journal).toEqual(["run a", "run b", "run c", "undo b", "undo a"]);
    expect(reported.map(([name]) => name)).toEqual(["b", "a"]);
    expect(thrown).toBe(cause);
  });

  it("for any list of steps and any failing one, exactly the completed steps with an undo are undone, last first", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ hasUndo: fc.boolean(), undoFails: fc.boolean() }), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        async (shapes, pick) => {
          const failing = pick % shapes.length;
          const cause = new Error(`s${failing} failed`);
          const steps = shapes.map((s, i) =>
            step(`s${i}`, { fails: i === failing ? cause : undefined, noUndo: !s.hasUndo, undoFails: s.undoFails ? new Error(`undo s${i}`) : undefined }),
          );
          const { journal, reported, thrown } = await run(steps);
          const completed = shapes.map((s, i) => ({ ...s, i })).slice(0, failing);
          const undone = completed.filter((s) => s.hasUndo).reverse();
          expect(journal).toEqual([...shapes.slice(0, failing + 1).map((_, i) => `run s${i}`), ...undone.map((s) => `undo s${s.i}`)]);
          expect(reported.map(([name]) => name)).toEqual(undone.filter((s) => s.undoFails).map((s) => `s${s.i}`));
          expect(thrown).toBe(cause);
        },
      ),
    );
  });
});
