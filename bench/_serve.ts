// A real `nyx serve` for the benchmarks that go through the ingest API: spawned with rate limits out of the
// way, its URL read from its banner, and an agent enrolled through its own endpoint.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Client } from '@elastic/elasticsearch';
import type { NyxConfig } from '../src/config/index.ts';
import { createAgentRegistry } from '../src/agents/index.ts';

const NYX = fileURLToPath(new URL('../bin/nyx.js', import.meta.url));

export interface BenchServe {
  url: string;
  process: ChildProcess;
  /** What the server wrote on stderr so far (its start-up lines and logs). */
  stderr(): string;
  /** SIGTERM, and wait until it has exited. */
  stop(): Promise<void>;
}

/** Starts `nyx serve --port 0` against `elasticsearchUrl`; `nodeArgs` go to node (e.g. --cpu-prof). Stderr is echoed when `echo`. */
export async function startBenchServe(elasticsearchUrl: string, options: { nodeArgs?: string[]; echo?: boolean } = {}): Promise<BenchServe> {
  const env = {
    ELASTICSEARCH_URL: elasticsearchUrl,
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    NYX__SERVE__RATE_LIMIT__REQUESTS_PER_SECOND: '100000',
    NYX__SERVE__RATE_LIMIT__BURST: '100000',
  };
  const server = spawn(process.execPath, [...(options.nodeArgs ?? []), NYX, 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr.on('data', (d: Buffer) => {
    stderr += d;
    if (options.echo) process.stderr.write(d);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = /ingest API on (\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`nyx serve exited ${code}: ${stderr.slice(-2000)}`)));
  });
  return {
    url,
    process: server,
    stderr: () => stderr,
    stop: async () => {
      const exited = new Promise((resolve) => (server.exitCode !== null ? resolve(undefined) : server.once('exit', resolve)));
      server.kill('SIGTERM');
      await exited;
    },
  };
}

/** A fresh token for `namespace` and an agent enrolled with it through the server's own enroll endpoint. */
export async function enrollBenchAgent(client: Client, config: NyxConfig, url: string, namespace: string, hostname: string): Promise<{ agent_id: string; agent_key: string }> {
  const { token } = await createAgentRegistry(client, config).createToken({ namespace, ttlMs: 3_600_000 });
  const res = await fetch(`${url}/api/agents/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, hostname, os: 'linux', ip: '10.0.0.5', version: 'bench' }) });
  if (res.status !== 201) throw new Error(`enrollment answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { agent_id: string; agent_key: string };
}
