import { BlockList, isIP } from 'node:net';
import { NyxError } from '../errors.ts';
import type { ResponseConfig } from './config.ts';
import { readField } from './template.ts';

/**
 * Checked by the engine before every step, from config only: a playbook can neither see nor change them.
 * - protected targets: IPs/CIDRs, instance ids and tags, critical accounts → refused
 * - rate limits per action type and per target → refused once over
 * - a circuit breaker per playbook: after N consecutive failures the playbook stops until a cooldown ends
 * Rate windows and breakers are per replica (in memory): N replicas allow up to N× the configured rate.
 */
export type GuardrailRule = 'protected_target' | 'rate_limit' | 'circuit_open' | 'invalid_target';

export type GuardrailVerdict = { ok: true } | { ok: false; rule: GuardrailRule; reason: string };

/** What a step acts on, derived from its rendered parameters. */
export interface ActionTarget {
  kind: 'ip' | 'instance' | 'account' | 'host';
  value: string;
}

const TARGET_KEYS: Array<[ActionTarget['kind'], string[]]> = [
  ['ip', ['ip', 'ips', 'address', 'addresses', 'source_ip']],
  ['instance', ['instance_id', 'instance_ids']],
  ['account', ['user', 'username', 'account']],
  ['host', ['host', 'hostname']],
];

/** Every target a step's parameters name (by the well-known keys drivers share: ip, instance_id, user, host…). */
export function targetsOf(params: Record<string, unknown>): ActionTarget[] {
  const found: ActionTarget[] = [];
  for (const [kind, keys] of TARGET_KEYS) {
    for (const key of keys) {
      const value = params[key];
      const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
      for (const v of values) if (typeof v === 'string' || typeof v === 'number') found.push({ kind, value: String(v) });
    }
  }
  return found;
}

function buildBlockList(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/');
    const family = isIP(address ?? '');
    if (!family) throw new NyxError(`response.guardrails.protected_ips: "${entry}" is not an IP or CIDR`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address as string, type);
    else {
      const bits = Number(prefix);
      if (!Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32)) throw new NyxError(`response.guardrails.protected_ips: "${entry}" has a bad prefix length`);
      list.addSubnet(address as string, bits, type);
    }
  }
  return list;
}

/** Hosts Nyx itself depends on (Elasticsearch, Kibana, the ingest API) become protected when given as literal IPs. */
export function hostIps(urls: Array<string | undefined>): string[] {
  const ips: string[] = [];
  for (const url of urls) {
    if (!url) continue;
    try {
      const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
      if (isIP(host)) ips.push(host);
    } catch {
      // Not a URL: nothing to protect from it.
    }
  }
  return ips;
}

export class Guardrails {
  private readonly protectedIps: BlockList;
  private readonly protectedInstances: Set<string>;
  private readonly criticalAccounts: Set<string>;
  private readonly windows = new Map<string, number[]>();
  private readonly breakers = new Map<string, { failures: number; openUntil: number }>();

  constructor(
    private readonly settings: ResponseConfig['guardrails'],
    /** IPs protected in addition to config (the cluster's own address, Nyx's hosts). */
    extraProtectedIps: string[] = [],
  ) {
    this.protectedIps = buildBlockList([...settings.protected_ips, ...extraProtectedIps]);
    this.protectedInstances = new Set(settings.protected_instance_ids);
    this.criticalAccounts = new Set(settings.critical_accounts.map((a) => a.toLowerCase()));
  }

