/** Processors that parse a string field into structured fields. */
import { FieldPath, ProcessorError, fieldPathOf, isObject, isReservedKey, javaTypeName, reservedKeyError, type JsonObject } from '../document.ts';
import type { IngestDocument } from '../document.ts';
import { DEFAULT_OUTPUT_FORMAT, UTC, compileDateFormat, compileDateFormatter, isCanonicalUtcIso, isIso8601Format, resolveZone, type Zone } from '../date.ts';
import { compileGrok, convertCapture } from '../grok.ts';
import { javaRegex, javaSplit } from '../java-regex.ts';
import { DefinitionError, type ProcessorFactory } from '../processor.ts';
import { compileTemplate, isTemplate } from '../template.ts';
import { readField } from './mutate.ts';

/** Reads a string option field; undefined when skipped by ignore_missing. */
function readString(doc: IngestDocument, field: FieldPath, ignoreMissing: boolean, nullMessage: string): string | undefined {
  const value = readField(doc, field, ignoreMissing, nullMessage);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ProcessorError(`field [${field.path}] of type [${javaTypeName(value)}] cannot be cast to [java.lang.String]`);
  return value;
}

export const grok: ProcessorFactory<'grok'> = (o) => {
  const field = new FieldPath(o.field);
  const compiled = o.patterns.map((pattern, i) => {
    try {
      return compileGrok(pattern, o.pattern_definitions);
    } catch (err) {
      if (err instanceof DefinitionError) throw new DefinitionError(err.message, `patterns[${i}]`);
      throw err;
    }
  });
  // Field paths are built once per capture, not per document.
  const targets = compiled.map((c) => c.captures.map((capture) => ({ ...capture, path: new FieldPath(capture.field) })));
  // Only patterns naming a field twice need first-match-wins bookkeeping per document.
  const repeats = targets.map((list) => new Set(list.map((t) => t.field)).size !== list.length);
  const nullMessage = `field [${o.field}] is null, cannot process it.`;
  return (doc) => {
    const value = readString(doc, field, o.ignore_missing, nullMessage);
    if (value === undefined) return false;
    for (let i = 0; i < compiled.length; i++) {
      const match = compiled[i]!.regex.exec(value);
      if (!match) continue;
      const groups = match.groups ?? {};
      const seen = repeats[i] ? new Set<string>() : undefined;
      for (const capture of targets[i]!) {
        const text = groups[capture.group];
        // A name captured more than once (alternation) keeps the first branch that matched.
        if (text === undefined) continue;
        if (seen) {
          if (seen.has(capture.field)) continue;
          seen.add(capture.field);
        }
        let converted: unknown;
        try {
          converted = convertCapture(text, capture.type);
        } catch (err) {
          throw new ProcessorError((err as Error).message);
        }
        capture.path.set(doc, converted);
      }
      if (o.trace_match) doc.ingest._grok_match_index = String(i);
      return;
    }
    throw new ProcessorError(`Provided Grok expressions do not match field value: [${value}]`);
  };
};

