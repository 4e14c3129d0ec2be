import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { protectedRange, type ProtectedRange } from './addresses.ts';

/**
 * The hosts Nyx itself depends on (Elasticsearch nodes, Kibana, MISP, TheHive, Cortex, the firewalls it drives,
 * the Nyx API) are protected by their *addresses*, and a URL usually names a host. So each hostname is resolved
 * (every A and AAAA record, through the system resolver as connections do) when the engine first needs it and
 * again every refresh interval.
 *
 * Fail closed: while a hostname has never resolved, Nyx cannot tell whether an address is one of its own, so the
 * guardrail refuses every IP block and says which name did not resolve. Once a name has resolved, a later failed
 * lookup keeps the addresses it had (they are still the best knowledge, and a DNS outage must not stop blocks).
 */

const UNRESOLVED_RETRY_MS = 10_000;

export interface OwnHost {
  /** A hostname or a literal IP, as the URL named it. */
  host: string;
  /** Where it comes from, for the refusal reason: "elasticsearch.url", "response.thehive.url". */
  source: string;
}

export type HostLookup = (host: string) => Promise<string[]>;

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), every address of both families. */
export const systemLookup: HostLookup = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** Every host named by these URLs (or bare host names), once, with the first setting that names it. */
export function ownHostsFrom(entries: Array<{ source: string; urls: ReadonlyArray<string | undefined> | string | undefined }>): OwnHost[] {
  const hosts: OwnHost[] = [];
  for (const { source, urls } of entries) {
    for (const url of typeof urls === 'string' ? [urls] : urls ?? []) {
      const host = hostOf(url);
      if (host && !hosts.some((h) => h.host === host)) hosts.push({ host, source });
    }
  }
  return hosts;
}

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  const text = url.trim();
  const bare = text.replace(/^\[|\]$/g, '');
  if (isIP(bare)) return bare.toLowerCase();
  try {
    const parsed = new URL(text.includes('://') ? text : `http://${text}`);
    return parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase() || undefined;
  } catch {
    return undefined;
  }
}

/** A bind-all address (0.0.0.0, ::) stands for every address of this machine. */
function isBindAll(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((i) => i.address.replace(/%.*$/, ''));
}

interface Resolution {
  addresses: string[];
  /** Why the last lookup failed (kept with the previous addresses, if any). */
  error?: string;
}

export interface OwnHostAddressesOptions {
  refreshMs: number;
  lookup?: HostLookup;
  /** Bound on one lookup: a resolver that never answers counts as a failure. */
  timeoutMs?: number;
}

export class OwnHostAddresses {
  private readonly resolved = new Map<string, Resolution>();
  private lastRefresh = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;
  private readonly lookup: HostLookup;

  constructor(
    readonly hosts: OwnHost[],
    private readonly options: OwnHostAddressesOptions,
  ) {
    this.lookup = options.lookup ?? systemLookup;
  }

  /** Resolves every hostname if the last pass is older than the refresh interval; concurrent callers share one pass. */
  async refresh(now = Date.now(), force = false): Promise<void> {
    // A name that never resolved is asked again sooner: until it answers, every IP block is refused.
    const interval = this.unresolved().length ? Math.min(this.options.refreshMs, UNRESOLVED_RETRY_MS) : this.options.refreshMs;
    if (!force && now - this.lastRefresh < interval) return this.refreshing;
    this.lastRefresh = now;
    this.refreshing ??= this.resolveAll().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async resolveAll(): Promise<void> {
    const names = [...new Set(this.hosts.map((h) => h.host).filter((h) => !isIP(h)))];
    await Promise.all(
      names.map(async (name) => {
        const before = this.resolved.get(name);
        try {
          const addresses = await this.bounded(name);
          if (!addresses.length) throw new Error('no address');
          this.resolved.set(name, { addresses });
        } catch (err) {
          const error = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
          this.resolved.set(name, { addresses: before?.addresses ?? [], error });
        }
      }),
    );
  }

  private bounded(name: string): Promise<string[]> {
    const timeoutMs = this.options.timeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([this.lookup(name), timeout]).finally(() => clearTimeout(timer));
  }

  /** Every address of every own host known now, labelled with its host and setting. */
  ranges(): ProtectedRange[] {
    const ranges: ProtectedRange[] = [];
    for (const { host, source } of this.hosts) {
      const addresses = isBindAll(host) ? localAddresses() : isIP(host) ? [host] : this.resolved.get(host)?.addresses ?? [];
      const what = isBindAll(host) ? `an address of this host (${source} is ${host})` : isIP(host) ? `Nyx's own host (${source})` : `an address of ${host} (${source})`;
      for (const address of addresses) {
        try {
          ranges.push(protectedRange(address, `${what}, protected by default`));
        } catch {
          // The resolver answered something that is not an address: nothing to protect from it.
        }
      }
    }
    return ranges;
  }

  /** Hostnames that have never resolved: while any is left, IP blocks are refused. */
  unresolved(): Array<OwnHost & { error: string }> {
    return this.hosts.flatMap((h) => {
      if (isIP(h.host)) return [];
      const r = this.resolved.get(h.host);
      if (r?.addresses.length) return [];
      return [{ ...h, error: r?.error ?? 'not resolved yet' }];
    });
  }
}
