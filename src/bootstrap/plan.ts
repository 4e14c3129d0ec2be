import type { Client } from '@elastic/elasticsearch';
import { readClusterAsset, writeClusterAsset, deleteClusterAsset, type ClusterAsset } from './cluster-assets.ts';
import { bodyHash, type AssetKind, type DesiredAsset } from './desired.ts';
import { NyxError } from '../errors.ts';
import { explainElasticError } from '../elastic/client.ts';

export type PlanAction = 'create' | 'update' | 'unchanged' | 'drifted' | 'skip';

export interface PlanEntry {
  asset: string;
  kind: AssetKind;
  action: PlanAction;
  /** Installed and wanted versions, where known. */
  from?: number;
  to: number;
  /** Readable changes: `~ path: old → new`, `+ path: value`, `- path: value`. */
  diff?: string[];
  reason?: string;
  hook?: boolean;
}

export const MANAGED_BY = 'nyx';

/** Keys Elasticsearch adds to what it returns; never a difference. */
const SERVER_KEYS = new Set(['created_date_millis', 'modified_date_millis', 'created_date', 'modified_date', 'version']);
/** Defaults Elasticsearch fills in: a difference only when set to something else. */
const SERVER_DEFAULTS: Record<string, string> = {
  'data_stream.hidden': 'false',
  'data_stream.allow_custom_routing': 'false',
  'template.lifecycle.enabled': 'true',
  composed_of: '[]',
};

/** Flattens to path → string, so `"1"` and `1` (Elasticsearch returns settings as strings) compare equal. */
function flatten(value: unknown, prefix = '', out: Map<string, string> = new Map()): Map<string, string> {
  if (Array.isArray(value)) {
    if (value.length === 0) out.set(prefix, '[]');
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  } else if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([k]) => !(prefix === '' && SERVER_KEYS.has(k)));
    if (entries.length === 0 && prefix) out.set(prefix, '{}');
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, value === null || value === undefined ? 'null' : String(value));
  return out;
}

/** Elasticsearch stores index settings under `index.`: `settings.number_of_shards` reads back as `settings.index.number_of_shards`. */
function canonicalPath(path: string): string {
  return path.replace(/(^|\.)settings\.(?!index\.)/, '$1settings.index.');
}

function canonical(map: Map<string, string>): Map<string, string> {
  return new Map([...map].map(([k, v]) => [canonicalPath(k), v]));
}

function hasChildren(map: Map<string, string>, path: string): boolean {
  for (const k of map.keys()) if (k.startsWith(`${path}.`) || k.startsWith(`${path}[`)) return true;
  return false;
}

function short(v: string): string {
  return v.length > 80 ? `${v.slice(0, 77)}…` : v;
}

/** The differences between what the cluster has and what Nyx wants, as readable lines. */
export function diffBodies(actual: Record<string, unknown>, desired: Record<string, unknown>, runtimePaths: RegExp[] = []): string[] {
  const keep = (m: Map<string, string>) => new Map([...m].filter(([k]) => !runtimePaths.some((r) => r.test(k))));
  const a = keep(canonical(flatten(actual)));
  const d = keep(canonical(flatten(desired)));
  const lines: string[] = [];
  for (const [path, want] of d) {
    const have = a.get(path);
    // An empty object or list Nyx asks for (e.g. `data_stream: {}`) is satisfied by whatever defaults fill it.
    if (have === undefined && (want === '{}' || want === '[]') && hasChildren(a, path)) continue;
    if (have === undefined) lines.push(`+ ${path}: ${short(want)}`);
    else if (have !== want) lines.push(`~ ${path}: ${short(have)} → ${short(want)}`);
  }
  for (const [path, have] of a) {
    if (d.has(path)) continue;
    if (SERVER_DEFAULTS[path] === have) continue;
    // A `{}`/`[]` placeholder on one side is matched by children on the other.
    if (hasChildren(d, path)) continue;

    lines.push(`- ${path}: ${short(have)}`);
  }
  return lines;
}

export function metaFor(asset: DesiredAsset, nyxVersion: string): Record<string, unknown> {
  return { managed_by: MANAGED_BY, version: asset.version, hash: bodyHash(asset.body), nyx_version: nyxVersion };
}

export function isManaged(current: ClusterAsset | undefined): boolean {
  return current?.meta?.managed_by === MANAGED_BY;
}

