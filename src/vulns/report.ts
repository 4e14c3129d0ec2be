import { readFileSync } from 'node:fs';
import { errors, type Client, type estypes } from '@elastic/elasticsearch';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CVE_INDEX, parseCpe, type CpeMatch, type CveRecord } from '../intel/cves/index.ts';
import { listeningSockets, type ListeningSocket } from './exposure.ts';
import { readSoftwareInventory, type InventoryPackage } from './inventory.ts';
import { versionInRange, type VersionScheme } from './version.ts';

const aliasFileSchema = z.record(z.string(), z.object({ cpe: z.array(z.string().regex(/^[^:]+:[^:]+$/, 'expected vendor:product')), processes: z.array(z.string()).optional() }).strict());
type Aliases = z.infer<typeof aliasFileSchema>;

let aliases: Aliases | undefined;
function loadAliases(): Aliases {
  aliases ??= aliasFileSchema.parse(parseYaml(readFileSync(new URL('./cpe-aliases.yml', import.meta.url), 'utf8')));
  return aliases;
}

/** The CPE vendor/product pairs a package may be listed under (vendor undefined: any vendor). */
export function cpeCandidates(pkg: Pick<InventoryPackage, 'name' | 'vendor'>): Array<{ vendor?: string; product: string }> {
  const name = pkg.name.toLowerCase();
  const alias = loadAliases()[name];
  if (alias) return alias.cpe.map((c) => ({ vendor: c.split(':')[0]!, product: c.split(':')[1]! }));
  const products = [...new Set([name, name.replace(/-/g, '_')])];
  return products.map((product) => (pkg.vendor ? { vendor: pkg.vendor.toLowerCase(), product } : { product }));
}

function processesOf(pkg: InventoryPackage): string[] {
  return loadAliases()[pkg.name.toLowerCase()]?.processes ?? [pkg.name.toLowerCase()];
}

/** True when one CPE match entry covers this installed package. */
export function cpeMatchCovers(match: CpeMatch, pkg: InventoryPackage): boolean {
  if (match.vulnerable === false) return false;
  const parsed = parseCpe(match.criteria);
  const vendor = (match.vendor ?? parsed.vendor ?? '').toLowerCase();
  const product = (match.product ?? parsed.product ?? '').toLowerCase();
  const part = match.part ?? parsed.part;
  if (part === 'h') return false;
  if (!cpeCandidates(pkg).some((c) => c.product === product && (c.vendor === undefined || c.vendor === vendor))) return false;
  const scheme: VersionScheme = pkg.type === 'deb' ? 'deb' : pkg.type === 'rpm' ? 'rpm' : 'generic';
  const range = {
    version: match.version ?? parsed.version,
    ...(match.versionStartIncluding ? { versionStartIncluding: match.versionStartIncluding } : {}),
    ...(match.versionStartExcluding ? { versionStartExcluding: match.versionStartExcluding } : {}),
    ...(match.versionEndIncluding ? { versionEndIncluding: match.versionEndIncluding } : {}),
    ...(match.versionEndExcluding ? { versionEndExcluding: match.versionEndExcluding } : {}),
  };
  return versionInRange(pkg.version, range, scheme);
}

/** CVEs whose CPE criteria name any of these products (the version check is ours, per package). */
async function cvesForProducts(client: Client, products: string[]): Promise<CveRecord[]> {
  const out: CveRecord[] = [];
  for (let i = 0; i < products.length; i += 10_000) {
    const chunk = products.slice(i, i + 10_000);
    let after: estypes.SortResults | undefined;
    for (;;) {
      let res;
      try {
        res = await client.search<CveRecord>({ index: CVE_INDEX, size: 1000, query: { terms: { 'cpeMatch.product': chunk } }, sort: [{ id: 'asc' }], ...(after ? { search_after: after } : {}), track_total_hits: false });
      } catch (err) {
        if (err instanceof errors.ResponseError && err.statusCode === 404) return out;
        throw err;
      }
      for (const h of res.hits.hits) if (h._source) out.push(h._source);
      if (res.hits.hits.length < 1000) break;
      after = res.hits.hits.at(-1)?.sort;
    }
  }
  return out;
}

export interface BacklogItem {
  host: string;
  package: string;
  version: string;
  cve: string;
  cvss: number | null;
  known_exploited: boolean;
  kev_due_date: string | null;
  /** Ports the package's own processes listen on. */
  listening_ports: number[];
  /** The first fixed upstream version, when the CPE range says (versionEndExcluding). */
  fixed_in: string | null;
  description: string | null;
}

