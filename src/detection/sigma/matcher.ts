import { basename } from 'node:path';
import { ownValue } from '../../reserved-keys.ts';
import { EventView, FieldTable, type EcsDocument, type FieldValues } from './document.ts';
import { canonicalIp, cidrContains, parseCidr, type ParsedCidr } from './ip.ts';
import { mapSigmaRule, type FieldMappings } from './mapping.ts';
import { jsFlags } from './regex.ts';
import type { DetectionExpr, MappedSigmaRule, SigmaLevel, SigmaRule, TargetFieldType, ValueTest } from './types.ts';

/**
 * The stream backend: a DetectionExpr compiled once into closures. Per event nothing is
 * parsed or built: field values are read and lower-cased once (EventView) and shared by
 * every rule; string lists become Set lookups or one combined RegExp per leaf.
 */

export interface SigmaMatch {
  ruleId: string;
  title: string;
  level?: SigmaLevel;
  tags: string[];
  file: string;
  /** Search identifiers that were true for this event (evidence for the alert). */
  selections: string[];
}

export type EventMatcher = (doc: EcsDocument) => SigmaMatch | null;

type Predicate = (view: EventView) => boolean;
type ValuePredicate = (values: FieldValues, view: EventView) => boolean;

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** Wildcard parts → anchored RegExp source (`*` any run, `?` one code point). */
function wildcardSource(parts: Extract<ValueTest, { kind: 'string' }>['parts'], lower: boolean): string {
  return parts.map((p) => (p.kind === 'text' ? escapeRegExp(lower ? p.text.toLowerCase() : p.text) : p.kind === 'anyChars' ? '[^]*' : '[^]')).join('');
}

type StringShape = { shape: 'eq' | 'prefix' | 'suffix' | 'contains'; text: string } | { shape: 'wildcard' };

export function stringShape(parts: Extract<ValueTest, { kind: 'string' }>['parts']): StringShape {
  const kinds = parts.map((p) => p.kind).join(',');
  const text = (i: number): string => (parts[i] as { text: string }).text;
  switch (kinds) {
    case '':
      return { shape: 'eq', text: '' };
    case 'text':
      return { shape: 'eq', text: text(0) };
    case 'text,anyChars':
      return { shape: 'prefix', text: text(0) };
    case 'anyChars,text':
      return { shape: 'suffix', text: text(1) };
    case 'anyChars,text,anyChars':
      return { shape: 'contains', text: text(1) };
    default:
      return { shape: 'wildcard' };
  }
}

class StringGroup {
  readonly eq = new Set<string>();
  readonly prefix: string[] = [];
  readonly suffix: string[] = [];
  readonly contains: string[] = [];
  readonly wildcards: string[] = [];

  add(test: Extract<ValueTest, { kind: 'string' }>, lower: boolean): void {
    const s = stringShape(test.parts);
    if (s.shape === 'wildcard') {
      this.wildcards.push(wildcardSource(test.parts, lower));
      return;
    }
    const text = lower ? s.text.toLowerCase() : s.text;
    if (s.shape === 'eq') this.eq.add(text);
    else this[s.shape].push(text);
  }

  compile(): ((value: string) => boolean) | undefined {
    const { eq, prefix, suffix, contains } = this;
    const wildcard = this.wildcards.length ? new RegExp(`^(?:${this.wildcards.join('|')})$`, 'u') : undefined;
    if (!eq.size && !prefix.length && !suffix.length && !contains.length && !wildcard) return undefined;
    return (v) => {
      if (eq.has(v)) return true;
      for (const p of prefix) if (v.startsWith(p)) return true;
      for (const s of suffix) if (v.endsWith(s)) return true;
      for (const c of contains) if (v.includes(c)) return true;
      return wildcard !== undefined && wildcard.test(v);
    };
  }
}

