import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { findReservedKey, reservedSegment, RESERVED_KEYS_RULE } from '../../reserved-keys.ts';
import { z } from 'zod';
import { SigmaRuleError } from './errors.ts';
import { ConditionSyntaxError, parseSigmaCondition } from './condition.ts';
import { parseSigmaRegex } from './regex.ts';
import { parseCidr } from './ip.ts';
import {
  addWildcards,
  base64OffsetVariants,
  encodeUtf16,
  expandWindash,
  literalSigmaString,
  parseSigmaString,
  plainText,
} from './strings.ts';
import type { SigmaCondition, SigmaCorrelationRule, SigmaCorrelationType, SigmaDetectionItem, SigmaDocument, SigmaMetadata, SigmaRule, SigmaSelection, SigmaString, SigmaValue } from './types.ts';

const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;

/** Metadata every Sigma document carries, detection rule or correlation. */
const documentMetadataShape = {
  title: z.string().min(1),
  id: z.string().optional(),
  name: z.string().optional(),
  status: z.string().optional(),
  description: z.string().optional(),
  references: z.array(z.unknown()).optional(),
  author: z.string().optional(),
  date: z.union([z.string(), z.date(), z.number()]).optional(),
  modified: z.union([z.string(), z.date(), z.number()]).optional(),
  tags: z.array(z.string()).optional(),
  falsepositives: z.union([z.array(z.unknown()), z.string()]).optional(),
  level: z.enum(LEVELS).optional(),
};

/** The rule's metadata. Loose on purpose: SigmaHQ files carry extra keys (related, license, …). */
const ruleMetadataSchema = z.looseObject({
  ...documentMetadataShape,
  logsource: z.looseObject({
    product: z.string().optional(),
    category: z.string().optional(),
    service: z.string().optional(),
    definition: z.string().optional(),
  }),
  fields: z.array(z.unknown()).optional(),
  detection: z.record(z.string(), z.unknown()),
});

/** Every modifier this engine understands; anything else is rejected at load. */
export const SIGMA_MODIFIERS = new Set([
  'contains', 'startswith', 'endswith', 'all', 'exists', 'cased', 'neq',
  're', 'i', 'm', 's', 'ignorecase', 'multiline', 'dotall',
  'cidr', 'base64', 'base64offset', 'utf16le', 'utf16be', 'wide', 'utf16', 'windash',
  'lt', 'lte', 'gt', 'gte', 'fieldref', 'expand',
]);
const TIME_MODIFIERS = new Set(['minute', 'hour', 'day', 'week', 'month', 'year']);
const TYPE_MODIFIERS = ['re', 'cidr', 'lt', 'lte', 'gt', 'gte', 'exists', 'fieldref'];
const REGEX_FLAG_MODIFIERS: Record<string, 'i' | 'm' | 's'> = { i: 'i', ignorecase: 'i', m: 'm', multiline: 'm', s: 's', dotall: 's' };

interface Located {
  file: string;
  lines: LineCounter;
}

function lineOf(ctx: Located, node: Node | Pair | null | undefined): number | undefined {
  const range = node && 'range' in node ? node.range : node && 'key' in node && isScalar(node.key) ? node.key.range : undefined;
  return range ? ctx.lines.linePos(range[0]).line : undefined;
}

function fail(ctx: Located, node: Node | Pair | null | undefined, reason: string): never {
  throw new SigmaRuleError(ctx.file, lineOf(ctx, node), reason);
}

/**
 * Parse one Sigma rule file. SigmaHQ rule files load unchanged; rule collections
 * (several YAML documents, `action: global`) and correlation/filter documents are rejected
 * with a clear reason. Every error names the file, the line and why.
 * (parseSigmaFile reads files that hold several rules and correlation rules.)
 */
export function parseSigmaRule(yamlText: string, file: string): SigmaRule {
  const { ctx, docs } = readYamlDocuments(yamlText, file);
  if (docs.length > 1) {
    throw new SigmaRuleError(file, lineOf(ctx, docs[1]!.contents), 'rule collections (several YAML documents in one file) are not supported: split them into one rule per file');
  }
  const doc = docs[0]!;
  const root = doc.contents;
  if (!isMap(root)) fail(ctx, root, 'a Sigma rule must be a YAML mapping');
  for (const [key, reason] of [
    ['action', COLLECTION_REASON],
    ['correlation', 'this is a Sigma correlation rule, not a detection rule'],
    ['filter', FILTER_REASON],
  ] as const) {
    const pair = findPair(root, key);
    if (pair && (key !== 'filter' || !findPair(root, 'detection'))) fail(ctx, pair, reason);
  }
  return parseRuleDocument(ctx, doc, root);
}

