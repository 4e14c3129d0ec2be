import { registerNativeScript } from '../pipeline-runner/index.ts';

/**
 * The in-process twin of pipelines/ioc_enrichment.yml's Painless script (tag `nyx_ioc_match`):
 * same fields, same params shape ({ip|domain|hash: {value: {type, provider, confidence}}}), same output.
 */
const FIELDS: Array<[path: string[], kind: 'ip' | 'domain' | 'hash']> = [
  ...['source.ip', 'destination.ip', 'client.ip', 'server.ip', 'host.ip'].map((f) => [f.split('.'), 'ip'] as [string[], 'ip']),
  ...['url.domain', 'destination.domain', 'dns.question.name'].map((f) => [f.split('.'), 'domain'] as [string[], 'domain']),
  ...['file', 'process'].flatMap((o) => ['md5', 'sha1', 'sha256'].map((h) => [[o, 'hash', h], 'hash'] as [string[], 'hash'])),
];

type Indicator = { type?: unknown; provider?: unknown; confidence?: unknown };

function valueAt(ctx: Record<string, unknown>, path: string[]): unknown {
  let node: unknown = ctx;
  for (const part of path) {
    if (!node || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

export function matchIndicators(ctx: Record<string, unknown>, params: Readonly<Record<string, unknown>>): void {
  for (const [path, kind] of FIELDS) {
    const set = params[kind] as Record<string, Indicator> | undefined;
    if (!set) continue;
    const found = valueAt(ctx, path);
    if (found === undefined || found === null) continue;
    for (const v of Array.isArray(found) ? found : [found]) {
      if (v === null || v === undefined) continue;
      const hit = Object.prototype.hasOwnProperty.call(set, String(v).toLowerCase()) ? set[String(v).toLowerCase()] : undefined;
      if (!hit) continue;
      const tags = (Array.isArray(ctx.tags) ? ctx.tags : (ctx.tags = [])) as unknown[];
      if (!tags.includes(`ioc:${kind}`)) tags.push(`ioc:${kind}`);
      const threat = (ctx.threat && typeof ctx.threat === 'object' ? ctx.threat : (ctx.threat = {})) as Record<string, unknown>;
      const enrichments = (Array.isArray(threat.enrichments) ? threat.enrichments : (threat.enrichments = [])) as unknown[];
      enrichments.push({
        matched: { field: path.join('.'), atomic: String(v), type: 'indicator_match_rule' },
        indicator: { type: hit.type ?? null, provider: hit.provider ?? null, confidence: hit.confidence ?? null },
      });
    }
  }
}

registerNativeScript('nyx_ioc_match', matchIndicators);