  /** Protected targets: a pure check of the step's targets (and the alert's instance tags). */
  checkTargets(targets: ActionTarget[], alert: unknown, params: Record<string, unknown>): GuardrailVerdict {
    for (const t of targets) {
      if (t.kind === 'ip') {
        const family = isIP(t.value);
        if (!family) return { ok: false, rule: 'invalid_target', reason: `"${t.value}" is not an IP address` };
        if (this.protectedIps.check(t.value, family === 6 ? 'ipv6' : 'ipv4')) return { ok: false, rule: 'protected_target', reason: `${t.value} is a protected address (response.guardrails.protected_ips)` };
      }
      if (t.kind === 'instance' && this.protectedInstances.has(t.value)) return { ok: false, rule: 'protected_target', reason: `instance ${t.value} is protected (response.guardrails.protected_instance_ids)` };
      if (t.kind === 'account' && this.criticalAccounts.has(t.value.toLowerCase())) return { ok: false, rule: 'protected_target', reason: `account ${t.value} is critical (response.guardrails.critical_accounts)` };
    }
    if (targets.some((t) => t.kind === 'instance') && this.settings.protected_instance_tags.length) {
      const tags = instanceTags(params.instance_tags ?? readField(alert, 'cloud.instance.tags') ?? readField(alert, 'labels'));
      for (const want of this.settings.protected_instance_tags) {
        const [key, value] = want.split('=');
        const hit = tags.some(([k, v]) => k === key && (value === undefined || v === value));
        if (hit) return { ok: false, rule: 'protected_target', reason: `the instance carries the protected tag ${want} (response.guardrails.protected_instance_tags)` };
      }
    }
    return { ok: true };
  }

  checkBreaker(playbook: string, now = Date.now()): GuardrailVerdict {
    const b = this.breakers.get(playbook);
    if (b && b.openUntil > now) {
      return { ok: false, rule: 'circuit_open', reason: `playbook ${playbook} failed ${this.settings.circuit_breaker.failures} times in a row; stopped until ${new Date(b.openUntil).toISOString()}` };
    }
    return { ok: true };
  }

  /** Rate limits; when allowed, the attempt is counted. */
  takeRate(type: string, targets: ActionTarget[], now = Date.now()): GuardrailVerdict {
    const typeLimit = this.settings.rate_limits[type];
    const checks: Array<{ key: string; max: number; windowMs: number; what: string }> = [];
    if (typeLimit) checks.push({ key: `type:${type}`, max: typeLimit.max, windowMs: typeLimit.window_seconds * 1000, what: `${type} actions` });
    const per = this.settings.per_target;
    for (const t of targets) checks.push({ key: `target:${t.kind}:${t.value}`, max: per.max, windowMs: per.window_seconds * 1000, what: `actions on ${t.value}` });
    for (const c of checks) {
      const recent = (this.windows.get(c.key) ?? []).filter((at) => at > now - c.windowMs);
      this.windows.set(c.key, recent);
      if (recent.length >= c.max) return { ok: false, rule: 'rate_limit', reason: `rate limit: ${c.max} ${c.what} per ${c.windowMs / 1000}s reached` };
    }
    for (const c of checks) this.windows.get(c.key)!.push(now);
    return { ok: true };
  }

  /** Counts a step's outcome towards its playbook's breaker; returns true when this failure opened it. */
  recordOutcome(playbook: string, ok: boolean, now = Date.now()): boolean {
    const b = this.breakers.get(playbook) ?? { failures: 0, openUntil: 0 };
    if (ok) {
      this.breakers.set(playbook, { failures: 0, openUntil: 0 });
      return false;
    }
    b.failures += 1;
    let opened = false;
    if (b.failures >= this.settings.circuit_breaker.failures && b.openUntil <= now) {
      b.openUntil = now + this.settings.circuit_breaker.cooldown_seconds * 1000;
      b.failures = 0;
      opened = true;
    }
    this.breakers.set(playbook, b);
    return opened;
  }
}

function instanceTags(raw: unknown): Array<[string, string]> {
  if (Array.isArray(raw)) {
    return raw.flatMap((t): Array<[string, string]> => {
      if (typeof t === 'string') {
        const [k, v] = t.split('=');
        return [[k ?? t, v ?? '']];
      }
      if (t && typeof t === 'object' && 'Key' in t) return [[String((t as { Key: unknown }).Key), String((t as { Value?: unknown }).Value ?? '')]];
      return [];
    });
  }
  if (raw && typeof raw === 'object') return Object.entries(raw).map(([k, v]) => [k, String(v)]);
  return [];
}