const COLLECTION_REASON = 'rule collections (`action: global|reset|repeat`) are not supported: split them into one rule per file';
const FILTER_REASON = 'this is a Sigma filter (meta rule), not a detection rule';

type YamlDocument = Document.Parsed;

function readYamlDocuments(yamlText: string, file: string): { ctx: Located; docs: YamlDocument[] } {
  const lines = new LineCounter();
  const ctx: Located = { file, lines };
  const docs = parseAllDocuments(yamlText, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (!Array.isArray(docs)) throw new SigmaRuleError(file, undefined, 'the file holds no YAML document');
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) throw new SigmaRuleError(file, err.linePos?.[0].line, `YAML: ${err.message.split('\n')[0]}`);
  }
  const nonEmpty = docs.filter((d) => d.contents !== null);
  if (nonEmpty.length === 0) throw new SigmaRuleError(file, undefined, 'the file holds no YAML document');
  for (const doc of nonEmpty) {
    const reserved = findReservedKey(doc.toJS({ maxAliasCount: 100 }));
    if (reserved) {
      // Point at the key itself: its parent map's pair for it.
      const parent = reserved.path.length > 1 ? doc.getIn(reserved.path.slice(0, -1), true) : doc.contents;
      const pair = isMap(parent) ? findPair(parent, reserved.path[reserved.path.length - 1]!) : undefined;
      fail(ctx, pair ?? (parent as Node | undefined), `'${reserved.path.join('.')}': ${RESERVED_KEYS_RULE}`);
    }
  }
  return { ctx, docs: nonEmpty };
}

/**
 * Parse a Sigma file that may hold several YAML documents: detection rules and correlation
 * rules (Sigma v2), in any order. Collections (`action: global`) and filters are rejected.
 * The first bad document fails the file with its line and reason.
 */
export function parseSigmaFile(yamlText: string, file: string): SigmaDocument[] {
  const { ctx, docs } = readYamlDocuments(yamlText, file);
  return docs.map((doc): SigmaDocument => {
    const root = doc.contents;
    if (!isMap(root)) fail(ctx, root, 'a Sigma document must be a YAML mapping');
    const action = findPair(root, 'action');
    if (action) fail(ctx, action, COLLECTION_REASON);
    const filter = findPair(root, 'filter');
    if (filter && !findPair(root, 'detection')) fail(ctx, filter, FILTER_REASON);
    if (findPair(root, 'correlation')) return { kind: 'correlation', correlation: parseCorrelationDocument(ctx, doc, root) };
    return { kind: 'rule', rule: parseRuleDocument(ctx, doc, root) };
  });
}

function zodFailure(ctx: Located, doc: YamlDocument, root: YAMLMap, issue: z.core.$ZodIssue): never {
  const node = issue.path.length ? (doc.getIn(issue.path as (string | number)[], true) as Node | undefined) : undefined;
  const where = issue.path.join('.') || 'rule';
  const missing = issue.code === 'invalid_type' && node === undefined;
  fail(ctx, node ?? findPair(root, String(issue.path[0] ?? '')) ?? root, missing ? `missing required '${where}'` : `'${where}': ${issue.message}`);
}