function compileValueTests(tests: ValueTest[], fieldType: TargetFieldType | undefined, table: FieldTable): ValuePredicate {
  const caseless = new StringGroup();
  const cased = new StringGroup();
  const ipEq = new Set<string>();
  const regexes: RegExp[] = [];
  const cidrs: ParsedCidr[] = [];
  const compares: ((n: number) => boolean)[] = [];
  const fieldrefs: { ids: number[]; cased: boolean }[] = [];
  for (const t of tests) {
    switch (t.kind) {
      case 'string': {
        const s = stringShape(t.parts);
        // ip-typed fields compare addresses, not spellings (as Elasticsearch's ip type does).
        const canonical = fieldType === 'ip' && s.shape === 'eq' ? canonicalIp(s.text) : undefined;
        if (canonical) ipEq.add(canonical);
        else (t.cased ? cased : caseless).add(t, !t.cased);
        break;
      }
      case 'regex':
        regexes.push(new RegExp(t.source, jsFlags(t.flags)));
        break;
      case 'cidr':
        cidrs.push(parseCidr(t.network)!);
        break;
      case 'compare': {
        const x = t.value;
        compares.push(t.op === 'lt' ? (n) => n < x : t.op === 'lte' ? (n) => n <= x : t.op === 'gt' ? (n) => n > x : (n) => n >= x);
        break;
      }
      case 'fieldref':
        fieldrefs.push({ ids: t.fields.map((f) => table.intern(f)), cased: t.cased });
        break;
    }
  }
  const caselessFn = caseless.compile();
  const casedFn = cased.compile();
  const checks: ValuePredicate[] = [];
  if (caselessFn) checks.push((fv) => fv.lower.some(caselessFn));
  if (casedFn) checks.push((fv) => fv.raw.some(casedFn));
  if (ipEq.size) checks.push((fv) => fv.canonicalIps.some((c) => c !== undefined && ipEq.has(c)));
  if (regexes.length) checks.push((fv) => fv.raw.some((v) => regexes.some((r) => r.test(v))));
  if (cidrs.length) checks.push((fv) => fv.ips.some((ip) => ip !== undefined && cidrs.some((c) => cidrContains(c, ip))));
  if (compares.length) checks.push((fv) => fv.numbers.some((n) => compares.some((c) => c(n))));
  for (const ref of fieldrefs) {
    checks.push((fv, view) =>
      ref.ids.some((id) => {
        const other = view.get(id);
        if (!other.raw.length) return false;
        const mine = new Set(ref.cased ? fv.raw : fv.lower);
        return (ref.cased ? other.raw : other.lower).some((v) => mine.has(v));
      }),
    );
  }
  if (checks.length === 1) return checks[0]!;
  return (fv, view) => checks.some((c) => c(fv, view));
}

export function compileExpr(expr: DetectionExpr, table: FieldTable, types: Record<string, TargetFieldType>): Predicate {
  switch (expr.op) {
    case 'and': {
      const parts = expr.args.map((a) => compileExpr(a, table, types));
      return (v) => {
        for (const p of parts) if (!p(v)) return false;
        return true;
      };
    }
    case 'or': {
      const parts = expr.args.map((a) => compileExpr(a, table, types));
      return (v) => {
        for (const p of parts) if (p(v)) return true;
        return false;
      };
    }
    case 'not': {
      const inner = compileExpr(expr.arg, table, types);
      return (v) => !inner(v);
    }
    case 'const': {
      const value = expr.value;
      return () => value;
    }
    case 'exists': {
      const ids = expr.fields.map((f) => table.intern(f));
      return (v) => ids.some((id) => v.get(id).present);
    }
    case 'match': {
      const ids = expr.fields.map((f) => table.intern(f));
      const fieldType = expr.fields.every((f) => ownValue(types, f) === 'ip') ? 'ip' : undefined;
      const test = compileValueTests(expr.tests, fieldType, table);
      if (ids.length === 1) {
        const id = ids[0]!;
        return (v) => {
          const fv = v.get(id);
          return fv.raw.length > 0 && test(fv, v);
        };
      }
      return (v) => {
        for (const id of ids) {
          const fv = v.get(id);
          if (fv.raw.length > 0 && test(fv, v)) return true;
        }
        return false;
      };
    }
  }
}

export function ruleIdOf(rule: SigmaRule): string {
  // `name` before the file stem: several rules can share one (multi-document) file.
  return rule.id ?? rule.name ?? basename(rule.file).replace(/\.ya?ml$/, '');
}

/** A mapped rule compiled against a (possibly shared) field table. */
export interface CompiledStreamRule {
  mapped: MappedSigmaRule;
  test: Predicate;
  evidence(view: EventView): SigmaMatch;
}

export function compileStreamRule(mapped: MappedSigmaRule, table: FieldTable): CompiledStreamRule {
  const test = compileExpr(mapped.expr, table, mapped.fieldTypes);
  const selections = Object.entries(mapped.selections).map(([name, e]) => [name, compileExpr(e, table, mapped.fieldTypes)] as const);
  const { rule } = mapped;
  const base = { ruleId: ruleIdOf(rule), title: rule.title, ...(rule.level ? { level: rule.level } : {}), tags: rule.tags, file: rule.file };
  return {
    mapped,
    test,
    evidence: (view) => ({ ...base, selections: selections.filter(([, p]) => p(view)).map(([n]) => n) }),
  };
}

