import type { Client } from '@elastic/elasticsearch';
import { z } from 'zod';
import { loadAssetCatalog, DEFAULT_ASSETS_DIR } from '../../assets/catalog.ts';
import { IOC_PIPELINE, bodyHash } from '../../bootstrap/desired.ts';
import { NYX_VERSION } from '../../bootstrap/index.ts';
import { StateStore } from '../../coordination/index.ts';
import type { ElasticContext } from '../../elastic/connect.ts';
import { setIocMatchParams } from '../../ingest/ioc-match.ts';
import type { IndicatorSet } from './indicator-set.ts';

/** One entry of the pipeline's params: what the Painless script (and its twin) copy into threat.enrichments. */
interface ParamHit {
  type: string;
  provider: string | null;
  confidence: string;
}

/** pipelines/ioc_enrichment.yml's params shape. */
export interface IocPipelineParams {
  ip: Record<string, ParamHit>;
  cidr: Record<string, Record<string, ParamHit>>;
  domain: Record<string, ParamHit>;
  url: Record<string, ParamHit>;
  hash: Record<string, ParamHit>;
}

export interface IocParamsBuild {
  params: IocPipelineParams;
  /** Values the pipeline can hold (emails and IPv6 networks it cannot match are not counted). */
  eligible: number;
  kept: number;
  /** Left out because of the bound: the lowest-confidence ones. */
  dropped: number;
  /** The lowest confidence score kept when some were dropped. */
  minScoreKept: number | null;
}

/**
 * The params for the nyx-ioc-enrichment pipeline from the in-memory active set: at most `max` values,
 * the highest-confidence ones when there are more (a counting pass over the 0-100 scores, then one fill pass).
 */
export function buildIocPipelineParams(set: IndicatorSet, max: number): IocParamsBuild {
  const byScore = new Uint32Array(101);
  let eligible = 0;
  for (const v of set.values()) {
    if (!pipelineCan(v.kind, v.text)) continue;
    byScore[set.scoreOf(v.slot)]!++;
    eligible++;
  }
  // Scores above `threshold` all fit; at `threshold` only `room` of them do.
  let threshold = 0;
  let room = max;
  if (eligible > max) {
    let taken = 0;
    for (threshold = 100; threshold > 0; threshold--) {
      if (taken + byScore[threshold]! > max) break;
      taken += byScore[threshold]!;
    }
    room = max - taken;
  }
  const params: IocPipelineParams = { ip: {}, cidr: {}, domain: {}, url: {}, hash: {} };
  let kept = 0;
  let minScoreKept = 101;
  for (const v of set.values()) {
    if (!pipelineCan(v.kind, v.text)) continue;
    const score = set.scoreOf(v.slot);
    if (eligible > max) {
      if (score < threshold) continue;
      if (score === threshold) {
        if (room === 0) continue;
        room--;
      }
    }
    const hit = set.hit(v.slot);
    const entry: ParamHit = { type: hit.type, provider: hit.provider, confidence: hit.confidence };
    if (v.kind === 'cidr') {
      const [network, prefix] = v.text.split('/') as [string, string];
      (params.cidr[prefix] ??= {})[network] = entry;
    } else params[v.kind as 'ip' | 'domain' | 'url' | 'hash'][v.text] = entry;
    kept++;
    if (score < minScoreKept) minScoreKept = score;
  }
  return { params, eligible, kept, dropped: eligible - kept, minScoreKept: eligible > max ? minScoreKept : null };
}

/** The Painless script matches exact IPs, IPv4 networks, domains, URLs and hashes; not emails or IPv6 networks. */
function pipelineCan(kind: string, text: string): boolean {
  if (kind === 'email') return false;
  if (kind === 'cidr') return !text.includes(':');
  return true;
}

export const IOC_PIPELINE_STATE_KEY = 'enrichment.ioc_pipeline';

