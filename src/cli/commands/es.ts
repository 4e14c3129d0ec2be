import type { Command } from 'commander';
import { startLocalNode, stopLocalNode, readLocalNode, startLocalCluster, stopLocalCluster, readLocalCluster } from '../../elastic/local-node.ts';
import { NyxError } from '../../errors.ts';
import { commandConfig, progress } from '../context.ts';

function nodeCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 9) throw new NyxError(`--nodes: expected a whole number from 1 to 9, not ${value}`);
  return n;
}

/** A cluster's name becomes a directory under the Nyx home: a plain name, never a path. */
function clusterName(value: string): string {
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(value)) throw new NyxError(`--name: expected lowercase letters, digits, _ and - (at most 63, not starting with _ or -), not ${JSON.stringify(value).slice(0, 80)}`);
  return value;
}

export function registerElasticsearchCommands(program: Command): void {
  const es = program.command('es').description('a local Elasticsearch (one node, or a small cluster on loopback) for development and small sites');
  es.command('start')
    .description('fetch (once), start and wait for a local Elasticsearch; prints every node URL last')
    .option('--nodes <n>', 'nodes in the local cluster (1 to 9; each runs with local_node.heap)', nodeCount, 1)
    .option('--name <name>', 'the local cluster to start (several can run side by side)', clusterName, 'default')
    .action(async (opts: { nodes: number; name: string }, cmd: Command) => {
      const { config } = commandConfig(cmd);
      if (opts.nodes === 1) {
        if (readLocalCluster(opts.name, config.local_node.home)?.nodes.some((n) => n.alive)) {
          throw new NyxError(`a local cluster named ${opts.name} runs`, 'stop it first (nyx es stop), or start it again with its --nodes');
        }
        const node = await startLocalNode({ ...config.local_node, name: opts.name, onProgress: progress });
        console.log(`Elasticsearch ${node.version} is up (pid ${node.pid}, log ${node.logFile})`);
        console.log(node.url);
        return;
      }
      const cluster = await startLocalCluster({ ...config.local_node, name: opts.name, nodes: opts.nodes, onProgress: progress });
      console.log(`Elasticsearch ${cluster.version} cluster nyx-${cluster.name} is up: ${cluster.nodes.length} nodes (heap ${cluster.heap} each)`);
      for (const node of cluster.nodes) console.log(`  ${node.name}  pid ${node.pid}  log ${node.logFile}`);
      console.log(`ELASTICSEARCH_URL=${cluster.nodes.map((n) => n.url).join(',')}`);
    });
  es.command('stop')
    .description('stop the local Elasticsearch (every node the launcher started)')
    .option('--name <name>', 'the local cluster to stop', clusterName, 'default')
    .action(async (opts: { name: string }, cmd: Command) => {
      const { config } = commandConfig(cmd);
      const running = new Set(readLocalCluster(opts.name, config.local_node.home)?.nodes.filter((n) => n.alive).map((n) => n.name));
      const cluster = running.size ? await stopLocalCluster(opts.name, config.local_node.home) : undefined;
      for (const node of cluster?.nodes.filter((n) => running.has(n.name)) ?? []) {
        console.log(`${node.alive ? 'could not stop' : 'stopped'} ${node.name} (pid ${node.pid}, ${node.url})`);
      }
      const stopped = await stopLocalNode(opts.name, config.local_node.home);
      if (stopped) console.log(`stopped Elasticsearch (pid ${stopped.pid})`);
      if (!cluster && !stopped) console.log('no local Elasticsearch is running');
    });
  es.command('status')
    .description('show whether the local Elasticsearch runs, and where (every node of a local cluster)')
    .option('--name <name>', 'the local cluster to show', clusterName, 'default')
    .action(async (opts: { name: string }, cmd: Command) => {
      const { config } = commandConfig(cmd);
      const cluster = readLocalCluster(opts.name, config.local_node.home);
      if (cluster?.nodes.some((n) => n.alive)) {
        const up = cluster.nodes.filter((n) => n.alive).length;
        console.log(`local Elasticsearch cluster nyx-${cluster.name}: ${up === cluster.nodes.length ? 'running' : 'degraded'} (${up} of ${cluster.nodes.length} nodes)\n  version: ${cluster.version}\n  since:   ${cluster.startedAt}`);
        for (const node of cluster.nodes) console.log(`  ${node.name}  ${node.alive ? 'running' : 'stopped'}  ${node.url}  pid ${node.pid}  data ${node.dataDir}`);
        console.log(`ELASTICSEARCH_URL=${cluster.nodes.filter((n) => n.alive).map((n) => n.url).join(',')}`);
        if (up < cluster.nodes.length) process.exitCode = 4;
        return;
      }
      const node = readLocalNode(opts.name, config.local_node.home);
      if (!node) {
        console.log('local Elasticsearch: stopped');
        process.exitCode = 3;
        return;
      }
      console.log(`local Elasticsearch: running\n  url:     ${node.url}\n  version: ${node.version}\n  pid:     ${node.pid}\n  since:   ${node.startedAt}\n  data:    ${node.dataDir}\n  log:     ${node.logFile}`);
    });
}
