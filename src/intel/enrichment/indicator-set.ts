import { CidrTrie } from './cidr-trie.ts';
import { formatCidr, formatIpv4 } from './ip.ts';
import { confidenceLabel, confidenceScore, indicatorAtoms, isIndicatorLive, type IndicatorAtom, type LatestIndicator } from './indicators.ts';
import { hexBytes, type WarningList } from './warning-list.ts';

/** What a match reports about the indicator behind it. */
export interface IndicatorHit {
  type: string;
  provider: string | null;
  confidence: string;
  score: number;
  feed: string | null;
}

export type UpsertOutcome = 'added' | 'updated' | 'removed' | 'ignored' | 'warning_listed';

const NO_STRING = 0xffff;

/**
 * The active indicators in memory, laid out for a million of them: each matchable value is a key in a
 * Map per kind whose value is a small-integer slot (IPv4 keys are int32 too, so they allocate nothing),
 * and everything about the indicator lives in typed arrays indexed by slot, with repeated strings
 * (type, provider, feed, confidence) interned. CIDR indicators live in one prefix trie per family.
 */
export class IndicatorSet {
  private readonly ipv4 = new Map<number, number>();
  private readonly keyed = {
    ipv6: new Map<string, number>(),
    domain: new Map<string, number>(),
    url: new Map<string, number>(),
    hash: new Map<string, number>(),
    email: new Map<string, number>(),
  };
  private readonly cidr4 = new CidrTrie(32);
  private readonly cidr6 = new CidrTrie(128);

  private score = new Uint8Array(1024);
  private type = new Uint16Array(1024);
  private provider = new Uint16Array(1024);
  private feed = new Uint16Array(1024);
  private label = new Uint16Array(1024);
  /** Expiry in seconds since the epoch; 0 = none. */
  private expires = new Uint32Array(1024);
  private nextSlot = 0;
  private readonly free: number[] = [];
  private readonly strings: string[] = [];
  private readonly stringIds = new Map<string, number>();
  /** The earliest expiry held, so `expire` scans only when something can have expired. */
  private earliestExpiry = Infinity;

  constructor(private readonly warningList?: WarningList) {}

  /** Matchable values held. */
  get size(): number {
    return this.ipv4.size + this.cidr4.size + this.cidr6.size + Object.values(this.keyed).reduce((n, m) => n + m.size, 0);
  }

  /** Applies one indicator as the store now has it: live ones are added or updated, others removed. */
  apply(indicator: LatestIndicator, now = Date.now()): UpsertOutcome {
    const atoms = indicatorAtoms(indicator);
    if (atoms.length === 0) return 'ignored';
    if (!isIndicatorLive(indicator, now)) {
      let removed = false;
      for (const atom of atoms) removed = this.removeAtom(atom) || removed;
      return removed ? 'removed' : 'ignored';
    }
    const score = confidenceScore(indicator);
    const ti = indicator.threat.indicator;
    const providers = indicator.nyx.indicator.providers;
    const feeds = indicator.nyx.indicator.feeds;
    const providerText = Array.isArray(ti.provider) ? ti.provider.join(',') : String(ti.provider ?? '');
    const expiresAt = indicator.nyx.indicator.expires_at ? Date.parse(indicator.nyx.indicator.expires_at) : NaN;
    const meta = {
      score,
      type: this.intern(ti.type),
      provider: providerText ? this.intern(providerText) : providers?.length ? this.intern(providers.join(',')) : NO_STRING,
      feed: feeds?.length ? this.intern(feeds.join(',')) : NO_STRING,
      label: this.intern(typeof ti.confidence === 'string' && ti.confidence ? ti.confidence : confidenceLabel(score)),
      expires: Number.isNaN(expiresAt) ? 0 : Math.max(1, Math.ceil(expiresAt / 1000)),
    };
    let outcome: UpsertOutcome = 'warning_listed';
    for (const atom of atoms) {
      if (this.warningList?.explain(atom)) {
        this.removeAtom(atom);
        continue;
      }
      let slot = this.slotOf(atom);
      if (slot < 0) {
        slot = this.allocate();
        this.bind(atom, slot);
        outcome = 'added';
      } else if (outcome !== 'added') outcome = 'updated';
      this.score[slot] = meta.score;
      this.type[slot] = meta.type;
      this.provider[slot] = meta.provider;
      this.feed[slot] = meta.feed;
      this.label[slot] = meta.label;
      this.expires[slot] = meta.expires;
      if (meta.expires && meta.expires * 1000 < this.earliestExpiry) this.earliestExpiry = meta.expires * 1000;
    }
    return outcome;
  }

  /** Drops every value whose expiry has passed (a no-op until the earliest one has). Returns how many. */
  expire(now = Date.now()): number {
    if (now < this.earliestExpiry) return 0;
    const cutoff = Math.floor(now / 1000);
    let removed = 0;
    let earliest = Infinity;
    const sweep = <K>(map: Map<K, number>): void => {
      for (const [key, slot] of map) {
        const e = this.expires[slot]!;
        if (e === 0) continue;
        if (e <= cutoff) {
          map.delete(key);
          this.release(slot);
          removed++;
        } else if (e * 1000 < earliest) earliest = e * 1000;
      }
    };
    sweep(this.ipv4);
    for (const map of Object.values(this.keyed)) sweep(map);
    for (const trie of [this.cidr4, this.cidr6]) {
      for (const [bytes, prefix, slot] of [...trie.entries()]) {
        const e = this.expires[slot]!;
        if (e === 0) continue;
        if (e <= cutoff) {
          trie.delete(bytes, prefix);
          this.release(slot);
          removed++;
        } else if (e * 1000 < earliest) earliest = e * 1000;
      }
    }
    this.earliestExpiry = earliest;
    return removed;
  }