export const date: ProcessorFactory<'date'> = (o, ctx) => {
  const field = new FieldPath(o.field);
  const target = new FieldPath(o.target_field);
  if (o.locale !== undefined && !/^(en([_-]\w+)?|english|root)$/i.test(o.locale)) {
    throw new DefinitionError(`only English month/day names are supported, not locale [${o.locale}]`, 'locale');
  }
  const parsers = o.formats.map((format, i) => {
    try {
      return compileDateFormat(format);
    } catch (err) {
      if (err instanceof DefinitionError) throw new DefinitionError(err.message, `formats[${i}]`);
      throw err;
    }
  });
  const format = compileDateFormatter(o.output_format ?? DEFAULT_OUTPUT_FORMAT);
  const timezone = o.timezone ?? ctx.options.timezone ?? 'UTC';
  let zoneOf: (doc: IngestDocument) => Zone;
  if (isTemplate(timezone)) {
    const template = compileTemplate(timezone);
    zoneOf = (doc) => {
      const id = template(doc);
      const zone = resolveZone(id);
      if (!zone) throw new ProcessorError(`The datetime zone id '${id}' is not recognised`);
      return zone;
    };
  } else {
    const zone = resolveZone(timezone);
    if (!zone) throw new DefinitionError(`The datetime zone id '${timezone}' is not recognised`, 'timezone');
    zoneOf = () => zone;
  }
  // The agents' timestamps are already ES's output for ISO8601 in UTC: then the value is the result.
  const staticZone = isTemplate(timezone) ? undefined : resolveZone(timezone);
  const passCanonical = o.formats.length > 0 && isIso8601Format(o.formats[0]!) && (o.output_format ?? DEFAULT_OUTPUT_FORMAT) === DEFAULT_OUTPUT_FORMAT && staticZone?.kind === 'fixed' && staticZone.minutes === 0;
  return (doc) => {
    const raw = field.require(doc);
    if (passCanonical && typeof raw === 'string' && isCanonicalUtcIso(raw)) {
      target.set(doc, raw);
      return;
    }
    const value = raw === null ? 'null' : typeof raw === 'string' ? raw : String(raw);
    const zone = raw === null ? UTC : zoneOf(doc);
    // One clock reading per document, taken only if a format needs it (as before: every format saw the same `now`).
    let nowDate: Date | undefined;
    const now = (): Date => (nowDate ??= ctx.now());
    for (const parse of parsers) {
      const parsed = parse(value, zone, now);
      if (parsed && Number.isFinite(parsed.epochMs)) {
        target.set(doc, format(parsed.epochMs, zone));
        return;
      }
    }
    throw new ProcessorError(`unable to parse date [${value}]`);
  };
};

interface DissectKey {
  name: string;
  kind: 'normal' | 'skip' | 'append' | 'reference-key' | 'reference-value';
  order: number;
  rightPad: boolean;
  /** The literal that follows this key ('' for the last key: it takes the rest). */
  delimiter: string;
}

function parseDissect(pattern: string): { prefix: string; keys: DissectKey[] } {
  const re = /%\{([^}]*)\}/g;
  const keys: DissectKey[] = [];
  let prefix = '';
  let last = 0;
  let match: RegExpExecArray | null;
  while ((match = re.exec(pattern)) !== null) {
    const literal = pattern.slice(last, match.index);
    if (keys.length === 0) prefix = literal;
    else {
      if (literal === '') throw new DefinitionError(`dissect pattern [${pattern}] has two keys with no delimiter between them`, 'pattern');
      keys[keys.length - 1]!.delimiter = literal;
    }
    last = match.index + match[0].length;
    let spec = match[1]!;
    const rightPad = spec.endsWith('->');
    if (rightPad) spec = spec.slice(0, -2);
    let kind: DissectKey['kind'] = 'normal';
    if (spec === '' || spec.startsWith('?')) kind = 'skip';
    else if (spec.startsWith('+')) kind = 'append';
    else if (spec.startsWith('*')) kind = 'reference-key';
    else if (spec.startsWith('&')) kind = 'reference-value';
    let name = kind === 'normal' || spec === '' ? spec : spec.slice(1);
    let order = keys.length;
    const ordered = /^(.*)\/(\d+)$/.exec(name);
    if (kind === 'append' && ordered) {
      name = ordered[1]!;
      order = Number(ordered[2]);
    }
    keys.push({ name, kind, order, rightPad, delimiter: '' });
  }
  if (keys.length === 0) throw new DefinitionError(`dissect pattern [${pattern}] has no keys`, 'pattern');
  const trailing = pattern.slice(last);
  if (trailing !== '') keys[keys.length - 1]!.delimiter = trailing;
  return { prefix, keys };
}