/** One rule as a function of one ECS document (the simple entry point; rule sets use SigmaRuleSet). */
export function compileRuleMatcher(rule: SigmaRule, mappings: FieldMappings): EventMatcher {
  const table = new FieldTable();
  const compiled = compileStreamRule(mapSigmaRule(rule, mappings), table);
  return (doc) => {
    const view = new EventView(table, doc);
    return compiled.test(view) ? compiled.evidence(view) : null;
  };
}

// ---------------------------------------------------------------------------------------------
// Rule sets: each event only meets the rules that could possibly match it.

/** Fields that split events coarsely (a whole logsource); used only when nothing sharper exists. */
const BROAD_FIELDS = new Set(['event.category', 'event.type', 'event.kind', 'event.module', 'event.provider', 'event.dataset', 'winlog.channel', 'winlog.provider_name', 'data_stream.dataset']);

interface RouteEntry {
  fields: string[];
  /** eq: the value itself; base: the file name after the last path separator; sub: a literal the value contains. */
  kind: 'eq' | 'base' | 'sub';
  keys: string[];
}

/** Where a rule is filed: it can only match an event that hits one of the entries. */
interface RoutingChoice {
  entries: RouteEntry[];
  score: number;
}

/** Shortest literal a substring route may use: shorter ones are in nearly every value and select nothing. */
const MIN_SUB_LITERAL = 3;

function lastSegment(v: string): string {
  const i = Math.max(v.lastIndexOf('\\'), v.lastIndexOf('/'));
  return i >= 0 ? v.slice(i + 1) : v;
}

/** The conjuncts every match must satisfy: nested ANDs flattened (a selection's items sit one level down). */
function conjunctsOf(expr: DetectionExpr, out: DetectionExpr[] = []): DetectionExpr[] {
  if (expr.op === 'and') for (const a of expr.args) conjunctsOf(a, out);
  else out.push(expr);
  return out;
}

/** One match leaf as lookup keys, when its tests allow it. */
function leafRoute(c: Extract<DetectionExpr, { op: 'match' }>, types: Record<string, TargetFieldType>): RoutingChoice | undefined {
  if (c.keyword || c.fields.some((f) => { const type = ownValue(types, f); return type !== undefined && type !== 'keyword'; })) return undefined;
  if (!c.tests.every((t) => t.kind === 'string')) return undefined;
  const shapes = c.tests.map((t) => stringShape((t as Extract<ValueTest, { kind: 'string' }>).parts));
  if (shapes.every((s) => s.shape === 'eq')) {
    const broad = c.fields.every((f) => BROAD_FIELDS.has(f));
    return { entries: [{ fields: c.fields, kind: 'eq', keys: shapes.map((s) => (s as { text: string }).text.toLowerCase()) }], score: broad ? 1 : 3 };
  }
  if (shapes.every((s) => s.shape === 'suffix' && /[\\/]/.test(s.text) && lastSegment(s.text) !== '')) {
    return { entries: [{ fields: c.fields, kind: 'base', keys: shapes.map((s) => lastSegment((s as { text: string }).text).toLowerCase()) }], score: 2 };
  }
  if (shapes.every((s) => s.shape !== 'wildcard' && s.text.length >= MIN_SUB_LITERAL)) {
    // Longer literals select better; still below an exact-key route.
    const shortest = Math.min(...shapes.map((s) => (s as { text: string }).text.length));
    return { entries: [{ fields: c.fields, kind: 'sub', keys: shapes.map((s) => (s as { text: string }).text.toLowerCase()) }], score: 1.5 + Math.min(shortest, 20) / 100 };
  }
  return undefined;
}

/**
 * How to find a rule from an event: the best-scoring conjunct of an AND; for an OR, every branch's route
 * together (a `selection_img or selection_ofn` rule is filed under both); a NOT cannot route.
 */
function routingChoice(expr: DetectionExpr, types: Record<string, TargetFieldType>): RoutingChoice | undefined {
  switch (expr.op) {
    case 'match':
      return leafRoute(expr, types);
    case 'and': {
      let best: RoutingChoice | undefined;
      for (const c of conjunctsOf(expr)) {
        const r = routingChoice(c, types);
        if (r && (!best || r.score > best.score)) best = r;
      }
      return best;
    }
    case 'or': {
      const routes = expr.args.map((a) => routingChoice(a, types));
      if (routes.some((r) => !r)) return undefined;
      return { entries: routes.flatMap((r) => r!.entries), score: Math.min(...routes.map((r) => r!.score)) };
    }
    default:
      return undefined;
  }
}

