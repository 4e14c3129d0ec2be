import { NyxError } from '../errors.ts';
import { accountName, builtinCriticalReason, type AccountName } from './accounts.ts';
import { builtinProtectedRanges, isSingleAddress, overlaps, protectedRange, readAddressTarget, type AddressReading, type ProtectedRange } from './addresses.ts';
import { guardrailsSchema, type ResponseConfig } from './config.ts';
import { OwnHostAddresses, ownHostsFrom, type HostLookup, type OwnHost } from './own-hosts.ts';
import { readField } from './template.ts';

/**
 * Checked by the engine before every step, from config only: a playbook can neither see nor change them.
 * - protected targets → refused: built-in address classes (loopback, unspecified, broadcast, multicast, link-local),
 *   configured IPs/CIDRs, the addresses Nyx's own hosts resolve to, instance ids and tags, critical accounts
 *   (built in and configured, in every spelling). Drivers ask again (checkTarget) just before they act.
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
  ['ip', ['ip', 'ips', 'address', 'addresses', 'source_ip', 'cidr']],
  ['instance', ['instance_id', 'instance_ids']],
  ['account', ['user', 'username', 'account', 'sid', 'user_sid', 'uid']],
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

/** What a driver asks before it acts (the engine hands its Guardrails to every driver call). */
export interface TargetGuard {
  checkTarget(target: ActionTarget): GuardrailVerdict;
}

export interface GuardrailsOptions {
  /** Hosts Nyx depends on (from its config): their resolved addresses are protected. */
  ownHosts?: OwnHost[];
  /** The resolver (default: the system's, as connections use); tests give their own names a fixed answer. */
  lookup?: HostLookup;
}

function configuredRanges(entries: string[], extra: string[]): ProtectedRange[] {
  const ranges: ProtectedRange[] = [];
  for (const entry of entries) {
    try {
      ranges.push(protectedRange(entry, 'listed in response.guardrails.protected_ips'));
    } catch (err) {
      throw new NyxError(`response.guardrails.protected_ips: ${(err as Error).message}`);
    }
  }
  for (const entry of extra) ranges.push(protectedRange(entry, "Nyx's own host"));
  return ranges;
}

/** How a reading of a target is named in a reason: as written, plus what it was read as when that differs. */
function spelled(input: string, reading: AddressReading): string {
  return reading.canonical === input.trim() ? input.trim() : `${input.trim()} (read as ${reading.canonical})`;
}

export class Guardrails implements TargetGuard {
  /** Built-in classes and the configured list: fixed for the engine's life. */
  private readonly fixedRanges: ProtectedRange[];
  private readonly ownHosts: OwnHostAddresses;
  private readonly protectedInstances: Set<string>;
  private readonly criticalAccounts: Array<{ entry: string; account: AccountName }>;
  private readonly windows = new Map<string, number[]>();
  private readonly breakers = new Map<string, { failures: number; openUntil: number }>();

  constructor(
    private readonly settings: ResponseConfig['guardrails'],
    /** Literal IPs/CIDRs protected in addition to config. */
    extraProtectedIps: string[] = [],
    options: GuardrailsOptions = {},
  ) {
    this.fixedRanges = [...builtinProtectedRanges(), ...configuredRanges(settings.protected_ips, extraProtectedIps)];
    const hosts = [...(options.ownHosts ?? []), ...ownHostsFrom([{ source: 'response.guardrails.protected_hosts', urls: settings.protected_hosts }])];
    this.ownHosts = new OwnHostAddresses(hosts, { refreshMs: settings.own_hosts_refresh_seconds * 1000, ...(options.lookup ? { lookup: options.lookup } : {}) });
    this.protectedInstances = new Set(settings.protected_instance_ids);
    this.criticalAccounts = settings.critical_accounts.flatMap((entry) => {
      const account = accountName(entry);
      return account ? [{ entry, account }] : [];
    });
  }

  /** Resolves Nyx's own hostnames when due (first use, then every own_hosts_refresh_seconds). */
  refreshOwnHosts(now = Date.now(), force = false): Promise<void> {
    return this.ownHosts.refresh(now, force);
  }

  /** The own hosts and what they resolved to now (for `nyx respond`'s start-up line and for tests). */
  describeOwnHosts(): { protected: string[]; unresolved: string[] } {
    return {
      protected: this.ownHosts.ranges().map((r) => `${r.cidr} (${r.label.replace(/, protected by default$/, '')})`),
      unresolved: this.ownHosts.unresolved().map((h) => `${h.host} (${h.source}): ${h.error}`),
    };
  }