export const dissect: ProcessorFactory<'dissect'> = (o) => {
  const field = new FieldPath(o.field);
  const { prefix, keys } = parseDissect(o.pattern);
  // Names written in the pattern are checked now (a reserved one refuses the pipeline); names taken from the
  // data (`%{*name}`) are checked per event by fieldPathOf.
  for (const key of keys) if (key.kind === 'normal' || key.kind === 'append') new FieldPath(key.name);
  const failure = (value: string) => new ProcessorError(`Unable to find match for dissect pattern: ${o.pattern} against source: ${value}`);
  const nullMessage = `field [${o.field}] is null, cannot process it.`;
  return (doc) => {
    const value = readString(doc, field, o.ignore_missing, nullMessage);
    if (value === undefined) return false;
    if (!value.startsWith(prefix)) throw failure(value);
    let position = prefix.length;
    const values: string[] = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const isLast = i === keys.length - 1;
      let end: number;
      if (key.delimiter === '') end = value.length;
      else {
        end = isLast && key.delimiter !== '' ? value.lastIndexOf(key.delimiter) : value.indexOf(key.delimiter, position);
        if (end < position) throw failure(value);
      }
      values.push(value.slice(position, end));
      position = end + key.delimiter.length;
      if (key.rightPad && key.delimiter !== '') while (value.startsWith(key.delimiter, position)) position += key.delimiter.length;
      if (isLast && key.delimiter !== '' && position !== value.length) throw failure(value);
    }
    const appended = new Map<string, Array<{ order: number; value: string }>>();
    const refKeys = new Map<string, string>();
    const refValues = new Map<string, string>();
    const results: Array<[string, string]> = [];
    keys.forEach((key, i) => {
      const v = values[i]!;
      if (key.kind === 'normal') results.push([key.name, v]);
      else if (key.kind === 'append') {
        const list = appended.get(key.name) ?? [];
        list.push({ order: key.order, value: v });
        appended.set(key.name, list);
      } else if (key.kind === 'reference-key') refKeys.set(key.name, v);
      else if (key.kind === 'reference-value') refValues.set(key.name, v);
    });
    for (const [name, list] of appended) {
      results.push([name, list.sort((a, b) => a.order - b.order).map((x) => x.value).join(o.append_separator)]);
    }
    for (const [name, keyName] of refKeys) {
      const v = refValues.get(name);
      if (v !== undefined) results.push([keyName, v]);
    }
    for (const [name, v] of results) fieldPathOf(name).set(doc, v);
  };
};

export const csv: ProcessorFactory<'csv'> = (o) => {
  const field = new FieldPath(o.field);
  const targets = o.target_fields.map((t) => new FieldPath(t));
  const { separator, quote } = o;
  const nullMessage = `field [${o.field}] is null, cannot process it.`;
  return (doc) => {
    const value = readString(doc, field, o.ignore_missing, nullMessage);
    if (value === undefined) return false;
    const cells = parseCsvLine(value, separator, quote, o.trim);
    for (let i = 0; i < targets.length && i < cells.length; i++) {
      const cell = cells[i]!;
      if (cell === '') {
        if (o.empty_value !== undefined) targets[i]!.set(doc, o.empty_value);
      } else targets[i]!.set(doc, cell);
    }
  };
};