function parseRuleDocument(ctx: Located, doc: YamlDocument, root: YAMLMap): SigmaRule {
  const parsed = ruleMetadataSchema.safeParse(doc.toJS({ maxAliasCount: 100 }));
  if (!parsed.success) zodFailure(ctx, doc, root, parsed.error.issues[0]!);
  const meta = parsed.data;

  const detectionPair = findPair(root, 'detection')!;
  const detection = detectionPair.value;
  if (!isMap(detection)) fail(ctx, detectionPair, "'detection' must be a mapping of search identifiers and a condition");

  const selections = new Map<string, SigmaSelection>();
  let conditionPair: Pair | undefined;
  for (const pair of detection.items) {
    const name = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (name === undefined) fail(ctx, pair, 'search identifiers must be plain names');
    if (name === 'condition') conditionPair = pair;
    else if (name === 'timeframe') continue; // only meaningful with deprecated aggregations, rejected in the condition
    else selections.set(name, parseSelection(ctx, name, pair));
  }
  if (!conditionPair) fail(ctx, detectionPair, "'detection' has no 'condition'");
  const condition = parseConditionNode(ctx, conditionPair, [...selections.keys()]);

  return {
    file: ctx.file,
    ...metadataOf(meta),
    logsource: {
      ...(meta.logsource.product !== undefined ? { product: meta.logsource.product } : {}),
      ...(meta.logsource.category !== undefined ? { category: meta.logsource.category } : {}),
      ...(meta.logsource.service !== undefined ? { service: meta.logsource.service } : {}),
      ...(meta.logsource.definition !== undefined ? { definition: meta.logsource.definition } : {}),
    },
    fields: (meta.fields ?? []).map(String),
    selections,
    condition,
    conditionLine: lineOf(ctx, conditionPair) ?? 0,
  };
}

/** The shared metadata of a parsed rule or correlation, as the types carry it (lists always present, dates as text). */
function metadataOf(meta: z.infer<z.ZodObject<typeof documentMetadataShape>>): SigmaMetadata {
  return {
    title: meta.title,
    ...(meta.id !== undefined ? { id: meta.id } : {}),
    ...(meta.name !== undefined ? { name: meta.name } : {}),
    ...(meta.status !== undefined ? { status: meta.status } : {}),
    ...(meta.description !== undefined ? { description: meta.description } : {}),
    references: (meta.references ?? []).map(String),
    ...(meta.author !== undefined ? { author: meta.author } : {}),
    ...(meta.date !== undefined ? { date: dateText(meta.date) } : {}),
    ...(meta.modified !== undefined ? { modified: dateText(meta.modified) } : {}),
    tags: meta.tags ?? [],
    falsepositives: typeof meta.falsepositives === 'string' ? [meta.falsepositives] : (meta.falsepositives ?? []).map(String),
    ...(meta.level !== undefined ? { level: meta.level } : {}),
  };
}

function dateText(value: string | Date | number): string {
  return value instanceof Date ? value.toISOString().slice(0, 10) : String(value);
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => isScalar(p.key) && p.key.value === key) as Pair | undefined;
}

function parseConditionNode(ctx: Located, pair: Pair, identifiers: string[]): SigmaCondition {
  const node = pair.value as Node | null;
  const texts: { text: string; node: Node }[] = [];
  if (isScalar(node) && typeof node.value === 'string') texts.push({ text: node.value, node });
  else if (isSeq(node)) {
    for (const item of node.items) {
      if (!isScalar(item) || typeof item.value !== 'string') fail(ctx, item as Node, 'every condition in a list must be a string');
      texts.push({ text: item.value, node: item });
    }
  } else fail(ctx, pair, "'condition' must be a string or a list of strings");
  if (texts.length === 0) fail(ctx, pair, "'condition' is empty");
  const parsed = texts.map(({ text, node: n }) => {
    try {
      return parseSigmaCondition(text, identifiers);
    } catch (err) {
      if (err instanceof ConditionSyntaxError) fail(ctx, n, `condition '${text}': ${err.message}`);
      throw err;
    }
  });
  // A list of conditions is OR-ed (each would be its own query in other backends).
  return parsed.length === 1 ? parsed[0]! : { op: 'or', args: parsed };
}

function parseSelection(ctx: Located, name: string, pair: Pair): SigmaSelection {
  const line = lineOf(ctx, pair) ?? 0;
  const node = pair.value as Node | null;
  const alternatives: SigmaDetectionItem[][] = [];
  if (isMap(node)) alternatives.push(parseMapItems(ctx, node));
  else if (isSeq(node)) {
    const keywords: Node[] = [];
    for (const item of node.items as Node[]) {
      if (isMap(item)) alternatives.push(parseMapItems(ctx, item));
      else if (isScalar(item)) keywords.push(item);
      else fail(ctx, item, `selection '${name}': list items must be values or field maps`);
    }
    if (keywords.length) alternatives.push([buildItem(ctx, null, [], keywords, lineOf(ctx, node) ?? line)]);
  } else if (isScalar(node) && node.value !== null) {
    alternatives.push([buildItem(ctx, null, [], [node], line)]);
  } else fail(ctx, pair, `selection '${name}' is empty or not a map/list`);
  if (alternatives.length === 0) fail(ctx, pair, `selection '${name}' is empty`);
  return { name, line, alternatives };
}