export interface HostExposure {
  host: string;
  /** 0-100: noisy-OR over the host's vulnerabilities, each weighted by CVSS², known exploitation and exposure. */
  vulnerability_score: number;
  packages_installed: number;
  vulnerable_packages: Array<{ name: string; version: string; cves: string[] }>;
  listening: ListeningSocket[];
  /** Fix first: known-exploited, then higher CVSS, then more exposed. */
  backlog: BacklogItem[];
}

export interface VulnerabilityReport {
  generated_at: string;
  hosts: HostExposure[];
  cves_considered: number;
}

/** One vulnerability's weight in the host score (0-1). */
function weight(item: BacklogItem, hostListens: boolean): number {
  const cvss = item.cvss ?? 5;
  const exposed = item.listening_ports.length > 0 ? 1 : hostListens ? 0.85 : 0.75;
  return (cvss / 10) ** 2 * (item.known_exploited ? 1 : 0.5) * exposed;
}

export function compareBacklog(a: BacklogItem, b: BacklogItem): number {
  return Number(b.known_exploited) - Number(a.known_exploited) || (b.cvss ?? -1) - (a.cvss ?? -1) || b.listening_ports.length - a.listening_ports.length || a.host.localeCompare(b.host) || a.cve.localeCompare(b.cve) || a.package.localeCompare(b.package);
}

/**
 * Matches the current software inventory against the CVE store and the hosts' listening sockets:
 * per host, the vulnerable packages, a vulnerability score and the remediation backlog.
 */
export async function vulnerabilityReport(client: Client, namespace: string, options: { host?: string; inventoryMaxAgeDays: number; exposureDays: number; now?: Date }): Promise<VulnerabilityReport> {
  const now = options.now ?? new Date();
  const inventory = await readSoftwareInventory(client, namespace, { ...(options.host ? { host: options.host } : {}), maxAgeDays: options.inventoryMaxAgeDays, now });
  const products = [...new Set(inventory.flatMap((p) => cpeCandidates(p).map((c) => c.product)))];
  const cves = products.length ? await cvesForProducts(client, products) : [];
  const byProduct = new Map<string, CveRecord[]>();
  for (const cve of cves) {
    for (const m of cve.cpeMatch ?? []) {
      const product = (m.product ?? parseCpe(m.criteria).product ?? '').toLowerCase();
      const list = byProduct.get(product) ?? [];
      if (list.at(-1) !== cve) list.push(cve);
      byProduct.set(product, list);
    }
  }
  const hosts = [...new Set(inventory.map((p) => p.host))].sort();
  const sockets = hosts.length ? await listeningSockets(client, namespace, { hosts, days: options.exposureDays, now }) : new Map<string, ListeningSocket[]>();
  const report: VulnerabilityReport = { generated_at: now.toISOString(), hosts: [], cves_considered: cves.length };
  for (const host of hosts) {
    const packages = inventory.filter((p) => p.host === host);
    const listening = sockets.get(host) ?? [];
    const backlog: BacklogItem[] = [];
    const vulnerable: HostExposure['vulnerable_packages'] = [];
    for (const pkg of packages) {
      const candidates = new Set(cpeCandidates(pkg).map((c) => c.product));
      const seen = new Set<string>();
      const procs = new Set(processesOf(pkg));
      const ports = [...new Set(listening.filter((s) => s.process && procs.has(s.process.toLowerCase())).map((s) => s.port))].sort((a, b) => a - b);
      for (const product of candidates) {
        for (const cve of byProduct.get(product) ?? []) {
          if (seen.has(cve.id)) continue;
          const match = (cve.cpeMatch ?? []).find((m) => cpeMatchCovers(m, pkg));
          if (!match) continue;
          seen.add(cve.id);
          backlog.push({
            host,
            package: pkg.name,
            version: pkg.version,
            cve: cve.id,
            cvss: typeof cve.score === 'number' ? cve.score : null,
            known_exploited: !!cve.kev?.dateAdded,
            kev_due_date: cve.kev?.dueDate ?? null,
            listening_ports: ports,
            fixed_in: match.versionEndExcluding ?? null,
            description: cve.description ? cve.description.slice(0, 300) : null,
          });
        }
      }
      if (seen.size) vulnerable.push({ name: pkg.name, version: pkg.version, cves: [...seen].sort() });
    }
    backlog.sort(compareBacklog);
    let miss = 1;
    for (const item of backlog) miss *= 1 - Math.min(1, weight(item, listening.length > 0));
    report.hosts.push({
      host,
      vulnerability_score: Math.round((1 - miss) * 1000) / 10,
      packages_installed: packages.length,
      vulnerable_packages: vulnerable.sort((a, b) => a.name.localeCompare(b.name)),
      listening,
      backlog,
    });
  }
  report.hosts.sort((a, b) => b.vulnerability_score - a.vulnerability_score || a.host.localeCompare(b.host));
  return report;
}
