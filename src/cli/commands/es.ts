import type { Command } from 'commander';
import { startLocalNode, stopLocalNode, readLocalNode } from '../../elastic/local-node.ts';
import { commandConfig, progress } from '../context.ts';

export function registerElasticsearchCommands(program: Command): void {
  const es = program.command('es').description('a local single-node Elasticsearch for development and small sites');
  es.command('start')
    .description('fetch (once), start and wait for a local Elasticsearch; prints its URL last')
    .action(async (_opts, cmd: Command) => {
      const { config } = commandConfig(cmd);
      const node = await startLocalNode({ ...config.local_node, onProgress: progress });
      console.log(`Elasticsearch ${node.version} is up (pid ${node.pid}, log ${node.logFile})`);
      console.log(node.url);
    });
  es.command('stop')
    .description('stop the local Elasticsearch')
    .action(async (_opts, cmd: Command) => {
      const { config } = commandConfig(cmd);
      const stopped = await stopLocalNode('default', config.local_node.home);
      console.log(stopped ? `stopped Elasticsearch (pid ${stopped.pid})` : 'no local Elasticsearch is running');
    });
  es.command('status')
    .description('show whether the local Elasticsearch runs, and where')
    .action(async (_opts, cmd: Command) => {
      const { config } = commandConfig(cmd);
      const node = readLocalNode('default', config.local_node.home);
      if (!node) {
        console.log('local Elasticsearch: stopped');
        process.exitCode = 3;
        return;
      }
      console.log(`local Elasticsearch: running\n  url:     ${node.url}\n  version: ${node.version}\n  pid:     ${node.pid}\n  since:   ${node.startedAt}\n  data:    ${node.dataDir}\n  log:     ${node.logFile}`);
    });
}
