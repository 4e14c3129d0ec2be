import type { Command } from 'commander';
import { NyxError } from '../../errors.ts';
import type { FeedState } from '../../intel/index.ts';
import { commandConfig, commandElastic, progress, untilStopSignal } from '../context.ts';
import { jsonForTerminal, printLine, printTable } from '../terminal.ts';

function age(iso: string | undefined): string {
  if (!iso) return '-';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  if (s < 172800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}


export function registerFeedsCommands(program: Command): void {
  const feeds = program.command('feeds').description('threat-intel feeds (MISP, NVD, OSINT): list, sync now, keep on schedule, status');

  feeds
    .command('list')
    .description('the feed definitions (feeds/*.yml), validated')
    .action(async (_opts, cmd: Command) => {
      const { loadFeedDefinitions } = await import('../../intel/index.ts');
      const { config } = commandConfig(cmd);
      const defs = loadFeedDefinitions(config.intel.feeds_dir);
      const rows = [['FEED', 'KIND', 'SCHEDULE', 'ENABLED', 'AUTH', 'URL']];
      for (const f of defs) rows.push([f.name, f.kind, f.schedule, f.enabled ? 'yes' : 'no', f.auth ? `$${f.auth.env}` : '-', f.url.split('?')[0] ?? '']);
      printTable(rows);
    });

  feeds
    .command('sync [name]')
    .description('sync one feed (or every enabled feed) now, with progress; a failing feed does not stop the others')
    .action(async (name: string | undefined, _opts, cmd: Command) => {
      const { describeRun, feedRuntime, loadFeedDefinitions, syncFeeds } = await import('../../intel/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const defs = loadFeedDefinitions(loaded.config.intel.feeds_dir);
      const chosen = name ? defs.filter((f) => f.name === name) : defs.filter((f) => f.enabled);
      if (name && !chosen.length) throw new NyxError(`no feed named ${name}`, `known: ${defs.map((f) => f.name).join(', ') || 'none'} (in ${loaded.config.intel.feeds_dir}/)`);
      const results = await syncFeeds(feedRuntime(ctx, loaded, progress), chosen);
      for (const r of results) printLine(`${r.feed}: ${describeRun(r)}`);
      await ctx.client.close();
      if (results.some((r) => r.result === 'error')) process.exitCode = 1;
    });

  feeds
    .command('run')
    .description('keep every enabled feed on its cron schedule (a lease per feed, so replicas never sync one feed twice); Ctrl-C stops')
    .option('--now', 'also sync every feed once at start')
    .action(async (opts: { now?: boolean }, cmd: Command) => {
      const { startFeedSchedule } = await import('../../intel/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const running = await startFeedSchedule(ctx, loaded, { runNow: !!opts.now });
      printLine(running.describe);
      await untilStopSignal();
      progress('stopping…');
      await running.stop();
      await ctx.client.close();
    });

  feeds
    .command('status')
    .description('per feed: last run, result, cursor, counts added/updated/expired/rejected, last error')
    .option('--json', 'print the states as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { loadFeedDefinitions, readFeedState } = await import('../../intel/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const defs = loadFeedDefinitions(loaded.config.intel.feeds_dir);
      const states: Array<{ name: string; kind: string; state?: FeedState }> = [];
      for (const f of defs) {
        const state = await readFeedState(ctx.client, loaded.config.namespace, f.name);
        states.push({ name: f.name, kind: f.kind, ...(state ? { state } : {}) });
      }
      await ctx.client.close();
      if (opts.json) {
        console.log(jsonForTerminal(states));
        return;
      }
      const rows = [['FEED', 'KIND', 'LAST RUN', 'RESULT', 'CURSOR', 'ADDED', 'UPDATED', 'EXPIRED', 'REJECTED', 'LAST ERROR']];
      for (const { name, kind, state } of states) {
        const c = state?.counts;
        rows.push([
          name,
          kind,
          age(state?.last_run_at),
          state ? (state.result === 'error' ? `error:${state.failure ?? '?'}` : state.result) : 'never',
          state?.cursor ? state.cursor.slice(0, 24) : '-',
          String(c?.added ?? '-'),
          String(c?.updated ?? '-'),
          String(c?.expired ?? '-'),
          String(c?.rejected ?? '-'),
          state?.last_error ?? (state?.rejected_samples[0] ? `e.g. ${state.rejected_samples[0]}` : ''),
        ]);
      }
      printTable(rows);
    });
}