function parseCsvLine(line: string, separator: string, quote: string, trim: boolean): string[] {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    let cell = '';
    while (trim && (line[i] === ' ' || line[i] === '\t')) i++;
    if (line[i] === quote) {
      i++;
      for (;;) {
        if (i >= line.length) throw new ProcessorError('Unmatched quote');
        if (line[i] === quote) {
          if (line[i + 1] === quote) {
            cell += quote;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        cell += line[i++];
      }
      while (trim && (line[i] === ' ' || line[i] === '\t')) i++;
      if (i < line.length && line[i] !== separator) throw new ProcessorError(`Invalid CSV: characters after closing quote at position ${i}`);
    } else {
      const next = line.indexOf(separator, i);
      const end = next < 0 ? line.length : next;
      cell = line.slice(i, end);
      if (cell.includes(quote)) throw new ProcessorError(`Invalid CSV: quote in unquoted field at position ${i + cell.indexOf(quote)}`);
      if (trim) cell = cell.trim();
      i = end;
    }
    cells.push(cell);
    if (i >= line.length) return cells;
    i++; // the separator
  }
}

export const json: ProcessorFactory<'json'> = (o) => {
  const field = new FieldPath(o.field);
  const target = new FieldPath(o.target_field ?? o.field);
  // Where the parsed keys land, for the error that names a reserved one.
  const base = o.add_to_root ? '' : `${target.path}.`;
  return (doc) => {
    const raw = field.require(doc);
    let parsed: unknown;
    if (typeof raw !== 'string') parsed = raw;
    else {
      try {
        parsed = JSON.parse(raw);
      } catch (err) {
        throw new ProcessorError(`Unable to parse JSON in field [${o.field}]: ${(err as Error).message}`);
      }
    }
    const problem = typeof raw !== 'string' || mayHoldJsonProblem(raw) ? jsonProblem(parsed, base) : undefined;
    if (problem !== undefined) throw new ProcessorError(`Unable to parse JSON in field [${o.field}]: ${problem}`);
    if (!o.add_to_root) {
      target.set(doc, parsed);
      return;
    }
    if (!isObject(parsed)) throw new ProcessorError('cannot add non-map fields to root of document');
    if (o.add_to_root_conflict_strategy === 'merge') deepMerge(doc.source, parsed);
    // Safe: jsonProblem (or the text itself) ruled out a `__proto__` key, the one Object.assign would treat as the prototype.
    else Object.assign(doc.source, parsed);
  };
};

/** Elasticsearch's XContent parser (Jackson's StreamReadConstraints) refuses JSON nested deeper than this. */
export const MAX_JSON_NESTING_DEPTH = 1000;

/**
 * False when JSON text certainly parses to something jsonProblem accepts, decided without walking it: too
 * short to nest past the limit (every level costs an opening and a closing character) and spelling none of
 * the reserved names, neither literally nor through a `\\u` escape. Most event lines take this path.
 */
function mayHoldJsonProblem(text: string): boolean {
  return text.length > 2 * MAX_JSON_NESTING_DEPTH || RESERVED_OR_ESCAPE.test(text);
}

const RESERVED_OR_ESCAPE = /__proto__|constructor|prototype|\\u/;

/**
 * Why parsed JSON cannot become fields, or undefined when it can: nested deeper than Elasticsearch parses
 * (worded as ES words it), or holding a reserved key (see isReservedKey) anywhere, named with its path
 * below `base`. Iterative, so a deep value costs no stack.
 */
function jsonProblem(value: unknown, base: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const stack: Array<{ node: object; depth: number; path: string }> = [{ node: value, depth: 1, path: base }];
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    const { node, depth, path } = frame;
    if (depth > MAX_JSON_NESTING_DEPTH) {
      return `Document nesting depth (${depth}) exceeds the maximum allowed (${MAX_JSON_NESTING_DEPTH}, from \`StreamReadConstraints.getMaxNestingDepth()\`)`;
    }
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const item: unknown = node[i];
        if (typeof item === 'object' && item !== null) stack.push({ node: item, depth: depth + 1, path: `${path}${i}.` });
      }
      continue;
    }
    for (const key of Object.keys(node)) {
      if (isReservedKey(key)) return reservedKeyError(key, `${path}${key}`).message;
      const item: unknown = (node as JsonObject)[key];
      if (typeof item === 'object' && item !== null) stack.push({ node: item, depth: depth + 1, path: `${path}${key}.` });
    }
  }
  return undefined;
}

/** `add_to_root_conflict_strategy: merge`: maps merge key by key (own keys only), anything else replaces. */
function deepMerge(into: JsonObject, from: JsonObject): void {
  for (const key of Object.keys(from)) {
    const existing = Object.prototype.hasOwnProperty.call(into, key) ? into[key] : undefined;
    const incoming = from[key];
    if (isObject(existing) && isObject(incoming)) deepMerge(existing, incoming);
    else into[key] = incoming;
  }
}