  /** Slot of an exact IPv4 indicator, else of the most specific CIDR containing it; -1 for none. */
  matchIpv4(ip: number): number {
    const exact = this.ipv4.get(ip);
    if (exact !== undefined) return exact;
    return this.cidr4.size ? this.cidr4.longestMatchV4(ip) : -1;
  }

  /** Same for IPv6 (key: 32 hex digits). */
  matchIpv6(key: string, bytes: Uint8Array): number {
    const exact = this.keyed.ipv6.get(key);
    if (exact !== undefined) return exact;
    return this.cidr6.size ? this.cidr6.longestMatch(bytes) : -1;
  }

  /** True when this address is itself an indicator (not only inside a CIDR one). */
  hasExactIpv4(ip: number): boolean {
    return this.ipv4.has(ip);
  }

  hasExactIpv6(key: string): boolean {
    return this.keyed.ipv6.has(key);
  }

  /** Slot of a normalised domain, URL, hash or email address; -1 for none. */
  matchKey(kind: 'domain' | 'url' | 'hash' | 'email', key: string): number {
    return this.keyed[kind].get(key) ?? -1;
  }

  hit(slot: number): IndicatorHit {
    const s = (id: number): string | null => (id === NO_STRING ? null : this.strings[id] ?? null);
    return { type: s(this.type[slot]!) ?? 'unknown', provider: s(this.provider[slot]!), confidence: s(this.label[slot]!) ?? 'Not Specified', score: this.score[slot]!, feed: s(this.feed[slot]!) };
  }

  scoreOf(slot: number): number {
    return this.score[slot]!;
  }

  /** Every held value in its matchable text form, with its slot (for generating the pipeline's params). */
  *values(): Generator<{ kind: 'ip' | 'cidr' | 'domain' | 'url' | 'hash' | 'email'; text: string; slot: number }> {
    for (const [ip, slot] of this.ipv4) yield { kind: 'ip', text: formatIpv4(ip), slot };
    for (const [key, slot] of this.keyed.ipv6) yield { kind: 'ip', text: formatIpv6(hexBytes(key)), slot };
    for (const [bytes, prefix, slot] of this.cidr4.entries()) yield { kind: 'cidr', text: formatCidr({ family: 4, bytes, prefix }), slot };
    for (const [bytes, prefix, slot] of this.cidr6.entries()) yield { kind: 'cidr', text: formatCidr({ family: 6, bytes, prefix }), slot };
    for (const kind of ['domain', 'url', 'hash', 'email'] as const) for (const [text, slot] of this.keyed[kind]) yield { kind, text, slot };
  }

  private slotOf(atom: IndicatorAtom): number {
    switch (atom.kind) {
      case 'ipv4':
        return this.ipv4.get(atom.ip) ?? -1;
      case 'cidr':
        return (atom.cidr.family === 4 ? this.cidr4 : this.cidr6).get(atom.cidr.bytes, atom.cidr.prefix);
      default:
        return this.keyed[atom.kind].get(atom.key) ?? -1;
    }
  }

  private bind(atom: IndicatorAtom, slot: number): void {
    if (atom.kind === 'ipv4') this.ipv4.set(atom.ip, slot);
    else if (atom.kind === 'cidr') (atom.cidr.family === 4 ? this.cidr4 : this.cidr6).set(atom.cidr.bytes, atom.cidr.prefix, slot);
    else this.keyed[atom.kind].set(atom.key, slot);
  }

  private removeAtom(atom: IndicatorAtom): boolean {
    let slot: number;
    if (atom.kind === 'ipv4') {
      slot = this.ipv4.get(atom.ip) ?? -1;
      this.ipv4.delete(atom.ip);
    } else if (atom.kind === 'cidr') slot = (atom.cidr.family === 4 ? this.cidr4 : this.cidr6).delete(atom.cidr.bytes, atom.cidr.prefix);
    else {
      slot = this.keyed[atom.kind].get(atom.key) ?? -1;
      this.keyed[atom.kind].delete(atom.key);
    }
    if (slot < 0) return false;
    this.release(slot);
    return true;
  }

  private release(slot: number): void {
    this.expires[slot] = 0;
    this.free.push(slot);
  }

  private allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.nextSlot === this.score.length) {
      const n = this.score.length * 2;
      const grow = <T extends Uint8Array | Uint16Array | Uint32Array>(a: T, make: (n: number) => T): T => {
        const next = make(n);
        next.set(a);
        return next;
      };
      this.score = grow(this.score, (k) => new Uint8Array(k));
      this.type = grow(this.type, (k) => new Uint16Array(k));
      this.provider = grow(this.provider, (k) => new Uint16Array(k));
      this.feed = grow(this.feed, (k) => new Uint16Array(k));
      this.label = grow(this.label, (k) => new Uint16Array(k));
      this.expires = grow(this.expires, (k) => new Uint32Array(k));
    }
    return this.nextSlot++;
  }

  private intern(text: string): number {
    let id = this.stringIds.get(text);
    if (id === undefined) {
      // Past 65,535 distinct strings (never seen in practice) new ones read back as unknown.
      if (this.strings.length >= NO_STRING) return NO_STRING;
      id = this.strings.push(text) - 1;
      this.stringIds.set(text, id);
    }
    return id;
  }
}

/** RFC 5952 text of 16 address bytes (lowercase, longest zero run as ::). */
export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}
