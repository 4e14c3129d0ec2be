import type { Command } from 'commander';
import { startLocalNode, stopLocalNode, readLocalNode } from '../../elastic/local-node.ts';
import type { RunningService } from '../../services/index.ts';
import { commandConfig, progress } from '../context.ts';
import { describeCapabilities } from './stack.ts';

export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('start everything: the local Elasticsearch when none is configured, bootstrap, then every Nyx service; Ctrl-C stops')
    .action(async (_opts, cmd: Command) => {
      const { runBootstrap } = await import('../../bootstrap/index.ts');
      const { connectElastic } = await import('../../elastic/connect.ts');
      const { services } = await import('../../services/index.ts');
      const loaded = commandConfig(cmd);
      const { config, secrets } = loaded;
      let url: string | undefined;
      let startedNode = false;
      if (!config.elasticsearch.url && !config.elasticsearch.cloud_id) {
        const already = readLocalNode('default', config.local_node.home);
        const node = await startLocalNode({ ...config.local_node, onProgress: progress });
        startedNode = !already;
        url = node.url;
        progress(`local Elasticsearch ${node.version} at ${node.url} (log ${node.logFile})`);
      }
      const ctx = await connectElastic(config, secrets, url);
      for (const line of describeCapabilities(ctx.caps)) progress(line);
      const { plan, applied } = await runBootstrap(ctx, config, {
        onProgress: (done, total, e) => progress(`[${done}/${total}] ${e.action === 'drifted' ? 'restore' : e.action} ${e.kind} ${e.asset}`),
      });
      const skipped = plan.filter((e) => e.action === 'skip');
      progress(`bootstrap: ${applied.length} applied, ${plan.length - applied.length - skipped.length} unchanged, ${skipped.length} skipped`);
      const running: RunningService[] = [];
      for (const service of services) running.push(await service.start(ctx, loaded));

      console.log('Nyx is up.');
      console.log(`  Elasticsearch: ${ctx.target}${startedNode ? ' (local node, stopped with Nyx)' : ''}`);
      for (const r of running) console.log(`  ${r.describe}`);
      console.log('Press Ctrl-C to stop.');

      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      progress('stopping…');
      for (const r of running.reverse()) await r.stop().catch((err: Error) => progress(`  ${r.describe}: ${err.message}`));
      await ctx.client.close();
      if (startedNode) await stopLocalNode('default', config.local_node.home);
      console.log('Nyx stopped.');
    });
}