function charClassTrimmer(chars: string | undefined): ((s: string) => string) | undefined {
  if (chars === undefined || chars === '') return undefined;
  const cls = chars.replace(/[\\\]^-]/g, '\\$&');
  const re = new RegExp(`^[${cls}]+|[${cls}]+$`, 'g');
  return (s) => s.replace(re, '');
}

export const kv: ProcessorFactory<'kv'> = (o) => {
  const field = new FieldPath(o.field);
  const fieldSplit = javaRegex(o.field_split);
  const valueSplit = javaRegex(o.value_split);
  const trimKey = charClassTrimmer(o.trim_key);
  const trimValue = charClassTrimmer(o.trim_value);
  const include = o.include_keys ? new Set(o.include_keys) : undefined;
  const exclude = o.exclude_keys ? new Set(o.exclude_keys) : undefined;
  const prefix = o.prefix ?? '';
  const base = o.target_field ? `${o.target_field}.` : '';
  const paths = new Map<string, FieldPath>();
  const nullMessage = `field [${o.field}] is null, cannot extract key-value pairs.`;
  return (doc) => {
    const value = readString(doc, field, o.ignore_missing, nullMessage);
    if (value === undefined) return false;
    for (const pair of javaSplit(value, fieldSplit, false)) {
      const m = valueSplit.exec(pair);
      if (!m) throw new ProcessorError(`field [${o.field}] does not contain value_split [${o.value_split}]`);
      let key = pair.slice(0, m.index);
      let v = pair.slice(m.index + m[0].length);
      if (trimKey) key = trimKey(key);
      if (trimValue) v = trimValue(v);
      if (o.strip_brackets) v = v.replace(/^[(<["']/, '').replace(/[)>\]"']$/, '');
      if ((include && !include.has(key)) || exclude?.has(key)) continue;
      const name = base + prefix + key;
      let path = paths.get(name);
      if (!path) {
        path = new FieldPath(name);
        if (paths.size < 1000) paths.set(name, path);
      }
      // A repeated key becomes a list, a single one stays a scalar (as in ES).
      if (path.has(doc)) path.append(doc, [v], true);
      else path.set(doc, v);
    }
  };
};

export const uri_parts: ProcessorFactory<'uri_parts'> = (o) => {
  const field = new FieldPath(o.field);
  const target = new FieldPath(o.target_field);
  const nullMessage = `field [${o.field}] is null, cannot parse it.`;
  return (doc) => {
    const value = readString(doc, field, o.ignore_missing, nullMessage);
    if (value === undefined) return false;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ProcessorError(`unable to parse URI [${value}]`);
    }
    const parts: JsonObject = {};
    if (url.protocol) parts.scheme = url.protocol.replace(/:$/, '');
    if (url.hostname) parts.domain = url.hostname.replace(/^\[|\]$/g, '');
    if (url.port) parts.port = Number(url.port);
    if (url.pathname) {
      parts.path = url.pathname;
      const lastSegment = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
      const dot = lastSegment.lastIndexOf('.');
      if (dot >= 0 && dot < lastSegment.length - 1) parts.extension = lastSegment.slice(dot + 1);
    }
    if (url.search.length > 1) parts.query = url.search.slice(1);
    if (url.hash.length > 1) parts.fragment = url.hash.slice(1);
    if (url.username || url.password) {
      const username = decodeURIComponent(url.username);
      parts.user_info = url.password ? `${username}:${decodeURIComponent(url.password)}` : username;
      parts.username = username;
      if (url.password) parts.password = decodeURIComponent(url.password);
    }
    if (o.keep_original) parts.original = value;
    if (o.remove_if_successful && o.field !== o.target_field) field.remove(doc);
    target.set(doc, parts);
  };
};
