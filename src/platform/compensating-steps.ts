/**
 * Steps that each say how they are undone, run in order by one runner (compensation, as commerce
 * engines run an order's setup): when a step fails, the undos of the steps that completed run in
 * reverse order, then the step's error is thrown. The failed step's own undo is not run: a step
 * must either finish what it takes or take nothing. Every undo is tried even when an earlier one
 * fails, so one outage does not keep the rest held; an undo's failure is reported through
 * `onUndoFailed` and never replaces the error that caused the unwinding.
 */

/** One named step over a shared context `C`, with the action that gives back what it took. */
export interface Step<C> {
  name: string;
  run: (context: C) => Promise<void>;
  /** Absent when the step takes nothing that needs giving back (a check, a read, a price). */
  undo?: (context: C) => Promise<void>;
}

/** How the runner reports an undo that failed (a log line, an audit event); its own failure is swallowed. */
export type UndoFailed = (step: string, error: unknown) => void | Promise<void>;

/**
 * Runs `steps` in order over `context`. On the first failure, undoes the completed steps in
 * reverse and rethrows that failure unchanged.
 */
export async function runSteps<C>(context: C, steps: readonly Step<C>[], onUndoFailed: UndoFailed): Promise<void> {
  const completed: Step<C>[] = [];
  for (const step of steps) {
    try {
      await step.run(context);
    } catch (cause) {
      await undoInReverse(context, completed, onUndoFailed);
      throw cause;
    }
    completed.push(step);
  }
}

async function undoInReverse<C>(context: C, completed: readonly Step<C>[], onUndoFailed: UndoFailed): Promise<void> {
  for (const step of [...completed].reverse()) {
    if (!step.undo) continue;
    try {
      await step.undo(context);
    } catch (error) {
      try {
        await onUndoFailed(step.name, error);
      } catch {
        // A reporter that fails must not hide the original error either.
      }
    }
  }
}