/** A rolling key of the 3 code units at `p` (collisions only cost a startsWith check). */
function gramAt(v: string, p: number): number {
  return ((v.charCodeAt(p) * 65_599 + v.charCodeAt(p + 1)) * 65_599 + v.charCodeAt(p + 2)) | 0;
}

/**
 * Literals of `sub` routes on one field: each literal filed under its first 3 characters, so one pass
 * over a value finds every literal it contains (a small Aho-Corasick stand-in, no per-rule scans).
 */
class SubstringIndex {
  readonly rulesOf = new Map<string, number[]>();
  private readonly byGram = new Map<number, string[]>();

  add(literal: string, rule: number): void {
    const list = this.rulesOf.get(literal);
    if (list) {
      list.push(rule);
      return;
    }
    this.rulesOf.set(literal, [rule]);
    const g = gramAt(literal, 0);
    const same = this.byGram.get(g);
    if (same) same.push(literal);
    else this.byGram.set(g, [literal]);
  }

  /** Calls `found` with the rules of every literal `v` contains (a literal may be reported more than once). */
  scan(v: string, found: (rules: number[]) => void): void {
    const last = v.length - MIN_SUB_LITERAL;
    for (let p = 0; p <= last; p++) {
      const lits = this.byGram.get(gramAt(v, p));
      if (!lits) continue;
      for (const lit of lits) if (v.startsWith(lit, p)) found(this.rulesOf.get(lit)!);
    }
  }
}

type Slot =
  | { id: number; kind: 'eq' | 'base'; index: Map<string, number[]> }
  | { id: number; kind: 'sub'; index: SubstringIndex };

export class SigmaRuleSet {
  private readonly table = new FieldTable();
  readonly rules: CompiledStreamRule[] = [];
  private readonly unrouted: number[] = [];
  /** slot = (field, kind); each slot maps a key to the rules routed there. */
  private readonly slots: Slot[] = [];
  private stamp = new Uint32Array(0);
  private generation = 0;

  constructor(mapped: MappedSigmaRule[]) {
    for (const m of mapped) this.add(m);
  }

  private slotFor(field: string, kind: Slot['kind']): Slot {
    const id = this.table.intern(field);
    let slot = this.slots.find((s) => s.id === id && s.kind === kind);
    if (!slot) {
      slot = kind === 'sub' ? { id, kind, index: new SubstringIndex() } : { id, kind, index: new Map() };
      this.slots.push(slot);
    }
    return slot;
  }

  add(mapped: MappedSigmaRule): void {
    const n = this.rules.length;
    this.rules.push(compileStreamRule(mapped, this.table));
    const route = routingChoice(mapped.expr, mapped.fieldTypes);
    if (!route) this.unrouted.push(n);
    else {
      for (const entry of route.entries) for (const field of entry.fields) {
        const slot = this.slotFor(field, entry.kind);
        for (const key of new Set(entry.keys)) {
          if (slot.kind === 'sub') slot.index.add(key, n);
          else {
            const list = slot.index.get(key);
            if (list) list.push(n);
            else slot.index.set(key, [n]);
          }
        }
      }
    }
    this.stamp = new Uint32Array(this.rules.length);
  }

  /** How the rules are routed (benchmarks, diagnostics): rules per route kind. */
  routing(): Record<'eq' | 'base' | 'sub' | 'unrouted', number> {
    const out = { eq: 0, base: 0, sub: 0, unrouted: this.unrouted.length };
    for (const s of this.slots) {
      const lists = s.kind === 'sub' ? s.index.rulesOf.values() : s.index.values();
      for (const l of lists) out[s.kind] += l.length;
    }
    return out;
  }

  /** Every rule that matches the document, in rule order. */
  match(doc: EcsDocument): SigmaMatch[] {
    const view = new EventView(this.table, doc);
    const gen = ++this.generation;
    const candidates = [...this.unrouted];
    const stamp = this.stamp;
    const take = (list: number[]): void => {
      for (const r of list) {
        if (stamp[r] !== gen) {
          stamp[r] = gen;
          candidates.push(r);
        }
      }
    };
    for (const slot of this.slots) {
      const fv = view.get(slot.id);
      if (!fv.raw.length) continue;
      for (const v of fv.lower) {
        if (slot.kind === 'sub') slot.index.scan(v, take);
        else {
          const list = slot.index.get(slot.kind === 'eq' ? v : lastSegment(v));
          if (list) take(list);
        }
      }
    }
    if (candidates.length > this.unrouted.length) candidates.sort((a, b) => a - b);
    const out: SigmaMatch[] = [];
    for (const r of candidates) {
      const rule = this.rules[r]!;
      if (rule.test(view)) out.push(rule.evidence(view));
    }
    return out;
  }
}
