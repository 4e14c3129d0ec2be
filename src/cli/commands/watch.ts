import type { Command } from 'commander';
import type { RuleRunReport } from '../../detection/watch/index.ts';
import { commandElastic, progress, untilStopSignal } from '../context.ts';
import { jsonForTerminal, printLine } from '../terminal.ts';

function ago(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}

function reportLine(r: RuleRunReport): string {
  return jsonForTerminal(r);
}

export function registerWatchCommands(program: Command): void {
  const watch = program
    .command('watch')
    .description('run every Sigma rule as an Elasticsearch query on a schedule (replicas share rules through leases); Ctrl-C stops')
    .option('--once', 'run every rule this replica can take once, print one JSON line per rule, and exit')
    .option('--rules <paths...>', 'Sigma rule files or folders (default alerts.sigma_paths or rules/sigma)')
    .action(async (opts: { once?: boolean; rules?: string[] }, cmd: Command) => {
      const { RuleWatcher } = await import('../../detection/watch/index.ts');
      const { loadDetectionSetup } = await import('../../detection/stream/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const { config } = loaded;
      const setup = loadDetectionSetup(config, opts.rules);
      for (const e of setup.errors) progress(`rule not loaded: ${e.message}`);
      const watcher = new RuleWatcher({ client: ctx.client, rules: setup.rules, correlations: setup.correlations, policy: setup.policy, settings: config.watch, defaultNamespace: config.namespace });
      if (opts.once) {
        const reports = await watcher.runCycle({ force: true });
        for (const r of reports) console.log(reportLine(r));
        progress(`${reports.length} rules run by ${watcher.holder} (shards ${watcher.ownedShards().join(',') || 'none'})`);
        await watcher.stop();
        await ctx.client.close();
        return;
      }
      progress(`Elasticsearch: ${ctx.target}`);
      printLine(`watching ${setup.rules.length} rules and ${watcher.correlations.length} correlations every ${config.watch.interval_seconds}s as ${watcher.holder} (group ${config.watch.group}, ${config.watch.shards} shards, lease ${config.watch.lease_ttl_seconds}s)`);
      let shardsShown = '';
      watcher.start((reports) => {
        for (const r of reports) if (r.created || r.gapSeconds !== undefined || r.capped || r.error) console.log(reportLine(r));
      });
      const shardTimer = setInterval(() => {
        const now = watcher.ownedShards().join(',');
        if (now !== shardsShown) progress(`holding shards: ${now || 'none'}`);
        shardsShown = now;
      }, 1000);
      await untilStopSignal();
      clearInterval(shardTimer);
      progress('stopping (handing shards back)…');
      await watcher.stop();
      await ctx.client.close();
    });

  watch
    .command('status')
    .description('every rule: shard, holder, last run, checkpoint, lag, gap and catch-up')
    .option('--json', 'one JSON object per rule')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { watchStatus } = await import('../../detection/watch/index.ts');
      const { loadDetectionSetup } = await import('../../detection/stream/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const { config } = loaded;
      try {
        const setup = loadDetectionSetup(config, (watch.opts() as { rules?: string[] }).rules);
        const rows = await watchStatus(ctx.client, setup.rules, config.watch, { correlations: setup.correlations });
        if (opts.json) for (const r of rows) console.log(jsonForTerminal(r));
        else {
          printLine(['RULE'.padEnd(40), 'SHARD', 'HOLDER'.padEnd(28), 'LAST RUN'.padEnd(20), 'CHECKPOINT'.padEnd(20), 'LAG'.padStart(5), 'ALERTS', 'NOTE'].join('  '));
          for (const r of rows) {
            const note = [r.kind === 'correlation' ? 'correlation' : null, r.gap, r.last_capped ? `capped ${r.last_capped}` : null, r.error ? `error: ${r.error}` : null].filter(Boolean).join('; ');
            printLine(
              [
                (r.title.length > 40 ? `${r.title.slice(0, 39)}…` : r.title).padEnd(40),
                String(r.shard).padStart(5),
                (r.holder ?? '(none)').padEnd(28),
                (r.last_run?.slice(0, 19).replace('T', ' ') ?? 'never').padEnd(20),
                (r.checkpoint?.slice(0, 19).replace('T', ' ') ?? '-').padEnd(20),
                ago(r.lag_seconds).padStart(5),
                String(r.last_alerts ?? '-').padStart(6),
                note,
              ].join('  '),
            );
          }
          const held = new Set(rows.map((r) => r.holder).filter(Boolean));
          printLine(`${rows.filter((r) => r.kind === 'rule').length} rules and ${rows.filter((r) => r.kind === 'correlation').length} correlations, ${held.size} replicas holding shards (group ${config.watch.group})`);
        }
      } finally {
        await ctx.client.close();
      }
    });
}
