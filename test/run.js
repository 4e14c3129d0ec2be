#!/usr/bin/env node
// The whole suite: starts one real local Elasticsearch for the run (unless ELASTICSEARCH_URL names one),
// runs every test file with node's test runner, then stops the node.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { register } from 'tsx/esm/api';

register();
const { startLocalNode, stopLocalNode } = await import('../src/elastic/local-node.ts');

function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (entry.endsWith('.test.ts')) found.push(path);
  }
  return found.sort();
}

const files = process.argv.slice(2).length ? process.argv.slice(2) : findTests('test');
const env = { ...process.env };
let started = false;
if (!env.ELASTICSEARCH_URL) {
  const node = await startLocalNode({
    version: env.NYX_ES_VERSION ?? '9.2.8',
    heap: env.NYX_ES_HEAP ?? '1g',
    name: 'test',
    fresh: true,
    onProgress: (line) => console.log(`# ${line}`),
  });
  env.ELASTICSEARCH_URL = node.url;
  started = true;
  console.log(`# test Elasticsearch at ${node.url}`);
}

// Files named *.serial.test.ts change cluster-wide assets (uninstall, drift): they run alone, after the rest.
const parallel = files.filter((f) => !f.endsWith('.serial.test.ts'));
const serial = files.filter((f) => f.endsWith('.serial.test.ts'));
const totals = { pass: 0, fail: 0, skipped: 0 };
function runTests(list, concurrency) {
  if (list.length === 0) return Promise.resolve(0);
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...list], { stdio: ['ignore', 'pipe', 'inherit'], env });
  let pending = '';
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^# (pass|fail|skipped) (\d+)$/.exec(line);
      if (m) totals[m[1]] += Number(m[2]);
    }
  });
  return new Promise((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
}
const first = await runTests(parallel, 2);
const second = await runTests(serial, 1);
const code = first || second;
// One closing line for both phases.
console.log(`nyx: ${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
if (started) await stopLocalNode('test');
process.exit(code);
