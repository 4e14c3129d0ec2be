import type { Command } from 'commander';
import type { PlanEntry } from '../../bootstrap/index.ts';
import type { ClusterCapabilities } from '../../elastic/capabilities.ts';
import { SOURCES, sourceSettings, type NyxConfig, type SourceSettings } from '../../config/index.ts';
import { commandElastic, progress } from '../context.ts';

function planLine(e: PlanEntry): string {
  const version = e.from !== undefined && e.from !== e.to ? `v${e.from} → v${e.to}` : `v${e.to}`;
  const reason = e.reason ? `  (${e.reason})` : '';
  return `${e.action.padEnd(9)} ${e.kind.padEnd(18)} ${e.asset.padEnd(28)} ${version}${reason}`;
}

export function printPlan(entries: PlanEntry[], withDiff = true): void {
  for (const e of entries) {
    console.log(planLine(e));
    if (withDiff && e.diff && (e.action === 'update' || e.action === 'drifted')) {
      for (const line of e.diff.slice(0, 20)) console.log(`            ${line}`);
      if (e.diff.length > 20) console.log(`            … ${e.diff.length - 20} more changes`);
    }
  }
  console.log(summary(entries));
}

export function summary(entries: PlanEntry[]): string {
  const count = (a: string) => entries.filter((e) => e.action === a).length;
  return `Plan: ${count('create')} to create, ${count('update')} to update, ${count('drifted')} drifted, ${count('unchanged')} unchanged, ${count('skip')} skipped`;
}

/** One line per distinct layout of the sources' data streams (shards, replicas, retention). */
function dataStreamLayout(config: NyxConfig, describe: (settings: SourceSettings) => string): string[] {
  const bySetting = new Map<string, string[]>();
  for (const source of SOURCES) {
    const layout = describe(sourceSettings(config, source));
    bySetting.set(layout, [...(bySetting.get(layout) ?? []), source]);
  }
  if (bySetting.size === 1) return [`Data streams: ${[...bySetting.keys()][0]}`];
  return ['Data streams:', ...[...bySetting].map(([layout, sources]) => `  ${sources.join(', ')}: ${layout}`)];
}

export function describeCapabilities(caps: ClusterCapabilities): string[] {
  return [
    `Elasticsearch ${caps.version} (${caps.buildFlavor}), license ${caps.license ? `${caps.license.type} (${caps.license.status})` : 'unknown'}`,
    `  ingest processors: ${caps.ingestProcessors.length ? `${caps.ingestProcessors.length} (${caps.ingestProcessors.slice(0, 8).join(', ')}${caps.ingestProcessors.length > 8 ? ', …' : ''})` : 'none: Nyx runs its pipelines in process'}`,
    `  machine learning:  ${caps.ml.available ? 'available' : `unavailable: ${caps.ml.reason}`}`,
    `  data stream API:   ${caps.dataStreamApi ? 'available' : 'unavailable: lifecycle retention is recorded but not enforced, --purge-data is not possible'}`,
    `  percolator:        ${caps.percolator ? 'available' : 'unavailable'}`,
    `  tenant fields:     ${tenantFieldsLine(caps)}`,
  ];
}

/** How data_stream.* is mapped here, and what carries the tenant guarantee either way. */
export function tenantFieldsLine(caps: ClusterCapabilities): string {
  return caps.constantKeyword
    ? 'data_stream.* constant_keyword (one value per backing index); tenants selected by data stream name'
    : 'data_stream.* keyword (the cluster has no constant-keyword module); tenants selected by data stream name, data_stream stamped by Nyx';
}

export function registerStackCommands(program: Command): void {
  program
    .command('plan')
    .description('show what bootstrap would do to each asset: create, update (with diff), unchanged, drifted, skip')
    .option('--json', 'print one JSON array of {asset, kind, action}')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { planBootstrap, describeLayout } = await import('../../bootstrap/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const plan = await planBootstrap(ctx, loaded.config);
      if (opts.json) {
        console.log(JSON.stringify(plan.map((e) => ({ asset: e.asset, kind: e.kind, action: e.action, ...(e.reason ? { reason: e.reason } : {}), ...(e.diff ? { diff: e.diff } : {}) }))));
        return;
      }
      console.log(`Target: ${ctx.target}`);
      console.log(`Tenant fields: ${tenantFieldsLine(ctx.caps)}`);
      for (const line of dataStreamLayout(loaded.config, describeLayout)) console.log(line);
      printPlan(plan);
    });

  program
    .command('bootstrap')
    .description('install or upgrade the data model (templates, pipelines, ML jobs); safe to run again')
    .action(async (_opts, cmd: Command) => {
      const { runBootstrap } = await import('../../bootstrap/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const { plan, applied } = await runBootstrap(ctx, loaded.config, {
        onProgress: (done, total, e) => progress(`[${done}/${total}] ${e.action === 'drifted' ? 'restore' : e.action} ${e.kind} ${e.asset}`),
      });
      for (const e of plan.filter((p) => p.action === 'skip')) console.log(`skipped ${e.kind} ${e.asset}: ${e.reason}`);
      const unchanged = plan.filter((e) => e.action === 'unchanged').length;
      console.log(`Bootstrap of ${ctx.target}: ${applied.length} applied, ${unchanged} unchanged, ${plan.length - applied.length - unchanged} skipped`);
    });

  program
    .command('status')
    .description('installed assets, versions, drift, data streams and cluster capabilities')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { stackStatus } = await import('../../bootstrap/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const status = await stackStatus(ctx, loaded.config);
      if (opts.json) {
        console.log(JSON.stringify({ target: ctx.target, capabilities: ctx.caps, ...status }));
        return;
      }
      console.log(`Target: ${ctx.target}`);
      for (const line of describeCapabilities(ctx.caps)) console.log(line);
      console.log('Assets:');
      for (const e of status.assets) {
        const inNyx = e.action === 'skip' && e.reason?.startsWith('runs in Nyx');
        const state = inNyx ? 'in Nyx' : { create: 'missing', update: 'outdated', unchanged: 'installed', drifted: 'DRIFTED', skip: 'skipped' }[e.action];
        console.log(`  ${state.padEnd(9)} ${e.kind.padEnd(18)} ${e.asset.padEnd(28)} v${e.from ?? e.to}${e.reason && e.action !== 'unchanged' ? `  (${e.reason})` : ''}`);
      }
      console.log('Data streams:');
      for (const d of status.dataStreams) console.log(`  ${d.pattern.padEnd(22)} ${d.documents} documents`);
    });

  program
    .command('uninstall')
    .description('remove what Nyx manages (data streams and their data stay unless --purge-data)')
    .option('--purge-data', 'also delete the logs-<source>-* data streams')
    .action(async (opts: { purgeData?: boolean }, cmd: Command) => {
      const { uninstallStack } = await import('../../bootstrap/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const result = await uninstallStack(ctx, loaded.config, { purgeData: Boolean(opts.purgeData) });
      for (const a of result.assets) console.log(`${a.result.padEnd(8)} ${a.kind.padEnd(18)} ${a.asset}${a.reason ? `  (${a.reason})` : ''}`);
      for (const d of result.data) console.log(`${d.result === 'kept' ? 'kept' : d.result.padEnd(8)} data ${d.pattern}${d.reason ? `  (${d.reason})` : ''}`);
      const deleted = result.assets.filter((a) => a.result === 'deleted').length;
      console.log(`Uninstalled ${deleted} assets from ${ctx.target}`);
      if (result.data.some((d) => d.result === 'not possible')) process.exitCode = 1;
    });
}