function parseMapItems(ctx: Located, map: YAMLMap): SigmaDetectionItem[] {
  if (map.items.length === 0) fail(ctx, map as unknown as Node, 'an empty field map matches nothing useful');
  return map.items.map((pair) => {
    const p = pair as Pair;
    if (!isScalar(p.key)) fail(ctx, p, 'field names must be plain strings');
    const [field = '', ...modifiers] = String(p.key.value).split('|');
    if (reservedSegment(field) !== undefined) fail(ctx, p, `field '${field}': ${RESERVED_KEYS_RULE}`);
    const line = lineOf(ctx, p) ?? 0;
    const value = p.value as Node | null;
    let values: Node[];
    if (isSeq(value)) values = value.items as Node[];
    else if (value === null || isScalar(value)) values = [value ?? ({ value: null, range: p.key.range } as unknown as Node)];
    else fail(ctx, value, `field '${field}': a value must be a scalar or a list of scalars`);
    for (const v of values) if (!isScalar(v) && !(v && 'value' in v && (v as { value: unknown }).value === null)) fail(ctx, v, `field '${field}': nested maps or lists are not allowed as values`);
    if (values.length === 0) fail(ctx, p, `field '${field}': empty value list`);
    return buildItem(ctx, field === '' ? null : field, modifiers, values, line);
  });
}

type Working = { s: SigmaString } | { bytes: Uint8Array };

/** Apply the modifier chain (in order, as the spec says) to each raw value of one item. */
function buildItem(ctx: Located, field: string | null, modifiers: string[], nodes: Node[], line: number): SigmaDetectionItem {
  const where = field === null ? 'keyword search' : `field '${field}'`;
  const bad = (node: Node | undefined, reason: string): never => {
    throw new SigmaRuleError(ctx.file, (node && lineOf(ctx, node)) ?? line, `${where}: ${reason}`);
  };
  for (const mod of modifiers) {
    if (TIME_MODIFIERS.has(mod)) bad(undefined, `modifier '${mod}' (time part extraction) is not supported`);
    if (!SIGMA_MODIFIERS.has(mod)) bad(undefined, `unknown modifier '${mod}'`);
  }
  const has = (m: string): boolean => modifiers.includes(m);
  const typeMods = modifiers.filter((m) => TYPE_MODIFIERS.includes(m));
  if (typeMods.length > 1) bad(undefined, `modifiers '${typeMods.join("' and '")}' cannot be combined`);
  const typeMod = typeMods[0];
  const regexFlagMods = modifiers.filter((m) => m in REGEX_FLAG_MODIFIERS);
  if (regexFlagMods.length && typeMod !== 're') bad(undefined, `modifier '${regexFlagMods[0]}' is only valid after 're'`);
  if (typeMod && typeMod !== 'fieldref') {
    const extra = modifiers.filter((m) => m !== typeMod && !(m in REGEX_FLAG_MODIFIERS) && m !== 'all' && m !== 'neq' && !(m === 'cased' && typeMod === 're'));
    if (extra.length) bad(undefined, `modifier '${extra[0]}' cannot be combined with '${typeMod}'`);
  }
  if (field === null && typeMod && typeMod !== 're') bad(undefined, `modifier '${typeMod}' needs a field`);

  const cased = has('cased');
  const values: SigmaValue[] = [];
  for (const node of nodes) {
    const raw = isScalar(node) ? (node.value as unknown) : null;
    if (raw === null || raw === undefined) {
      if (modifiers.some((m) => m !== 'all' && m !== 'neq')) bad(node, 'null cannot be combined with modifiers');
      if (field === null) bad(node, 'null needs a field');
      values.push({ kind: 'null' });
      continue;
    }
    if (typeof raw === 'object') bad(node, 'unsupported value type');
    switch (typeMod) {
      case 'exists':
        if (typeof raw !== 'boolean') bad(node, "'exists' needs true or false");
        values.push({ kind: 'exists', exists: raw as boolean });
        continue;
      case 're': {
        if (typeof raw !== 'string') bad(node, "'re' needs a string");
        const flags = { i: false, m: false, s: false };
        for (const m of regexFlagMods) flags[REGEX_FLAG_MODIFIERS[m]!] = true;
        try {
          const parsed = parseSigmaRegex(raw as string, flags);
          values.push({ kind: 'regex', source: parsed.jsSource, flags: parsed.flags });
        } catch (err) {
          bad(node, (err as Error).message);
        }
        continue;
      }
      case 'cidr':
        if (typeof raw !== 'string' || !parseCidr(raw)) bad(node, `'${String(raw)}' is not a valid IPv4/IPv6 CIDR`);
        values.push({ kind: 'cidr', network: raw as string });
        continue;
      case 'lt':
      case 'lte':
      case 'gt':
      case 'gte': {
        const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
        if (!Number.isFinite(n)) bad(node, `'${typeMod}' needs a number, got '${String(raw)}'`);
        values.push({ kind: 'compare', op: typeMod, value: n });
        continue;
      }
      case 'fieldref':
        if (typeof raw !== 'string' || raw === '') bad(node, "'fieldref' needs a field name");
        values.push({ kind: 'fieldref', field: raw as string, cased });
        continue;
    }
    values.push(...stringValues(raw as string | number | boolean, field, modifiers, cased, (reason) => bad(node, reason)));
  }
  const join = has('all') ? 'all' : 'any';
  return { field, modifiers, values, join, negated: has('neq'), line };
}

