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

const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit', env });
const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
if (started) await stopLocalNode('test');
process.exit(code);
