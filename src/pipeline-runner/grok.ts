/**
 * Grok → JS RegExp. `%{NAME}`, `%{NAME:field.path}` and `%{NAME:field.path:type}` expand from the
 * pattern bank (pipelines/grok-patterns.txt, plus a processor's pattern_definitions); Oniguruma
 * named groups `(?<field.path>...)` are accepted too. JS group names must be identifiers, so
 * every capture gets a generated name (`g0`, `g1`, ...) mapped back to its dotted field.
 */
import { readFileSync } from 'node:fs';
import { translateRegexSource } from './java-regex.ts';
import { DefinitionError } from './processor.ts';

export type CaptureType = 'string' | 'int' | 'long' | 'float' | 'double' | 'boolean';

export interface Capture {
  group: string;
  field: string;
  type: CaptureType;
}

export interface CompiledGrok {
  regex: RegExp;
  captures: Capture[];
}

const BANK_FILE = new URL('../../pipelines/grok-patterns.txt', import.meta.url);
let bank: ReadonlyMap<string, string> | undefined;

/** The shared pattern bank, read once. */
export function grokPatternBank(): ReadonlyMap<string, string> {
  if (!bank) bank = parsePatternBank(readFileSync(BANK_FILE, 'utf8'));
  return bank;
}

export function parsePatternBank(text: string): Map<string, string> {
  const patterns = new Map<string, string>();
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const space = trimmed.search(/\s/);
    if (space < 0) continue;
    patterns.set(trimmed.slice(0, space), trimmed.slice(space).trim());
  }
  return patterns;
}

const REFERENCE = /%\{(\w+)(?::([^:}]+))?(?::(\w+))?\}/g;
const TYPES = new Set<CaptureType>(['int', 'long', 'float', 'double', 'boolean', 'string']);

export function compileGrok(pattern: string, definitions: Readonly<Record<string, string>>): CompiledGrok {
  const captures: Capture[] = [];
  const lookup = (name: string): string | undefined => definitions[name] ?? grokPatternBank().get(name);

  const expand = (text: string, stack: string[]): string => {
    const withNamedGroups = text.replace(/\(\?<([^>=!][^>]*)>/g, (_whole, field: string) => {
      const group = `g${captures.length}`;
      captures.push({ group, field, type: 'string' });
      return `(?<${group}>`;
    });
    return withNamedGroups.replace(REFERENCE, (_whole, name: string, field: string | undefined, type: string | undefined) => {
      const body = lookup(name);
      if (body === undefined) throw new DefinitionError(`Unable to find pattern [${name}] in Grok's pattern dictionary`);
      if (stack.includes(name)) throw new DefinitionError(`circular reference in pattern [${name}]: ${[...stack, name].join(' -> ')}`);
      if (type !== undefined && !TYPES.has(type as CaptureType)) throw new DefinitionError(`unsupported capture type [${type}] in %{${name}:${field}:${type}}`);
      if (field === undefined) return `(?:${expand(body, [...stack, name])})`;
      const group = `g${captures.length}`;
      captures.push({ group, field, type: (type as CaptureType | undefined) ?? 'string' });
      return `(?<${group}>${expand(body, [...stack, name])})`;
    });
  };

  const translated = translateRegexSource(expand(pattern, []));
  try {
    return { regex: new RegExp(translated.source, translated.flags), captures };
  } catch (err) {
    throw new DefinitionError(`invalid grok pattern [${pattern}]: ${(err as Error).message}`);
  }
}

/** Converts a capture like ES's grok capture types; a bad number is a processor failure upstream. */
export function convertCapture(value: string, type: CaptureType): unknown {
  switch (type) {
    case 'int':
    case 'long': {
      if (!/^[+-]?\d+$/.test(value)) throw new Error(`For input string: "${value}"`);
      return Number(value);
    }
    case 'float':
    case 'double': {
      const n = Number(value);
      if (value.trim() === '' || Number.isNaN(n)) throw new Error(`For input string: "${value}"`);
      return n;
    }
    case 'boolean':
      return value.toLowerCase() === 'true';
    default:
      return value;
  }
}
