import type { Command } from 'commander';
import { NyxError } from '../../errors.ts';
import { commandElastic, progress, untilStopSignal } from '../context.ts';
import type { RunningService } from '../../services/index.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the ingest API alone (agent enrollment, POST /api/ingest, /api/health, /metrics); Ctrl-C stops')
    .option('--host <host>', 'address to bind (default serve.host, 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default serve.port; 0 picks a free one)')
    .action(async (opts: { host?: string; port?: string }, cmd: Command) => {
      const port = opts.port === undefined ? undefined : Number(opts.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new NyxError(`--port ${opts.port}: expected 0-65535`);
      const { startIngestApi } = await import('../../ingest/api/server.ts');
      const { ingestPathServices } = await import('../../services/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      // Stream detection, indicator enrichment and inventory hook into the ingest path before it opens.
      const plugins: RunningService[] = [];
      for (const service of ingestPathServices) {
        const started = await service.start(ctx, loaded);
        plugins.push(started);
        progress(started.describe);
      }
      const running = await startIngestApi(ctx, loaded, { ...(opts.host ? { host: opts.host } : {}), ...(port !== undefined ? { port } : {}) });
      progress(`Elasticsearch: ${ctx.target}`);
      // The URL is the last line on stdout, so scripts (and tests) can read where it listens.
      console.log(running.describe);
      await untilStopSignal();
      progress('stopping…');
      await running.stop();
      for (const plugin of plugins.reverse()) await plugin.stop();
      await ctx.client.close();
    });
}
