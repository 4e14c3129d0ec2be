/**
 * Java/Oniguruma regex source → JS RegExp, for gsub, split and kv options. Covers what those
 * options use in practice: a leading `(?i)`, `\A`/`\z`/`\Z` anchors, atomic groups (emulated
 * with a lookahead + backreference, which JS treats as atomic), named groups. Possessive
 * quantifiers have no JS equivalent and are rejected.
 */
import { DefinitionError } from './processor.ts';

let atomicCounter = 0;

export function translateRegexSource(source: string): { source: string; flags: string } {
  let flags = '';
  let body = source;
  const inline = /^\(\?([imsx]+)\)/.exec(body);
  if (inline) {
    if (inline[1]!.includes('x')) throw new DefinitionError(`regex flag (?x) is not supported in [${source}]`);
    flags += inline[1]!.replace(/x/g, '');
    body = body.slice(inline[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      const next = body[i + 1] ?? '';
      if (!inClass && next === 'A') out += '^';
      else if (!inClass && (next === 'z' || next === 'Z')) out += '$';
      else if (next === 'h' && !inClass) out += '[0-9a-fA-F]'; // Oniguruma: \h is a hex digit
      else out += c + next;
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (body[i + 1] === '^') out += body[++i];
      if (body[i + 1] === ']') out += '\\' + body[++i];
      continue;
    }
    if ((c === '+' || c === '*' || c === '?' || c === '}') && body[i + 1] === '+') {
      throw new DefinitionError(`possessive quantifier [${c}+] is not supported in [${source}]`);
    }
    if (c === '(' && body.startsWith('(?>', i)) {
      // (?>X) → (?=(?<aN>X))\k<aN>: the lookahead cannot be backtracked into, so X is atomic.
      const name = `__atomic${atomicCounter++}`;
      const end = matchingParen(body, i);
      const inner = translateRegexSource(body.slice(i + 3, end)).source;
      out += `(?=(?<${name}>${inner}))\\k<${name}>`;
      i = end;
      continue;
    }
    out += c;
  }
  return { source: out, flags };
}

function matchingParen(text: string, open: number): number {
  let depth = 0;
  let inClass = false;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  throw new DefinitionError(`unbalanced parenthesis in regex [${text}]`);
}

/** Builds a RegExp from a Java regex; `extraFlags` e.g. 'g'. Throws DefinitionError when invalid. */
export function javaRegex(source: string, extraFlags = ''): RegExp {
  const translated = translateRegexSource(source);
  const flags = translated.flags + extraFlags;
  try {
    return new RegExp(translated.source, flags);
  } catch {
    try {
      // Unicode mode understands \p{...} classes that non-unicode mode rejects.
      return new RegExp(translated.source, flags + 'u');
    } catch (err) {
      throw new DefinitionError(`invalid regex [${source}]: ${(err as Error).message}`);
    }
  }
}

/** Java's String.split(regex[, -1]): no capture groups in the output, trailing empties dropped unless kept. */
export function javaSplit(text: string, separator: RegExp, keepTrailing: boolean): string[] {
  const re = new RegExp(separator.source, separator.flags.includes('g') ? separator.flags : separator.flags + 'g');
  const parts: string[] = [];
  let last = 0;
  let match: RegExpExecArray | null;
  while ((match = re.exec(text)) !== null) {
    if (match[0].length === 0) {
      if (match.index >= text.length) break;
      // A zero-width match at the start yields no leading empty string (Java 8+).
      if (match.index === 0) {
        re.lastIndex++;
        continue;
      }
      parts.push(text.slice(last, match.index));
      last = match.index;
      re.lastIndex++;
      continue;
    }
    parts.push(text.slice(last, match.index));
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  if (!keepTrailing) while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (!keepTrailing && parts.length === 1 && parts[0] === '' && text.length > 0) return [];
  return parts;
}

/** Java replacement syntax (`$1`, `${name}`, `\$`) → JS (`$1`, `$<name>`, `$$`). */
export function javaReplacement(replacement: string): string {
  let out = '';
  for (let i = 0; i < replacement.length; i++) {
    const c = replacement[i]!;
    if (c === '\\' && i + 1 < replacement.length) {
      const next = replacement[++i]!;
      out += next === '$' ? '$$' : next;
    } else if (c === '$' && replacement[i + 1] === '{') {
      const end = replacement.indexOf('}', i);
      if (end < 0) throw new DefinitionError(`unclosed group reference in replacement [${replacement}]`);
      out += `$<${replacement.slice(i + 2, end)}>`;
      i = end;
    } else if (c === '$' && !/\d/.test(replacement[i + 1] ?? '')) {
      throw new DefinitionError(`illegal group reference in replacement [${replacement}]`);
    } else out += c;
  }
  return out;
}
