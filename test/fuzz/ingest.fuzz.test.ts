// Issue 19's fuzzing harness in CI: every target with a FIXED seed and a small budget, so each run checks the
// same cases and a failure replays with `npm run fuzz -- --target T --seed S --path P` (printed on failure).
// `npm run fuzz -- --seconds N` runs the same properties longer with a random seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TargetName } from './properties.ts';
import { formatReport, runTarget } from './runner.ts';

const SEED = 19_2026;

/** Cases and time per target: the whole file stays under a minute on two cores (shrinking included). */
const BUDGETS: Record<TargetName, { numRuns: number; timeLimitMs: number; says: string }> = {
  body: { numRuns: 80, timeLimitMs: 4_000, says: 'parseEvents/decodeBody throw only BodyError, and one event never costs its neighbours' },
  contract: { numRuns: 300, timeLimitMs: 3_000, says: 'validateEvent never throws, names the field and the reason, and makes no key a prototype' },
  pipelines: { numRuns: 150, timeLimitMs: 6_000, says: 'every source pipeline runs any document without throwing, polluting or letting the agent own server fields' },
  sigma: { numRuns: 150, timeLimitMs: 4_000, says: 'the Sigma matcher matches any document without throwing or changing it, nested and dotted alike' },
  api: { numRuns: 40, timeLimitMs: 8_000, says: 'the ingest API never answers 500, keeps serving another tenant, and accounts for every event in Elasticsearch' },
};

for (const [target, budget] of Object.entries(BUDGETS) as Array<[TargetName, (typeof BUDGETS)[TargetName]]>) {
  test(`fuzz ${target}: ${budget.says}`, async () => {
    const report = await runTarget(target, { seed: SEED, numRuns: budget.numRuns, timeLimitMs: budget.timeLimitMs });
    if (report.failure) assert.fail(`\n${formatReport(report)}`);
  });
}
