import { readFileSync } from 'node:fs';
import { loadAssetCatalog, DEFAULT_ASSETS_DIR, type AssetCatalog } from '../assets/catalog.ts';
import { SOURCES, type NyxConfig } from '../config/index.ts';
import type { ElasticContext } from '../elastic/connect.ts';
import { explainElasticError } from '../elastic/client.ts';
import { buildDesiredAssets, names, type DesiredAsset } from './desired.ts';
import { planAssets, applyPlan, uninstallAssets, type PlanEntry, type UninstallEntry, type ApplyProgress } from './plan.ts';

export { names, describeLayout, type DesiredAsset } from './desired.ts';
export type { PlanEntry, PlanAction, UninstallEntry } from './plan.ts';

export const NYX_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface BootstrapOptions {
  assetsDir?: string;
}

function desiredFor(ctx: ElasticContext, config: NyxConfig, options: BootstrapOptions): { catalog: AssetCatalog; desired: DesiredAsset[] } {
  const catalog = loadAssetCatalog(options.assetsDir ?? process.env.NYX_ASSETS_DIR ?? DEFAULT_ASSETS_DIR);
  return { catalog, desired: buildDesiredAssets(catalog, config, ctx.caps) };
}

/** What bootstrap would do, per asset. Changes nothing. */
export async function planBootstrap(ctx: ElasticContext, config: NyxConfig, options: BootstrapOptions = {}): Promise<PlanEntry[]> {
  const { desired } = desiredFor(ctx, config, options);
  return planAssets(ctx.client, desired, ctx.target);
}

export interface BootstrapResult {
  plan: PlanEntry[];
  applied: PlanEntry[];
}

/** Plans, then applies in a safe order. A second run right after applies nothing. */
export async function runBootstrap(ctx: ElasticContext, config: NyxConfig, options: BootstrapOptions & { onProgress?: ApplyProgress } = {}): Promise<BootstrapResult> {
  const { desired } = desiredFor(ctx, config, options);
  const plan = await planAssets(ctx.client, desired, ctx.target);
  const applied = await applyPlan(ctx.client, desired, plan, NYX_VERSION, ctx.target, options.onProgress);
  return { plan, applied };
}

export interface DataStreamSummary {
  source: string;
  pattern: string;
  documents: number;
}

export interface StackStatus {
  assets: PlanEntry[];
  dataStreams: DataStreamSummary[];
}

/** Installed assets (with drift) and document counts per source. */
export async function stackStatus(ctx: ElasticContext, config: NyxConfig, options: BootstrapOptions = {}): Promise<StackStatus> {
  const assets = await planBootstrap(ctx, config, options);
  const dataStreams: DataStreamSummary[] = [];
  for (const source of SOURCES) {
    const pattern = `logs-${source}-*`;
    try {
      const res = await ctx.client.count({ index: pattern, allow_no_indices: true, ignore_unavailable: true });
      dataStreams.push({ source, pattern, documents: res.count });
    } catch (err) {
      throw explainElasticError(err, ctx.target, `counting ${pattern}`);
    }
  }
  return { assets, dataStreams };
}

export interface UninstallResult {
  assets: UninstallEntry[];
  data: { pattern: string; result: 'deleted' | 'kept' | 'not possible'; reason?: string }[];
}

/** Removes only what Nyx manages; data streams stay unless purgeData. */
export async function uninstallStack(ctx: ElasticContext, config: NyxConfig, options: BootstrapOptions & { purgeData?: boolean } = {}): Promise<UninstallResult> {
  const { desired } = desiredFor(ctx, config, options);
  const data: UninstallResult['data'] = [];
  // Data streams go first when purging: Elasticsearch keeps templates that data streams still use.
  for (const source of SOURCES) {
    const pattern = `logs-${source}-*`;
    if (!options.purgeData) {
      data.push({ pattern, result: 'kept' });
      continue;
    }
    if (!ctx.caps.dataStreamApi) {
      data.push({ pattern, result: 'not possible', reason: 'the cluster has no data-streams module (no _data_stream delete API)' });
      continue;
    }
    try {
      await ctx.client.indices.deleteDataStream({ name: pattern, expand_wildcards: 'all' });
      data.push({ pattern, result: 'deleted' });
    } catch (err) {
      throw explainElasticError(err, ctx.target, `deleting data streams ${pattern}`);
    }
  }
  const assets = await uninstallAssets(ctx.client, desired, ctx.target);
  return { assets, data };
}
