// Runs fuzz targets with fast-check, bounded in runs and time, and reports a failure so it can be replayed.
import fc from 'fast-check';
import { DEFAULT_LIMITS, type FuzzLimits } from './arbitraries.ts';
import { InvariantError, describeThrown } from './invariants.ts';
import { openTarget, type TargetName } from './properties.ts';

export interface FuzzRunOptions {
  seed: number;
  /** Most cases to generate (before shrinking). */
  numRuns: number;
  /** Stop generating after this long; a failure found before is still shrunk and reported. */
  timeLimitMs: number;
  /** Replays one case: the `path` a failure report printed, with its seed. */
  path?: string;
  limits?: FuzzLimits;
  /**
   * Invariants (names, or parts of them) whose breaks count as passing: to look past a known, not yet fixed
   * class for the next one. Never set in CI.
   */
  ignoreInvariants?: string[];
  /** Called after each case checked (progress display). */
  onCase?: (target: TargetName, cases: number) => void;
}

export interface FuzzReport {
  target: TargetName;
  seed: number;
  /** Cases checked, shrinking included. */
  cases: number;
  /** Cases generated before the outcome was known. */
  numRuns: number;
  interrupted: boolean;
  failure?: {
    path: string;
    invariant: string;
    message: string;
    counterexample: string;
    shrinks: number;
  };
}

/** Runs one target's property; never throws for a broken invariant (that is the report's failure). */
export async function runTarget(name: TargetName, options: FuzzRunOptions): Promise<FuzzReport> {
  const target = await openTarget(name, options.limits ?? DEFAULT_LIMITS);
  let cases = 0;
  try {
    const property = fc.asyncProperty(target.arbitrary, async (value) => {
      cases++;
      options.onCase?.(name, cases);
      try {
        await target.check(value);
      } catch (err) {
        const ignored = err instanceof InvariantError && options.ignoreInvariants?.some((i) => err.invariant.includes(i));
        if (!ignored) throw err;
      }
    });
    const details = await fc.check(property, {
      seed: options.seed,
      numRuns: options.numRuns,
      ...(options.path !== undefined ? { path: options.path } : {}),
      interruptAfterTimeLimit: options.timeLimitMs,
      // Shrinking a failure gets at most as long again as generating had.
      skipAllAfterTimeLimit: options.timeLimitMs * 2,
      endOnFailure: false,
    });
    const report: FuzzReport = { target: name, seed: options.seed, cases, numRuns: details.numRuns, interrupted: details.interrupted };
    if (details.failed && details.counterexample) {
      const error = details.errorInstance;
      report.failure = {
        path: details.counterexamplePath ?? '',
        invariant: error instanceof InvariantError ? error.invariant : 'no unexpected exception',
        message: error instanceof InvariantError ? error.detail : describeThrown(error),
        counterexample: fc.stringify(details.counterexample[0]),
        shrinks: details.numShrinks,
      };
    }
    return report;
  } finally {
    await target.close();
  }
}

/** The command that replays a report's failing case. */
export function replayCommand(report: FuzzReport): string {
  return `npm run fuzz -- --target ${report.target} --seed ${report.seed}${report.failure ? ` --path ${report.failure.path}` : ''}`;
}

/** A failure as a few readable lines: the invariant, what was seen, the shrunk case, how to replay it. */
export function formatReport(report: FuzzReport): string {
  if (!report.failure) return `${report.target}: ${report.numRuns} cases passed (seed ${report.seed}${report.interrupted ? ', stopped at the time limit' : ''})`;
  const f = report.failure;
  const example = f.counterexample.length > 4000 ? `${f.counterexample.slice(0, 4000)}…` : f.counterexample;
  return [
    `${report.target}: FAILED after ${report.numRuns} case(s), shrunk ${f.shrinks} time(s)`,
    `  invariant: ${f.invariant}`,
    `  seen:      ${f.message}`,
    `  case:      ${example.split('\n').join('\n             ')}`,
    `  seed ${report.seed}, path ${f.path}`,
    `  replay:    ${replayCommand(report)}`,
  ].join('\n');
}
