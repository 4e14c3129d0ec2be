import { registerNativeScript } from '../pipeline-runner/index.ts';

/**
 * The in-process twin of pipelines/ioc_enrichment.yml's Painless script (tag `nyx_ioc_match`):
 * same fields, same params shape ({ip|domain|url|hash: {value: {type, provider, confidence}}, cidr: {prefix:
 * {network: hit}}}), same output. Edit both together.
 */
type Kind = 'ip' | 'domain' | 'url' | 'hash';
const FIELDS: Array<[path: string[], kind: Kind]> = [
  ...['source.ip', 'destination.ip', 'client.ip', 'server.ip', 'host.ip'].map((f) => [f.split('.'), 'ip'] as [string[], 'ip']),
  ...['url.domain', 'destination.domain', 'dns.question.name'].map((f) => [f.split('.'), 'domain'] as [string[], 'domain']),
  ...['url.full', 'url.original'].map((f) => [f.split('.'), 'url'] as [string[], 'url']),
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

const own = (map: Record<string, Indicator> | undefined, key: string): Indicator | undefined =>
  map && Object.prototype.hasOwnProperty.call(map, key) ? map[key] : undefined;

/** The Painless script's IPv4 CIDR step: the most specific network in params.cidr containing `key`. */
function cidrHit(cidr: Record<string, Record<string, Indicator>>, key: string): Indicator | undefined {
  const octets = key.split('.');
  if (octets.length !== 4) return undefined;
  let n = 0;
  for (const o of octets) {
    if (o.length === 0 || o.length > 3 || !/^[0-9]+$/.test(o) || Number(o) > 255) return undefined;
    n = n * 256 + Number(o);
  }
  let best = -1;
  let hit: Indicator | undefined;
  for (const p of Object.keys(cidr)) {
    const len = Number(p);
    const net = len === 0 ? 0 : Math.floor(n / 2 ** (32 - len)) * 2 ** (32 - len);
    const text = `${Math.floor(net / 16777216) % 256}.${Math.floor(net / 65536) % 256}.${Math.floor(net / 256) % 256}.${net % 256}`;
    const h = own(cidr[p], text);
    if (h && len > best) {
      best = len;
      hit = h;
    }
  }
  return hit;
}

/**
 * Params pushed by the indicator sync (src/intel/enrichment): when set they replace the pipeline's own,
 * so events normalised in process get the same tags as data Elasticsearch runs the pipeline on.
 */
let currentParams: Readonly<Record<string, unknown>> | undefined;

export function setIocMatchParams(params: Readonly<Record<string, unknown>> | undefined): void {
  currentParams = params;
}

const emptyChecked = new WeakMap<object, boolean>();

function isEmptyParams(params: Readonly<Record<string, unknown>>): boolean {
  let empty = emptyChecked.get(params);
  if (empty === undefined) {
    empty = Object.values(params).every((v) => !v || typeof v !== 'object' || Object.keys(v).length === 0);
    emptyChecked.set(params, empty);
  }
  return empty;
}

export function matchIndicators(ctx: Record<string, unknown>, pipelineParams: Readonly<Record<string, unknown>>): void {
  const params = currentParams ?? pipelineParams;
  // The pipeline runs on every event of every source: with no indicators loaded there is nothing to walk.
  if (isEmptyParams(params)) return;
  const cidr = params.cidr as Record<string, Record<string, Indicator>> | undefined;
  for (const [path, kind] of FIELDS) {
    const set = params[kind] as Record<string, Indicator> | undefined;
    if (!set && !(kind === 'ip' && cidr)) continue;
    const found = valueAt(ctx, path);
    if (found === undefined || found === null) continue;
    for (const v of Array.isArray(found) ? found : [found]) {
      if (v === null || v === undefined) continue;
      const key = String(v).toLowerCase();
      let hit = own(set, key);
      if (!hit && kind === 'ip' && cidr && Object.keys(cidr).length) hit = cidrHit(cidr, key);
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
