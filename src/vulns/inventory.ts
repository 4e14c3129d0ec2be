import { createHash } from 'node:crypto';
import { errors, type Client, type estypes } from '@elastic/elasticsearch';
import { z } from 'zod';
import type { IngestHook } from '../ingest/hooks.ts';

/**
 * Installed software, one document per host + package + architecture in `nyx-software-<namespace>` (a plain
 * index: a host re-reporting a package updates its document, so the index is the current inventory, and
 * `@timestamp` is when the host last reported it). Shape:
 *
 *   @timestamp                 last reported (ISO)
 *   host.name                  the host (as in events' host.name)
 *   package.name               dpkg/rpm name, e.g. "openssh-server"
 *   package.version            full installed version, e.g. "1:9.2p1-2+deb12u2" or "2.4.57-5.el9"
 *   package.type               deb | rpm | other (decides how versions compare)
 *   package.vendor             optional CPE vendor when known (e.g. from a Windows inventory)
 *   package.architecture       optional
 *   nyx.inventory.{first_seen, id, source}
 */
export const inventoryIndex = (namespace: string): string => `nyx-software-${namespace}`;

export const installedPackageSchema = z.object({
  host: z.string().min(1).max(255),
  name: z.string().min(1).max(255),
  version: z.string().min(1).max(255),
  type: z.enum(['deb', 'rpm', 'other']).default('other'),
  vendor: z.string().min(1).max(255).optional(),
  architecture: z.string().max(64).optional(),
});
export type InstalledPackage = z.input<typeof installedPackageSchema>;
export type InventoryPackage = z.output<typeof installedPackageSchema>;

const MAPPINGS: estypes.MappingTypeMapping = {
  dynamic: false,
  properties: {
    '@timestamp': { type: 'date' },
    host: { properties: { name: { type: 'keyword' } } },
    package: { properties: { name: { type: 'keyword' }, version: { type: 'keyword' }, type: { type: 'keyword' }, vendor: { type: 'keyword' }, architecture: { type: 'keyword' } } },
    nyx: { properties: { inventory: { properties: { first_seen: { type: 'date' }, id: { type: 'keyword' }, source: { type: 'keyword' } } } } },
  },
};

async function ensureIndex(client: Client, index: string): Promise<void> {
  try {
    await client.indices.create({ index, mappings: MAPPINGS, settings: { number_of_shards: 1, number_of_replicas: 0, auto_expand_replicas: '0-1' } });
  } catch (err) {
    if (err instanceof errors.ResponseError && err.body && JSON.stringify(err.body).includes('resource_already_exists_exception')) return;
    throw err;
  }
}

export interface InventoryWriteResult {
  written: number;
  rejected: Array<{ index: number; reason: string }>;
}

/** Records installed packages (validated one by one: a bad row is reported, the rest are written). */
export async function recordSoftwareInventory(client: Client, namespace: string, packages: InstalledPackage[], options: { at?: Date; source?: string; refresh?: boolean } = {}): Promise<InventoryWriteResult> {
  const result: InventoryWriteResult = { written: 0, rejected: [] };
  const at = (options.at ?? new Date()).toISOString();
  const operations: unknown[] = [];
  packages.forEach((raw, index) => {
    const parsed = installedPackageSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      result.rejected.push({ index, reason: `${issue?.path.join('.') || '(package)'}: ${issue?.message ?? 'invalid'}` });
      return;
    }
    const p = parsed.data;
    const id = createHash('sha256').update(`${p.host}\u0000${p.name}\u0000${p.architecture ?? ''}`).digest('hex').slice(0, 40);
    const doc = {
      '@timestamp': at,
      host: { name: p.host },
      package: { name: p.name, version: p.version, type: p.type, ...(p.vendor ? { vendor: p.vendor } : {}), ...(p.architecture ? { architecture: p.architecture } : {}) },
      nyx: { inventory: { id, source: options.source ?? 'agent' } },
    };
    operations.push({ update: { _index: inventoryIndex(namespace), _id: id } }, { doc, upsert: { ...doc, nyx: { inventory: { ...doc.nyx.inventory, first_seen: at } } } });
  });
  if (!operations.length) return result;
  await ensureIndex(client, inventoryIndex(namespace));
  const res = await client.bulk({ operations, refresh: options.refresh ? 'wait_for' : false });
  res.items.forEach((item, n) => {
    if (item.update?.error) result.rejected.push({ index: n, reason: `${item.update.error.type}: ${item.update.error.reason ?? ''}` });
    else result.written++;
  });
  return result;
}

/** The current inventory (reported within `maxAgeDays`), optionally for one host. */
export async function readSoftwareInventory(client: Client, namespace: string, options: { host?: string; maxAgeDays: number; now?: Date }): Promise<InventoryPackage[]> {
  const out: InventoryPackage[] = [];
  const since = new Date((options.now ?? new Date()).getTime() - options.maxAgeDays * 86_400_000).toISOString();
  const filter: estypes.QueryDslQueryContainer[] = [{ range: { '@timestamp': { gte: since } } }];
  if (options.host) filter.push({ term: { 'host.name': options.host } });
  let after: estypes.SortResults | undefined;
  for (;;) {
    let res;
    try {
      res = await client.search<{ host: { name: string }; package: { name: string; version: string; type: 'deb' | 'rpm' | 'other'; vendor?: string; architecture?: string } }>({
        index: inventoryIndex(namespace),
        size: 5000,
        query: { bool: { filter } },
        sort: [{ 'nyx.inventory.id': 'asc' }],
        ...(after ? { search_after: after } : {}),
        track_total_hits: false,
      });
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return out;
      throw err;
    }
    for (const h of res.hits.hits) {
      const s = h._source;
      if (!s) continue;
      out.push({ host: s.host.name, name: s.package.name, version: s.package.version, type: s.package.type, ...(s.package.vendor ? { vendor: s.package.vendor } : {}), ...(s.package.architecture ? { architecture: s.package.architecture } : {}) });
    }
    if (res.hits.hits.length < 5000) return out;
    after = res.hits.hits.at(-1)?.sort;
  }
}

/**
 * An ingest hook that records software inventory from events carrying ECS package.name/version and
 * host.name (the shipper's `software` events once normalised, osquery/Beats package events), so
 * inventory arrives through `nyx serve` like any other data.
 */
export function softwareInventoryHook(client: Client): IngestHook {
  return {
    name: 'software-inventory',
    async onStored(docs, ctx) {
      const packages: InstalledPackage[] = [];
      for (const doc of docs) {
        const pkg = doc.package as { name?: unknown; version?: unknown; type?: unknown; architecture?: unknown; vendor?: unknown } | undefined;
        const host = (doc.host as { name?: unknown } | undefined)?.name;
        if (!pkg || typeof pkg.name !== 'string' || typeof pkg.version !== 'string' || typeof host !== 'string') continue;
        const type = pkg.type === 'deb' || pkg.type === 'rpm' ? pkg.type : 'other';
        packages.push({ host, name: pkg.name, version: pkg.version, type, ...(typeof pkg.architecture === 'string' ? { architecture: pkg.architecture } : {}), ...(typeof pkg.vendor === 'string' ? { vendor: pkg.vendor } : {}) });
      }
      if (packages.length) await recordSoftwareInventory(client, ctx.namespace, packages);
    },
  };
}