/** Decides, per asset, what bootstrap would do. Reads only. */
export async function planAssets(client: Client, desired: DesiredAsset[], target: string): Promise<PlanEntry[]> {
  const entries: PlanEntry[] = [];
  for (const asset of desired) {
    const base = { asset: asset.name, kind: asset.kind, to: asset.version, ...(asset.hook ? { hook: true } : {}) };
    if (asset.skip) {
      entries.push({ ...base, action: 'skip', reason: asset.skip });
      continue;
    }
    let current: ClusterAsset | undefined;
    try {
      current = await readClusterAsset(client, asset.kind, asset.name);
    } catch (err) {
      throw explainElasticError(err, target, `reading ${asset.kind} ${asset.name}`);
    }
    if (!current) {
      entries.push({ ...base, action: 'create' });
      continue;
    }
    if (asset.hook) {
      entries.push({ ...base, action: 'unchanged', reason: 'user hook: kept as it is' });
      continue;
    }
    const from = typeof current.meta?.version === 'number' ? current.meta.version : undefined;
    const withFrom = from === undefined ? base : { ...base, from };
    if (!isManaged(current)) {
      entries.push({ ...withFrom, action: 'update', reason: 'exists but is not managed by Nyx: bootstrap takes it over', diff: diffBodies(current.body, asset.body) });
      continue;
    }
    const diff = diffBodies(current.body, asset.body, asset.runtimePaths);
    const installedHash = current.meta?.hash;
    if (installedHash !== bodyHash(asset.body) || from !== asset.version) {
      entries.push({ ...withFrom, action: 'update', diff, ...(from !== undefined && from !== asset.version ? { reason: `version ${from} → ${asset.version}` } : {}) });
    } else if (diff.length) {
      entries.push({ ...withFrom, action: 'drifted', diff, reason: 'changed in the cluster since Nyx installed it: bootstrap restores it' });
    } else entries.push({ ...withFrom, action: 'unchanged' });
  }
  return entries;
}

export interface ApplyProgress {
  (done: number, total: number, entry: PlanEntry): void;
}

/** Applies a plan in order. On a rejected asset, stops and says exactly what was and was not applied. */
export async function applyPlan(client: Client, desired: DesiredAsset[], plan: PlanEntry[], nyxVersion: string, target: string, onProgress?: ApplyProgress): Promise<PlanEntry[]> {
  const byName = new Map(desired.map((a) => [`${a.kind}/${a.name}`, a]));
  const todo = plan.filter((e) => e.action === 'create' || e.action === 'update' || e.action === 'drifted');
  const applied: PlanEntry[] = [];
  for (const [i, entry] of todo.entries()) {
    const asset = byName.get(`${entry.kind}/${entry.asset}`)!;
    const meta = asset.hook ? { created_by: MANAGED_BY, description: 'user hook: Nyx never overwrites or deletes it' } : metaFor(asset, nyxVersion);
    try {
      await writeClusterAsset(client, asset.kind, asset.name, asset.body, meta);
    } catch (err) {
      const reason = explainElasticError(err, target).message;
      const rest = todo.slice(i + 1).map((e) => e.asset);
      throw new NyxError(
        `the cluster rejected ${asset.kind} ${asset.name}: ${reason}; applied ${applied.length} of ${todo.length}` +
          `${applied.length ? ` (${applied.map((e) => e.asset).join(', ')})` : ''}; not applied: ${[asset.name, ...rest].join(', ')}`,
      );
    }
    applied.push(entry);
    onProgress?.(i + 1, todo.length, entry);
  }
  return applied;
}

export interface UninstallEntry {
  asset: string;
  kind: AssetKind;
  result: 'deleted' | 'absent' | 'kept';
  reason?: string;
}

/** Removes what Nyx manages, in reverse dependency order. User hooks and unmanaged look-alikes stay. */
export async function uninstallAssets(client: Client, desired: DesiredAsset[], target: string): Promise<UninstallEntry[]> {
  const out: UninstallEntry[] = [];
  const order: AssetKind[] = ['ml_datafeed', 'ml_job', 'index_template', 'component_template', 'ingest_pipeline'];
  for (const kind of order) {
    for (const asset of desired.filter((a) => a.kind === kind)) {
      if (asset.hook) {
        out.push({ asset: asset.name, kind, result: 'kept', reason: 'user hook' });
        continue;
      }
      try {
        const current = await readClusterAsset(client, kind, asset.name);
        if (!current) {
          out.push({ asset: asset.name, kind, result: 'absent' });
          continue;
        }
        if (kind !== 'ml_datafeed' && !isManaged(current)) {
          out.push({ asset: asset.name, kind, result: 'kept', reason: 'not managed by Nyx' });
          continue;
        }
        await deleteClusterAsset(client, kind, asset.name);
        out.push({ asset: asset.name, kind, result: 'deleted' });
      } catch (err) {
        // Elasticsearch keeps a template while data streams (or templates) still use it: the data stays
        // readable, so the template stays too, and the user is told why.
        const inUse = explainElasticError(err, target).message.match(/in use by[^;]*|still in use[^;]*/);
        if (inUse) {
          out.push({ asset: asset.name, kind, result: 'kept', reason: inUse[0] });
          continue;
        }
        if (asset.skip && kind.startsWith('ml_')) {
          out.push({ asset: asset.name, kind, result: 'absent', reason: asset.skip });
          continue;
        }
        throw explainElasticError(err, target, `removing ${kind} ${asset.name}`);
      }
    }
  }
  return out;
}
