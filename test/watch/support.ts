import type { Client } from '@elastic/elasticsearch';
import { configSchema, type NyxConfig } from '../../src/config/index.ts';
import { connectElastic, type ElasticContext } from '../../src/elastic/connect.ts';
import { runBootstrap } from '../../src/bootstrap/index.ts';
import { watchConfigSchema, type WatchConfig } from '../../src/detection/watch/index.ts';
import { testElasticUrl } from '../support/elastic.ts';

export function testConfig(extra: Record<string, unknown> = {}): NyxConfig {
  return configSchema.parse({ elasticsearch: { url: testElasticUrl(), connect_wait_ms: 5000 }, serve: { port: 0 }, ...extra });
}

let ready: Promise<ElasticContext> | undefined;
/** The suite's cluster with Nyx's templates installed (once per file). */
export function bootstrapped(): Promise<ElasticContext> {
  ready ??= (async () => {
    const config = testConfig();
    const ctx = await connectElastic(config, {});
    try {
      await runBootstrap(ctx, config);
    } catch (err) {
      // Another capability's asset may be refused (work in progress elsewhere); ours must be there.
      const have = await ctx.client.indices.existsIndexTemplate({ name: 'nyx-alerts' });
      if (!have) throw err;
      process.stderr.write(`bootstrap incomplete (${(err as Error).message.slice(0, 120)}…); the alert templates are installed\n`);
    }
    return ctx;
  })();
  return ready;
}

export function watchSettings(group: string, extra: Partial<WatchConfig> = {}): WatchConfig {
  return watchConfigSchema.parse({ group, ...extra });
}

/** ECS documents straight into data streams (already normalised), refreshed so a search sees them. */
export async function indexEcs(client: Client, items: Array<{ index: string; doc: Record<string, unknown>; id?: string }>): Promise<string[]> {
  const res = await client.bulk({ refresh: true, operations: items.flatMap((i) => [{ create: { _index: i.index, ...(i.id ? { _id: i.id } : {}) } }, i.doc]) });
  const bad = res.items.find((i) => i.create?.error);
  if (bad) throw new Error(`indexing failed: ${JSON.stringify(bad.create?.error)}`);
  return res.items.map((i) => i.create!._id!);
}

export async function alertsIn(client: Client, namespace: string): Promise<Array<{ _id: string; _source: Record<string, unknown> }>> {
  try {
    await client.indices.refresh({ index: `nyx-alerts-${namespace}` });
  } catch {
    return [];
  }
  const res = await client.search<Record<string, unknown>>({ index: `nyx-alerts-${namespace}`, size: 1000, query: { match_all: {} } });
  return res.hits.hits.map((h) => ({ _id: h._id!, _source: h._source! }));
}

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';

export const NYX_BIN = fileURLToPath(new URL('../../bin/nyx.js', import.meta.url));

/** A nyx.yml of the test's own (arrays cannot come from env). */
export function writeConfigFile(config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-watch-test-'));
  const file = join(dir, 'nyx.yml');
  writeFileSync(file, toYaml({ elasticsearch: { url: testElasticUrl() }, ...config }));
  return file;
}

export interface NyxProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout+stderr match `pattern` (rejects if the process exits first or `ms` pass). */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** A long-running `nyx` command as a real child process. */
export function startNyx(args: string[], env: Record<string, string> = {}): NyxProcess {
  const child = spawn(process.execPath, [NYX_BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  const poke = (): void => waiters.forEach((w) => w());
  child.stdout!.on('data', (d) => ((out += d), poke()));
  child.stderr!.on('data', (d) => ((err += d), poke()));
  child.on('exit', poke);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor: (pattern, ms = 60_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; stdout: ${out.slice(-500)} stderr: ${err.slice(-1500)}`)), ms);
        const check = (): void => {
          const m = pattern.exec(out + err);
          if (m) {
            clearTimeout(timer);
            resolve(m);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            reject(new Error(`nyx ${args[0]} exited (${child.exitCode ?? child.signalCode}) before ${pattern}: ${err.slice(-1500)}`));
          }
        };
        waiters.push(check);
        check();
      }),
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

/** Polls until `fn` returns a value (bounded); for states another process produces. */
export async function eventually<T>(fn: () => Promise<T | undefined>, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