  /** One target, as a driver asks just before it acts. */
  checkTarget(target: ActionTarget): GuardrailVerdict {
    if (target.kind === 'ip') return this.checkAddress(target.value);
    if (target.kind === 'account') return this.checkAccount(target.value);
    if (target.kind === 'instance' && this.protectedInstances.has(target.value)) return { ok: false, rule: 'protected_target', reason: `instance ${target.value} is protected (response.guardrails.protected_instance_ids)` };
    if (target.kind === 'host') return this.checkHost(target.value);
    return { ok: true };
  }

  /** A host named by address is an address; by name, it is refused when it is one of Nyx's own hosts. */
  private checkHost(value: string): GuardrailVerdict {
    if (readAddressTarget(value).ok) return this.checkAddress(value);
    const name = value.normalize('NFKC').trim().toLowerCase().replace(/\.$/, '');
    const own = this.ownHosts.hosts.find((h) => h.host === name);
    if (own) return { ok: false, rule: 'protected_target', reason: `host ${name} is one of Nyx's own hosts (${own.source})` };
    return { ok: true };
  }

  /**
   * An address or range is refused when any reading of it touches a protected range (built-in classes, config,
   * Nyx's own hosts), when it is spelled ambiguously, or while one of Nyx's own hostnames has never resolved.
   */
  checkAddress(value: string): GuardrailVerdict {
    const read = readAddressTarget(value);
    if (!read.ok) return { ok: false, rule: 'invalid_target', reason: read.reason };
    const ranges = [...this.fixedRanges, ...this.ownHosts.ranges()];
    for (const reading of read.readings) {
      for (const range of ranges) {
        if (!overlaps(reading, range)) continue;
        const target = spelled(value, reading);
        if (!isSingleAddress(reading)) return { ok: false, rule: 'protected_target', reason: `${target} overlaps ${range.cidr} (${range.label})` };
        if (isSingleAddress(range)) return { ok: false, rule: 'protected_target', reason: `${target} is ${range.label}` };
        return { ok: false, rule: 'protected_target', reason: `${target} is in ${range.cidr} (${range.label})` };
      }
    }
    const meanings = read.readings.filter((r) => !r.embedded);
    if (meanings.length > 1) {
      return { ok: false, rule: 'invalid_target', reason: `"${value.trim()}" is ambiguous (${meanings.map((r) => r.canonical).join(' or ')}): write the address in canonical form` };
    }
    const [only] = meanings;
    if (only && !only.canonical.includes(':') && !value.includes(':') && only.canonical !== value.trim()) {
      return { ok: false, rule: 'invalid_target', reason: `"${value.trim()}" is not written in canonical form: write it as ${only.canonical}` };
    }
    const unresolved = this.ownHosts.unresolved()[0];
    if (unresolved) {
      return {
        ok: false,
        rule: 'protected_target',
        reason: `cannot tell whether ${value.trim()} is an address of ${unresolved.host} (${unresolved.source}): the name does not resolve (${unresolved.error}); IP blocks are refused until it does`,
      };
    }
    return { ok: true };
  }

  /** Critical accounts, built in (root/uid 0, Administrator, SYSTEM, well-known SIDs) and configured, in every spelling. */
  checkAccount(value: string): GuardrailVerdict {
    const account = accountName(value);
    if (!account) return { ok: false, rule: 'invalid_target', reason: `"${value.slice(0, 80)}" names no account` };
    const shown = account.key === value.trim() ? `account ${value.trim()}` : `account "${value.trim().slice(0, 80)}" (read as ${account.key})`;
    const builtin = builtinCriticalReason(account);
    if (builtin) return { ok: false, rule: 'protected_target', reason: `${shown} is ${builtin}: a critical account, never disabled` };
    const configured = this.criticalAccounts.find((c) => c.account.kind === account.kind && c.account.key === account.key);
    if (configured) return { ok: false, rule: 'protected_target', reason: `${shown} is critical (response.guardrails.critical_accounts: ${configured.entry})` };
    return { ok: true };
  }

  /** Protected targets: a pure check of the step's targets (and the alert's instance tags). */
  checkTargets(targets: ActionTarget[], alert: unknown, params: Record<string, unknown>): GuardrailVerdict {
    for (const t of targets) {
      const verdict = this.checkTarget(t);
      if (!verdict.ok) return verdict;
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

/** The guardrails with no configuration: the built-in protected addresses and critical accounts only. */
export function builtinGuardrails(): Guardrails {
  return new Guardrails(guardrailsSchema.parse({}));
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
