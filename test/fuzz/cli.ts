// `npm run fuzz -- --seconds N [--seed S] [--target body|contract|pipelines|sigma|api|all] [--path P]`:
// fuzzes the ingest path for N seconds (split between the targets) with a random seed unless one is given,
// shows progress on stderr, and prints each failure with the seed and path that replay it. `--ignore` looks past
// a known, not yet fixed invariant break (matched by name) to find the next one.
import { parseArgs } from 'node:util';
import { randomInt } from 'node:crypto';
import { startLocalNode, stopLocalNode } from '../../src/elastic/local-node.ts';
import { setLogLevel } from '../../src/log/logger.ts';
import { TARGETS, type TargetName } from './properties.ts';
import { formatReport, runTarget } from './runner.ts';

const usage = 'usage: npm run fuzz -- --seconds N [--seed S] [--target body|contract|pipelines|sigma|api|all] [--path P] [--ignore INVARIANT]…';
const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '60' }, seed: { type: 'string' }, target: { type: 'string', default: 'all' }, path: { type: 'string' }, ignore: { type: 'string', multiple: true }, help: { type: 'boolean' } },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const seconds = Number(values.seconds);
const targets: TargetName[] = values.target === 'all' ? [...TARGETS] : (values.target.split(',') as TargetName[]);
const unknown = targets.filter((t) => !(TARGETS as readonly string[]).includes(t));
if (!(seconds > 0) || unknown.length || (values.path !== undefined && (values.seed === undefined || targets.length !== 1))) {
  console.error(unknown.length ? `unknown target ${unknown.join(', ')}\n${usage}` : `${usage}\n(--path replays one case: give it with --seed and one --target)`);
  process.exit(2);
}
// The in-process API logs every 500 it answers; the report already names them. NYX_LOG_LEVEL=error shows the stacks.
if (!process.env.NYX_LOG_LEVEL) setLogLevel('fatal');
const seed = values.seed !== undefined ? Number(values.seed) : randomInt(0, 2 ** 31 - 1);

// The api target needs a cluster: the one ELASTICSEARCH_URL names, or a local node started for the run.
let startedNode = false;
if (targets.includes('api') && !process.env.ELASTICSEARCH_URL) {
  const node = await startLocalNode({ version: process.env.NYX_ES_VERSION ?? '9.2.8', heap: process.env.NYX_ES_HEAP ?? '1g', name: 'fuzz', fresh: true, onProgress: (l) => console.error(`# ${l}`) });
  process.env.ELASTICSEARCH_URL = node.url;
  startedNode = true;
}

console.error(`fuzzing ${targets.join(', ')} for ${seconds} s, seed ${seed}`);
let failed = 0;
try {
  const perTarget = (seconds * 1000) / targets.length;
  for (const target of targets) {
    // The budget counts from the first case: opening a target (compiling pipelines, starting the API) is not fuzzing.
    let started: number | undefined;
    let shown = 0;
    const report = await runTarget(target, {
      seed,
      numRuns: values.path !== undefined ? 1 : Number.MAX_SAFE_INTEGER,
      timeLimitMs: perTarget,
      ...(values.path !== undefined ? { path: values.path } : {}),
      ...(values.ignore ? { ignoreInvariants: values.ignore } : {}),
      onCase: (name, cases) => {
        const now = Date.now();
        started ??= now;
        if (now - shown < 2000) return;
        if (shown === 0) {
          shown = now;
          return;
        }
        shown = now;
        const left = Math.round((perTarget - (now - started)) / 1000);
        // Past the budget fast-check generates nothing new: the cases still coming are a failure being shrunk.
        console.error(`  ${name}: ${cases} cases, ${left > 0 ? `${left} s left` : 'shrinking a failure'}`);
      },
    });
    if (report.failure) failed++;
    console.log(formatReport(report));
  }
} finally {
  if (startedNode) await stopLocalNode('fuzz');
}
console.error(failed ? `${failed} of ${targets.length} target(s) failed; seed ${seed}` : `all ${targets.length} target(s) held; seed ${seed}`);
process.exit(failed ? 1 : 0);
