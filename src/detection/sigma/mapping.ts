import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { NyxError } from '../../errors.ts';
import { SigmaRuleError } from './errors.ts';
import { ownValue, refuseReservedKeys } from '../../reserved-keys.ts';
import { mergeParts } from './strings.ts';
import type { DetectionExpr, MappedSigmaRule, SigmaCondition, SigmaDetectionItem, SigmaLogsource, SigmaRule, SigmaStringPart, SigmaValue, TargetFieldType, ValueTest } from './types.ts';

/**
 * Field mappings are data (`rules/mappings/*.yml`): which data streams a logsource lives in,
 * which ECS fields Sigma's field names become, and what unmapped names fall back to.
 * This module loads them (validated with zod) and turns a parsed rule into one boolean
 * expression over ECS fields, the input both backends compile.
 */

const fieldTargetSchema = z.union([
  z.string().min(1),
  z.array(z.string().min(1)).min(1),
  /** Sysmon-style `ALGO=value,…` lists spread over one ECS field per algorithm. */
  z.strictObject({ hashes: z.record(z.string(), z.string().min(1)), raw: z.array(z.string()).optional() }),
]);
type FieldTarget = z.infer<typeof fieldTargetSchema>;

const logsourceMatchSchema = z.strictObject({
  product: z.string().optional(),
  category: z.string().optional(),
  service: z.string().optional(),
});

const conditionValueSchema = z.union([z.string(), z.number(), z.array(z.union([z.string(), z.number()])).min(1)]);

const logsourceEntrySchema = z.strictObject({
  match: logsourceMatchSchema,
  indices: z.array(z.string().min(1)).min(1),
  /** ECS field → value(s) every event of this logsource has (AND over fields, OR over values). */
  conditions: z.record(z.string(), conditionValueSchema).optional(),
  fields: z.record(z.string(), fieldTargetSchema).optional(),
  fallback: z.string().optional(),
});

export const fieldMappingFileSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  logsources: z.array(logsourceEntrySchema).min(1),
  fields: z.record(z.string(), fieldTargetSchema).default({}),
  /** Template for unmapped Sigma fields, `{field}` replaced by the name (e.g. winlog.event_data.{field}). */
  fallback: z.string().optional(),
  /** Fields a keyword (field-less) search looks in. */
  keyword_fields: z.array(z.string().min(1)).default(['message']),
  field_types: z.record(z.string(), z.enum(['keyword', 'ip', 'number', 'boolean'])).default({}),
  placeholders: z.record(z.string(), z.array(z.union([z.string(), z.number()]))).default({}),
});
export type FieldMappingFile = z.infer<typeof fieldMappingFileSchema> & { file: string };

export interface FieldMappings {
  files: FieldMappingFile[];
  /** `expand` placeholders (e.g. Administrators → ['admin*', 'root']), merged across files. */
  placeholders: Record<string, string[]>;
}

