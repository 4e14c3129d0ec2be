// `npm run bench -- <name> [args…]`: runs bench/<name>.ts against ELASTICSEARCH_URL, or a local node it
// starts for the run. Each benchmark prints progress on stderr and, as its last stdout line, one JSON object.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { startLocalNode, stopLocalNode } from '../src/elastic/local-node.ts';

interface BenchModule {
  run(args: string[]): Promise<object>;
}

const here = dirname(fileURLToPath(import.meta.url));
const [name, ...args] = process.argv.slice(2);
const available = readdirSync(here).filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_')).map((f) => f.slice(0, -3));
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [args]`);
  process.exit(2);
}
let started = false;
if (!process.env.ELASTICSEARCH_URL) {
  const node = await startLocalNode({ version: process.env.NYX_ES_VERSION ?? '9.2.8', heap: process.env.NYX_ES_HEAP ?? '1g', name: 'bench', fresh: true, onProgress: (l) => console.error(`# ${l}`) });
  process.env.ELASTICSEARCH_URL = node.url;
  started = true;
}
try {
  const mod = (await import(join(here, `${name}.ts`))) as BenchModule;
  const result = await mod.run(args);
  console.log(JSON.stringify(result));
} finally {
  if (started) await stopLocalNode('bench');
}
