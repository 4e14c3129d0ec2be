import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/index.ts';
import { setLogLevel } from '../log/logger.ts';
import { NyxError } from '../errors.ts';
import { readLocalCluster, readLocalNode } from '../elastic/local-node.ts';
import type { ElasticContext } from '../elastic/connect.ts';

/** Loads config from the global --config option; every command starts here. */
export function commandConfig(command: Command): LoadedConfig {
  const root = command.optsWithGlobals() as { config?: string };
  const loaded = loadConfig(root.config ? { path: root.config } : {});
  if (!process.env.NYX_LOG_LEVEL) setLogLevel(loaded.config.logging.level);
  return loaded;
}

/** Resolves at the first Ctrl-C or SIGTERM: long-running commands wait here, then stop cleanly. */
export function untilStopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

/** Progress goes to stderr so stdout stays parseable (e.g. `--json`). */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Connects to the configured cluster; with none configured, to the local node if it runs.
 */
export async function commandElastic(command: Command): Promise<{ loaded: LoadedConfig; ctx: ElasticContext }> {
  const loaded = commandConfig(command);
  const { config, secrets } = loaded;
  let url: string | string[] | undefined;
  if (!config.elasticsearch.url && !config.elasticsearch.cloud_id) {
    const members = readLocalCluster('default', config.local_node.home)?.nodes.filter((n) => n.alive) ?? [];
    const local = members.length ? undefined : readLocalNode('default', config.local_node.home);
    if (!members.length && !local) throw new NyxError('no Elasticsearch configured and no local node running', 'set ELASTICSEARCH_URL, or run `nyx es start` or `nyx up`');
    url = local ? local.url : members.map((n) => n.url);
  }
  // Loaded here, not at startup: the Elasticsearch client stays out of commands that never connect (`nyx ship`).
  const { connectElastic } = await import('../elastic/connect.ts');
  return { loaded, ctx: await connectElastic(config, secrets, url) };
}