export function parseFieldMapping(yamlText: string, file: string): FieldMappingFile {
  let raw: unknown;
  try {
    raw = parseYaml(yamlText);
  } catch (err) {
    const line = err instanceof YAMLParseError ? err.linePos?.[0].line : undefined;
    throw new NyxError(`${file}${line ? `:${line}` : ''}: YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  refuseReservedKeys(raw, file);
  const parsed = fieldMappingFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new NyxError(`${file}: '${issue.path.join('.') || 'mapping'}': ${issue.message}`);
  }
  return { ...parsed.data, file };
}

/** Load every `*.yml`/`*.yaml` under `dir`. Extra placeholders (e.g. from config) override the files'. */
export function loadFieldMappings(dir: string, extraPlaceholders: Record<string, string[]> = {}): FieldMappings {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => parseFieldMapping(readFileSync(join(dir, f), 'utf8'), join(dir, f)));
  return buildFieldMappings(files, extraPlaceholders);
}

export function buildFieldMappings(files: FieldMappingFile[], extraPlaceholders: Record<string, string[]> = {}): FieldMappings {
  const placeholders: Record<string, string[]> = {};
  for (const f of files) for (const [k, v] of Object.entries(f.placeholders)) placeholders[k] = v.map(String);
  return { files, placeholders: { ...placeholders, ...extraPlaceholders } };
}

export interface ResolvedLogsource {
  mappingName: string;
  indices: string[];
  conditions: Record<string, string[]>;
  keywordFields: string[];
  fieldTypes: Record<string, TargetFieldType>;
  /** ECS targets for a Sigma field name, and whether the fallback produced them. */
  resolveField(name: string): { target: FieldTarget; fallback: boolean } | undefined;
}

function norm(v: string | undefined): string | undefined {
  return v?.toLowerCase();
}

/** The most specific logsource entry (most matching keys) across all mapping files. */
export function resolveLogsource(mappings: FieldMappings, logsource: SigmaLogsource): ResolvedLogsource | undefined {
  let best: { file: FieldMappingFile; entry: z.infer<typeof logsourceEntrySchema>; score: number } | undefined;
  for (const file of mappings.files) {
    for (const entry of file.logsources) {
      const keys = Object.entries(entry.match) as [keyof SigmaLogsource, string][];
      if (keys.length === 0) continue;
      if (!keys.every(([k, v]) => norm(logsource[k]) === norm(v))) continue;
      if (!best || keys.length > best.score) best = { file, entry, score: keys.length };
    }
  }
  if (!best) return undefined;
  const { file, entry } = best;
  const lowerFields = new Map<string, FieldTarget>();
  for (const [k, v] of Object.entries(file.fields)) lowerFields.set(k.toLowerCase(), v);
  for (const [k, v] of Object.entries(entry.fields ?? {})) lowerFields.set(k.toLowerCase(), v);
  const fallback = entry.fallback ?? file.fallback;
  return {
    mappingName: file.name,
    indices: entry.indices,
    conditions: Object.fromEntries(Object.entries(entry.conditions ?? {}).map(([k, v]) => [k, (Array.isArray(v) ? v : [v]).map(String)])),
    keywordFields: file.keyword_fields,
    fieldTypes: file.field_types,
    resolveField(name) {
      const explicit = ownValue(entry.fields, name) ?? ownValue(file.fields, name) ?? lowerFields.get(name.toLowerCase());
      if (explicit !== undefined) return { target: explicit, fallback: false };
      // Names already in ECS form (dotted) are taken as they are.
      if (name.includes('.')) return { target: name, fallback: false };
      if (fallback) return { target: fallback.replace('{field}', name), fallback: true };
      return undefined;
    },
  };
}

// ---------------------------------------------------------------------------------------------

class MappingContext {
  readonly fallbackFields = new Set<string>();
  constructor(
    readonly rule: SigmaRule,
    readonly source: ResolvedLogsource,
    readonly placeholders: Record<string, string[]>,
  ) {}

  fail(line: number | undefined, reason: string): never {
    throw new SigmaRuleError(this.rule.file, line, reason);
  }

  target(field: string, line: number): FieldTarget {
    const resolved = this.source.resolveField(field);
    if (!resolved) this.fail(line, `field '${field}' has no mapping for logsource ${describeLogsource(this.rule.logsource)} (mapping '${this.source.mappingName}' has no fallback)`);
    if (resolved.fallback) this.fallbackFields.add(field);
    return resolved.target;
  }

  plainFields(field: string, line: number): string[] {
    const t = this.target(field, line);
    if (typeof t === 'string') return [t];
    if (Array.isArray(t)) return t;
    return [...Object.values(t.hashes), ...(t.raw ?? [])];
  }
}

export function describeLogsource(ls: SigmaLogsource): string {
  const parts = (['product', 'category', 'service'] as const).filter((k) => ls[k]).map((k) => `${k}=${ls[k]}`);
  return parts.length ? `{${parts.join(', ')}}` : '{}';
}

/**
 * Apply the field mapping: resolve the logsource (indices, implied conditions), map field
 * names, expand placeholders, and build the one DetectionExpr both backends compile.
 * Throws SigmaRuleError (file, line, reason) when something cannot be mapped.
 */
export function mapSigmaRule(rule: SigmaRule, mappings: FieldMappings): MappedSigmaRule {
  const source = resolveLogsource(mappings, rule.logsource);
  if (!source) throw new SigmaRuleError(rule.file, undefined, `no field mapping covers logsource ${describeLogsource(rule.logsource)}`);
  const ctx = new MappingContext(rule, source, mappings.placeholders);
  const selectionExprs = new Map<string, DetectionExpr>();
  for (const [name, sel] of rule.selections) {
    selectionExprs.set(name, or(sel.alternatives.map((alt) => and(alt.map((item) => itemExpr(ctx, item))))));
  }
  const detection = conditionExpr(rule.condition, selectionExprs);
  const implied = Object.entries(source.conditions).map(([field, values]) => matchLeaf([field], values.map((v) => textTest(v)), false));
  return {
    rule,
    indices: source.indices,
    expr: simplify(and([...implied, detection])),
    selections: Object.fromEntries([...selectionExprs].map(([k, v]) => [k, simplify(v)])),
    fieldTypes: source.fieldTypes,
    fallbackFields: [...ctx.fallbackFields],
  };
}

function conditionExpr(cond: SigmaCondition, selections: Map<string, DetectionExpr>): DetectionExpr {
  switch (cond.op) {
    case 'and':
      return and(cond.args.map((a) => conditionExpr(a, selections)));
    case 'or':
      return or(cond.args.map((a) => conditionExpr(a, selections)));
    case 'not':
      return { op: 'not', arg: conditionExpr(cond.arg, selections) };
    case 'ref':
      return selections.get(cond.name)!;
    case 'of': {
      const args = cond.names.map((n) => selections.get(n)!);
      return cond.quantifier === 'all' ? and(args) : or(args);
    }
  }
}

function textTest(text: string, cased = false): ValueTest {
  return { kind: 'string', parts: text ? [{ kind: 'text', text }] : [], cased };
}

function matchLeaf(fields: string[], tests: ValueTest[], keyword: boolean): DetectionExpr {
  return { op: 'match', fields, tests, keyword };
}

function and(args: DetectionExpr[]): DetectionExpr {
  return args.length === 1 ? args[0]! : { op: 'and', args };
}

function or(args: DetectionExpr[]): DetectionExpr {
  return args.length === 1 ? args[0]! : { op: 'or', args };
}

function itemExpr(ctx: MappingContext, item: SigmaDetectionItem): DetectionExpr {
  const keyword = item.field === null;
  const target: FieldTarget = keyword ? ctx.source.keywordFields : ctx.target(item.field!, item.line);
  const perValue: DetectionExpr[] = [];
  // Plain per-field tests of an `any` item are pooled into one leaf (one set lookup / one terms query).
  const pooled: ValueTest[] = [];
  const plain = typeof target === 'string' ? [target] : Array.isArray(target) ? target : undefined;
  for (const value of item.values) {
    if (value.kind === 'null') {
      perValue.push({ op: 'not', arg: { op: 'exists', fields: ctx.plainFields(item.field!, item.line) } });
    } else if (value.kind === 'exists') {
      const e: DetectionExpr = { op: 'exists', fields: ctx.plainFields(item.field!, item.line) };
      perValue.push(value.exists ? e : { op: 'not', arg: e });
    } else if (plain) {
      const tests = valueTests(ctx, value, plain, item.line);
      if (item.join === 'any') pooled.push(...tests);
      else perValue.push(or(tests.map((t) => matchLeaf(plain, [t], keyword))));
    } else if (typeof target === 'object' && !Array.isArray(target)) {
      perValue.push(hashExpr(ctx, target, value, item.line));
    }
  }
  if (pooled.length && plain) perValue.unshift(matchLeaf(plain, pooled, keyword));
  const combined = item.join === 'all' ? and(perValue) : or(perValue);
  return item.negated ? { op: 'not', arg: combined } : combined;
}

/** `Hashes|contains: 'MD5=abc'` → process.hash.md5 == abc (or the raw field with the original pattern). */
function hashExpr(ctx: MappingContext, target: { hashes: Record<string, string>; raw?: string[] }, value: SigmaValue, line: number): DetectionExpr {
  const alternatives: DetectionExpr[] = [];
  if (value.kind === 'string') {
    const text = value.value.parts.filter((p) => p.kind === 'text').map((p) => (p as { text: string }).text).join('');
    const m = /^([A-Za-z0-9]+)=([0-9A-Fa-f]+)$/.exec(text);
    const algo = m && Object.keys(target.hashes).find((k) => k.toLowerCase() === m[1]!.toLowerCase());
    if (m && algo) alternatives.push(matchLeaf([target.hashes[algo]!], [textTest(m[2]!)], false));
    else if (/^[0-9A-Fa-f]+$/.test(text)) alternatives.push(matchLeaf(Object.values(target.hashes), [textTest(text)], false));
  }
  if (target.raw?.length) alternatives.push(matchLeaf(target.raw, valueTests(ctx, value, target.raw, line), false));
  if (alternatives.length === 0) ctx.fail(line, `a hashes field needs values like 'MD5=<hex>' (got an unsupported value)`);
  return or(alternatives);
}

const IPV4_PREFIX = /^(\d{1,3}\.){1,3}$/;

function valueTests(ctx: MappingContext, value: SigmaValue, fields: string[], line: number): ValueTest[] {
  switch (value.kind) {
    case 'regex':
      return [{ kind: 'regex', source: value.source, flags: value.flags }];
    case 'cidr':
      return [{ kind: 'cidr', network: value.network }];
    case 'compare':
      return [{ kind: 'compare', op: value.op, value: value.value }];
    case 'fieldref':
      return [{ kind: 'fieldref', fields: ctx.plainFields(value.field, line), cased: value.cased }];
    case 'string': {
      const expanded = expandPlaceholders(ctx, value.value.parts, line);
      return expanded.map((parts) => {
        // `DestinationIp|startswith: '10.'` on an ip-typed field: an octet-aligned prefix is a CIDR.
        const [first, second] = parts;
        if (parts.length === 2 && first?.kind === 'text' && second?.kind === 'anyChars' && IPV4_PREFIX.test(first.text) && fields.every((f) => ctx.source.fieldTypes[f] === 'ip')) {
          const octets = first.text.split('.').filter(Boolean);
          if (octets.every((o) => Number(o) <= 255)) {
            return { kind: 'cidr', network: `${[...octets, ...Array<string>(4 - octets.length).fill('0')].join('.')}/${octets.length * 8}` } satisfies ValueTest;
          }
        }
        return { kind: 'string', parts, cased: value.cased } satisfies ValueTest;
      });
    }
    default:
      return ctx.fail(line, `internal: unexpected value kind ${value.kind}`);
  }
}

type PlainPart = Exclude<SigmaStringPart, { kind: 'placeholder' }>;

function expandPlaceholders(ctx: MappingContext, parts: SigmaStringPart[], line: number): PlainPart[][] {
  let results: SigmaStringPart[][] = [[]];
  for (const part of parts) {
    if (part.kind !== 'placeholder') {
      results = results.map((r) => [...r, part]);
      continue;
    }
    const replacements = ctx.placeholders[part.name];
    if (!replacements) ctx.fail(line, `placeholder '%${part.name}%' is not configured (add it under 'placeholders:' in a mapping file)`);
    results = results.flatMap((r) =>
      replacements.map((rep) => {
        // Replacement values are Sigma strings themselves: `srv*` keeps its wildcard.
        const sub: SigmaStringPart[] = [];
        let text = '';
        for (let i = 0; i < rep.length; i++) {
          const ch = rep[i]!;
          if (ch === '\\' && (rep[i + 1] === '*' || rep[i + 1] === '?')) {
            text += rep[++i];
          } else if (ch === '*' || ch === '?') {
            if (text) sub.push({ kind: 'text', text });
            text = '';
            sub.push({ kind: ch === '*' ? 'anyChars' : 'oneChar' });
          } else text += ch;
        }
        if (text) sub.push({ kind: 'text', text });
        return [...r, ...sub];
      }),
    );
  }
  return results.map((r) => mergeParts(r) as PlainPart[]);
}

/** Flatten nested and/or, fold constants, drop double negation. */
export function simplify(expr: DetectionExpr): DetectionExpr {
  switch (expr.op) {
    case 'and':
    case 'or': {
      const args: DetectionExpr[] = [];
      for (const a of expr.args.map(simplify)) {
        if (a.op === expr.op) args.push(...a.args);
        else if (a.op === 'const') {
          if (a.value === (expr.op === 'or')) return a; // true in or / false in and decides
        } else args.push(a);
      }
      if (args.length === 0) return { op: 'const', value: expr.op === 'and' };
      return args.length === 1 ? args[0]! : { op: expr.op, args };
    }
    case 'not': {
      const arg = simplify(expr.arg);
      if (arg.op === 'not') return arg.arg;
      if (arg.op === 'const') return { op: 'const', value: !arg.value };
      return { op: 'not', arg };
    }
    default:
      return expr;
  }
}