const pipelineStateSchema = z.object({
  generated_at: z.string(),
  max: z.number(),
  eligible: z.number(),
  kept: z.number(),
  dropped: z.number(),
  min_score_kept: z.number().nullable(),
  applied_in_cluster: z.boolean(),
  skip_reason: z.string().nullable(),
});
export type IocPipelineState = z.infer<typeof pipelineStateSchema>;

/**
 * Regenerates the pipeline's params: feeds the in-process twin always, PUTs the pipeline only when the
 * cluster can run Painless (otherwise a one-line reason), and records the outcome (including how many
 * indicators the bound left out) in StateStore for `nyx status`.
 */
export async function applyIocPipelineParams(ctx: ElasticContext, set: IndicatorSet, max: number, options: { assetsDir?: string; state?: StateStore } = {}): Promise<IocPipelineState> {
  const build = buildIocPipelineParams(set, max);
  setIocMatchParams(build.params as unknown as Record<string, unknown>);
  let skipReason: string | null = null;
  if (!ctx.caps.painless) skipReason = 'not applied in Elasticsearch: the cluster has no Painless (lang-painless); Nyx matches in process';
  else if (!ctx.caps.ingestProcessors.includes('script')) skipReason = 'not applied in Elasticsearch: the cluster lacks the script processor; Nyx matches in process';
  if (!skipReason) await putPipeline(ctx.client, build.params, options.assetsDir);
  const state: IocPipelineState = {
    generated_at: new Date().toISOString(),
    max,
    eligible: build.eligible,
    kept: build.kept,
    dropped: build.dropped,
    min_score_kept: build.minScoreKept,
    applied_in_cluster: skipReason === null,
    skip_reason: skipReason,
  };
  await (options.state ?? new StateStore(ctx.client)).put(IOC_PIPELINE_STATE_KEY, 'ioc_pipeline', state);
  return state;
}

async function putPipeline(client: Client, params: IocPipelineParams, assetsDir?: string): Promise<void> {
  const catalog = loadAssetCatalog(assetsDir ?? process.env.NYX_ASSETS_DIR ?? DEFAULT_ASSETS_DIR);
  const installed = catalog.iocEnrichment.pipeline;
  const body = structuredClone(installed) as { description?: string; processors: Array<Record<string, Record<string, unknown>>> };
  for (const p of body.processors) if (p.script?.tag === 'nyx_ioc_match') p.script.params = params;
  // The _meta bootstrap writes (hash of the shipped body), so a plan sees the same version; the params are data.
  const meta = { managed_by: 'nyx', version: catalog.iocEnrichment.version, hash: bodyHash(installed as Record<string, unknown>), nyx_version: NYX_VERSION, params_generated_at: new Date().toISOString() };
  await client.ingest.putPipeline({ id: IOC_PIPELINE, ...body, _meta: meta } as Parameters<Client['ingest']['putPipeline']>[0]);
}

/**
 * One line for `nyx status` about the ioc_enrichment pipeline's indicator set, or undefined before the
 * first generation, e.g. "ioc_enrichment pipeline: 20000 of 31250 indicators (bound 20000; 11250
 * lowest-confidence left out, kept score ≥ 62); not applied in Elasticsearch: …".
 */
export async function iocPipelineStatus(client: Client): Promise<{ state: IocPipelineState; line: string } | undefined> {
  const state = await new StateStore(client).get(IOC_PIPELINE_STATE_KEY, pipelineStateSchema);
  if (!state) return undefined;
  const bound = state.dropped > 0 ? ` (bound ${state.max}; ${state.dropped} lowest-confidence left out, kept score ≥ ${state.min_score_kept})` : ` (bound ${state.max})`;
  const where = state.applied_in_cluster ? 'applied in Elasticsearch' : state.skip_reason ?? 'not applied';
  return { state, line: `ioc_enrichment pipeline: ${state.kept} of ${state.eligible} indicators${bound}; ${where}; generated ${state.generated_at}` };
}