function stringValues(raw: string | number | boolean, field: string | null, modifiers: string[], cased: boolean, bad: (reason: string) => never): SigmaValue[] {
  const expand = modifiers.includes('expand');
  let working: Working[] = [{ s: typeof raw === 'string' ? parseSigmaString(raw, expand) : literalSigmaString(String(raw)) }];
  let positioned = false;
  const asString = (w: Working): SigmaString => ('s' in w ? w.s : literalSigmaString(Buffer.from(w.bytes).toString('latin1')));
  const asBytes = (w: Working, mod: string): Uint8Array => {
    if ('bytes' in w) return w.bytes;
    const text = plainText(w.s);
    if (text === undefined) bad(`'${mod}' cannot encode a value with wildcards or placeholders (put 'contains'/'startswith'/'endswith' after it)`);
    return Buffer.from(text, 'utf8');
  };
  for (const mod of modifiers) {
    switch (mod) {
      case 'contains':
      case 'startswith':
      case 'endswith':
        positioned = true;
        working = working.map((w) => ({ s: addWildcards(asString(w), mod !== 'startswith', mod !== 'endswith') }));
        break;
      case 'windash':
        try {
          working = working.flatMap((w) => expandWindash(asString(w)).map((s) => ({ s })));
        } catch (err) {
          bad((err as Error).message);
        }
        break;
      case 'base64':
        working = working.map((w) => ({ s: literalSigmaString(Buffer.from(asBytes(w, mod)).toString('base64')) }));
        break;
      case 'base64offset':
        working = working.flatMap((w) => base64OffsetVariants(asBytes(w, mod)).map((t) => ({ s: literalSigmaString(t) })));
        break;
      case 'utf16le':
      case 'wide':
      case 'utf16be':
      case 'utf16': {
        const variant = mod === 'utf16be' ? 'be' : mod === 'utf16' ? 'bom' : 'le';
        working = working.map((w) => {
          const text = 's' in w ? plainText(w.s) : undefined;
          if (text === undefined) bad(`'${mod}' needs a plain string without wildcards`);
          return { bytes: encodeUtf16(text, variant) };
        });
        break;
      }
      default:
        break; // all, cased, neq, expand: flags read elsewhere
    }
  }
  return working.map((w) => {
    let s = asString(w);
    // Keywords search the whole message: Sigma backends treat a plain keyword as a substring.
    if (field === null && !positioned) s = addWildcards(s, true, true);
    return { kind: 'string', value: s, cased } satisfies SigmaValue;
  });
}

// ---------------------------------------------------------------------------------------------
// Correlation rules (Sigma specification v2, plus the documented Nyx extensions `value_sum`
// and `periodic`). References are resolved later, against the whole rule set.

const CORRELATION_TYPES = ['event_count', 'value_count', 'temporal', 'temporal_ordered', 'value_sum'] as const;
const TIMESPAN = /^(\d+)([smhd])$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90m` → milliseconds (Sigma's `number + s|m|h|d`). */
export function parseTimespan(text: string): number | undefined {
  const m = TIMESPAN.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : undefined;
}

const timespanSchema = z.string().refine((t) => (parseTimespan(t) ?? 0) > 0, { message: "expected a positive timespan such as '30s', '5m', '1h' or '1d'" });
const bound = z.number().finite().optional();

const correlationSchema = z.looseObject({
  ...documentMetadataShape,
  generate: z.boolean().optional(),
  correlation: z.strictObject({
    type: z.enum(CORRELATION_TYPES),
    rules: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    'group-by': z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    timespan: timespanSchema,
    condition: z.strictObject({ gt: bound, gte: bound, lt: bound, lte: bound, eq: bound, field: z.string().min(1).optional() }).optional(),
    aliases: z.record(z.string(), z.record(z.string(), z.string().min(1))).optional(),
    generate: z.boolean().optional(),
    /** Nyx extension: the group's events must be evenly spaced (beaconing). */
    periodic: z.strictObject({ max_jitter: z.number().min(0).max(1), min_interval: timespanSchema.optional() }).optional(),
  }),
});

function parseCorrelationDocument(ctx: Located, doc: YamlDocument, root: YAMLMap): SigmaCorrelationRule {
  const parsed = correlationSchema.safeParse(doc.toJS({ maxAliasCount: 100 }));
  if (!parsed.success) zodFailure(ctx, doc, root, parsed.error.issues[0]!);
  const meta = parsed.data;
  const c = meta.correlation;
  const corrPair = findPair(root, 'correlation')!;
  const at = (key: string): Node | Pair => (isMap(corrPair.value) ? (findPair(corrPair.value, key) ?? corrPair) : corrPair);
  const type: SigmaCorrelationType = c.type;
  const rules = typeof c.rules === 'string' ? [c.rules] : c.rules;
  const groupBy = typeof c['group-by'] === 'string' ? [c['group-by']] : c['group-by'];
  for (const field of [...groupBy, ...(c.condition?.field !== undefined ? [c.condition.field] : []), ...Object.values(c.aliases ?? {}).flatMap((a) => Object.values(a))]) {
    if (reservedSegment(field) !== undefined) fail(ctx, at('group-by'), `field '${field}': ${RESERVED_KEYS_RULE}`);
  }
  const given = c.condition ?? {};
  const bounds = (['gt', 'gte', 'lt', 'lte', 'eq'] as const).filter((k) => given[k] !== undefined);
  const temporal = type === 'temporal' || type === 'temporal_ordered';
  if (bounds.length === 0 && !temporal) fail(ctx, at(c.condition ? 'condition' : 'type'), `a ${type} correlation needs a condition (gt, gte, lt, lte or eq)`);
  if ((type === 'value_count' || type === 'value_sum') && !given.field) fail(ctx, at('condition'), `a ${type} correlation needs 'condition.field'`);
  if (!(type === 'value_count' || type === 'value_sum') && given.field) fail(ctx, at('condition'), `'condition.field' only applies to value_count and value_sum`);
  if (temporal && rules.length < 2) fail(ctx, at('rules'), `a ${type} correlation needs at least two rules`);
  if (c.periodic && type !== 'event_count') fail(ctx, at('periodic'), "'periodic' (Nyx extension) only applies to event_count correlations");
  if (c.periodic && bounds.some((b) => b !== 'gt' && b !== 'gte')) fail(ctx, at('periodic'), "'periodic' needs a lower-bound condition (gt or gte)");
  // temporal types count distinct referenced rules; without a condition, all of them.
  const condition = bounds.length ? { ...given } : { gte: rules.length };
  const aliases = c.aliases ?? {};
  for (const alias of Object.keys(aliases)) {
    if (!groupBy.includes(alias)) fail(ctx, at('aliases'), `alias '${alias}' is not used in group-by`);
  }
  const line = lineOf(ctx, root.items[0] as Pair) ?? 1;
  return {
    file: ctx.file,
    line,
    ...metadataOf(meta),
    type,
    rules,
    groupBy,
    timespan: c.timespan,
    timespanMs: parseTimespan(c.timespan)!,
    condition,
    aliases,
    // v2.0.0 put `generate` at the top level, later versions inside `correlation`: accept both.
    generate: c.generate ?? meta.generate ?? false,
    ...(c.periodic ? { periodic: { maxJitter: c.periodic.max_jitter, minIntervalMs: c.periodic.min_interval ? parseTimespan(c.periodic.min_interval)! : 0 } } : {}),
  };
}
