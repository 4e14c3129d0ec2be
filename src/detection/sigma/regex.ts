import type { SigmaRegexFlags } from './types.ts';

/**
 * The `re` modifier's regex dialect (the PCRE subset the Sigma spec allows: `.`, `^`, `$`,
 * quantifiers, classes, groups, alternation, common escapes). One small parser serves three
 * needs: rejecting patterns that could backtrack catastrophically, building the stream
 * matcher's RegExp, and translating to Lucene's regexp syntax for Elasticsearch.
 */

type CharItem = { lo: number; hi: number };
interface CharSet {
  negated: boolean;
  items: CharItem[];
  /** `.`: any character (except newline unless the `s` flag is set). */
  dot?: boolean;
}

type RegexNode =
  | { t: 'seq'; items: RegexNode[] }
  | { t: 'alt'; alts: RegexNode[] }
  | { t: 'group'; body: RegexNode }
  | { t: 'repeat'; body: RegexNode; min: number; max: number }
  | { t: 'chars'; set: CharSet }
  | { t: 'anchor'; which: '^' | '$' }
  /** Valid for JavaScript but not expressible in Lucene (\b, lookaround, back-references). */
  | { t: 'opaque'; source: string };

export interface ParsedSigmaRegex {
  /** Source for `new RegExp`, with leading inline flags like `(?i)` removed. */
  jsSource: string;
  flags: SigmaRegexFlags;
  /** Lucene regexp (always anchored, whole value) or undefined when it cannot be expressed. */
  lucene?: string;
}

class RegexSyntaxError extends Error {}

const DIGIT: CharItem[] = [{ lo: 48, hi: 57 }];
const WORD: CharItem[] = [
  { lo: 48, hi: 57 },
  { lo: 65, hi: 90 },
  { lo: 95, hi: 95 },
  { lo: 97, hi: 122 },
];
const SPACE: CharItem[] = [9, 10, 11, 12, 13, 32].map((c) => ({ lo: c, hi: c }));

class Parser {
  pos = 0;
  constructor(readonly src: string) {}

  parse(): RegexNode {
    const node = this.alternation();
    if (this.pos < this.src.length) throw new RegexSyntaxError(`unexpected '${this.src[this.pos]}' at offset ${this.pos}`);
    return node;
  }

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  private alternation(): RegexNode {
    const alts = [this.sequence()];
    while (this.peek() === '|') {
      this.pos++;
      alts.push(this.sequence());
    }
    return alts.length === 1 ? alts[0]! : { t: 'alt', alts };
  }

  private sequence(): RegexNode {
    const items: RegexNode[] = [];
    while (this.pos < this.src.length && this.peek() !== '|' && this.peek() !== ')') {
      let atom = this.atom();
      atom = this.quantifiers(atom);
      items.push(atom);
    }
    return { t: 'seq', items };
  }

  private quantifiers(atom: RegexNode): RegexNode {
    for (;;) {
      const ch = this.peek();
      let min: number;
      let max: number;
      if (ch === '*') [min, max] = [0, Infinity];
      else if (ch === '+') [min, max] = [1, Infinity];
      else if (ch === '?') [min, max] = [0, 1];
      else if (ch === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
        if (!m) return atom; // a literal '{' (JS and PCRE both accept it)
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] ? Number(m[3]) : Infinity;
        if (max < min) throw new RegexSyntaxError(`quantifier {${min},${max}} out of order`);
        this.pos += m[0].length - 1;
      } else return atom;
      this.pos++;
      if (this.peek() === '?') this.pos++; // lazy: same language, matters only for captures
      else if (this.peek() === '+') throw new RegexSyntaxError('possessive quantifiers are not supported');
      if (atom.t === 'anchor') throw new RegexSyntaxError('quantifier after an anchor');
      if (atom.t === 'repeat') throw new RegexSyntaxError('nested quantifier without a group');
      atom = { t: 'repeat', body: atom, min, max };
    }
  }

  private atom(): RegexNode {
    const ch = this.src[this.pos++]!;
    switch (ch) {
      case '(': {
        let capture = true;
        if (this.src.startsWith('?:', this.pos)) {
          this.pos += 2;
          capture = false;
        } else if (this.src.startsWith('?=', this.pos) || this.src.startsWith('?!', this.pos) || this.src.startsWith('?<=', this.pos) || this.src.startsWith('?<!', this.pos)) {
          const start = this.pos - 1;
          const prefix = this.src.startsWith('?<', this.pos) ? 3 : 2;
          this.pos += prefix;
          this.alternation();
          if (this.peek() !== ')') throw new RegexSyntaxError('unclosed group');
          this.pos++;
          return { t: 'opaque', source: this.src.slice(start, this.pos) };
        } else if (this.peek() === '?') {
          throw new RegexSyntaxError(`unsupported group syntax '(${this.src.slice(this.pos, this.pos + 3)}'`);
        }
        void capture;
        const body = this.alternation();
        if (this.peek() !== ')') throw new RegexSyntaxError('unclosed group');
        this.pos++;
        return { t: 'group', body };
      }
      case ')':
        throw new RegexSyntaxError(`unbalanced ')' at offset ${this.pos - 1}`);
      case '*':
      case '+':
      case '?':
        throw new RegexSyntaxError(`quantifier '${ch}' with nothing to repeat at offset ${this.pos - 1}`);
      case '[':
        return { t: 'chars', set: this.charClass() };
      case '.':
        return { t: 'chars', set: { negated: false, items: [], dot: true } };
      case '^':
      case '$':
        return { t: 'anchor', which: ch };
      case '\\':
        return this.escape(false);
      default:
        return literal(ch.codePointAt(0)!);
    }
  }

  /** An escape outside (inClass=false) or inside a class; returns a node or set items. */
  private escape(inClass: false): RegexNode;
  private escape(inClass: true): CharItem[];
  private escape(inClass: boolean): RegexNode | CharItem[] {
    const ch = this.src[this.pos++];
    if (ch === undefined) throw new RegexSyntaxError('trailing backslash');
    const set = (items: CharItem[], negated: boolean): RegexNode | CharItem[] => {
      if (inClass) {
        if (negated) throw new RegexSyntaxError(`\\${ch} inside a character class is not supported`);
        return items;
      }
      return { t: 'chars', set: { negated, items } };
    };
    switch (ch) {
      case 'd':
        return set(DIGIT, false);
      case 'D':
        return set(DIGIT, true);
      case 'w':
        return set(WORD, false);
      case 'W':
        return set(WORD, true);
      case 's':
        return set(SPACE, false);
      case 'S':
        return set(SPACE, true);
      case 't':
        return single(9, inClass);
      case 'n':
        return single(10, inClass);
      case 'r':
        return single(13, inClass);
      case 'f':
        return single(12, inClass);
      case 'v':
        return single(11, inClass);
      case '0':
        return single(0, inClass);
      case 'x': {
        const m = /^[0-9A-Fa-f]{2}/.exec(this.src.slice(this.pos));
        if (!m) throw new RegexSyntaxError('\\x needs two hex digits');
        this.pos += 2;
        return single(parseInt(m[0], 16), inClass);
      }
      case 'u': {
        const m = /^[0-9A-Fa-f]{4}/.exec(this.src.slice(this.pos));
        if (!m) throw new RegexSyntaxError('\\u needs four hex digits');
        this.pos += 4;
        return single(parseInt(m[0], 16), inClass);
      }
      case 'b':
      case 'B':
        if (inClass) throw new RegexSyntaxError(`\\${ch} inside a character class is not supported`);
        return { t: 'opaque', source: `\\${ch}` };
      default:
        if (/[1-9]/.test(ch)) {
          if (inClass) throw new RegexSyntaxError('back-reference inside a character class');
          return { t: 'opaque', source: `\\${ch}` };
        }
        if (/[A-Za-z]/.test(ch)) throw new RegexSyntaxError(`unsupported escape \\${ch}`);
        return single(ch.codePointAt(0)!, inClass);
    }
  }

  private charClass(): CharSet {
    const set: CharSet = { negated: false, items: [] };
    if (this.peek() === '^') {
      set.negated = true;
      this.pos++;
    }
    let first = true;
    for (;;) {
      const ch = this.src[this.pos];
      if (ch === undefined) throw new RegexSyntaxError('unclosed character class');
      if (ch === ']' && !first) {
        this.pos++;
        return set;
      }
      first = false;
      const lo = this.classAtom();
      if (this.peek() === '-' && this.src[this.pos + 1] !== ']' && this.src[this.pos + 1] !== undefined && lo.length === 1 && lo[0]!.lo === lo[0]!.hi) {
        this.pos++;
        const hi = this.classAtom();
        if (hi.length !== 1 || hi[0]!.lo !== hi[0]!.hi) throw new RegexSyntaxError('character range with a class as its end');
        if (hi[0]!.lo < lo[0]!.lo) throw new RegexSyntaxError('character range out of order');
        set.items.push({ lo: lo[0]!.lo, hi: hi[0]!.lo });
      } else {
        set.items.push(...lo);
      }
    }
  }

  private classAtom(): CharItem[] {
    const ch = this.src[this.pos++]!;
    if (ch === '\\') return this.escape(true);
    if (ch === '[' && this.peek() === ':') throw new RegexSyntaxError('POSIX classes like [:alpha:] are not supported');
    const cp = ch.codePointAt(0)!;
    return [{ lo: cp, hi: cp }];
  }
}

function literal(cp: number): RegexNode {
  return { t: 'chars', set: { negated: false, items: [{ lo: cp, hi: cp }] } };
}

function single(cp: number, inClass: boolean): RegexNode | CharItem[] {
  return inClass ? [{ lo: cp, hi: cp }] : literal(cp);
}

// ---------------------------------------------------------------------------------------------
// Catastrophic backtracking: a conservative static check.

function nullable(node: RegexNode): boolean {
  switch (node.t) {
    case 'seq':
      return node.items.every(nullable);
    case 'alt':
      return node.alts.some(nullable);
    case 'group':
      return nullable(node.body);
    case 'repeat':
      return node.min === 0 || nullable(node.body);
    case 'chars':
      return false;
    case 'anchor':
    case 'opaque':
      return true;
  }
}

/** Characters a node can start with (undefined = could be anything, treated as overlapping). */
function firstChars(node: RegexNode, caseless: boolean): CharSet[] {
  switch (node.t) {
    case 'seq': {
      const out: CharSet[] = [];
      for (const item of node.items) {
        out.push(...firstChars(item, caseless));
        if (!nullable(item)) break;
      }
      return out;
    }
    case 'alt':
      return node.alts.flatMap((a) => firstChars(a, caseless));
    case 'group':
    case 'repeat':
      return firstChars(node.body, caseless);
    case 'chars':
      return [caseless ? foldCase(node.set) : node.set];
    case 'anchor':
      return [];
    case 'opaque':
      return [{ negated: true, items: [] }];
  }
}

function foldCase(set: CharSet): CharSet {
  if (set.dot || set.negated) return set;
  const items: CharItem[] = [...set.items];
  for (const { lo, hi } of set.items) {
    // Letters overlap with their other case: add the case-swapped ASCII ranges.
    const aLo = Math.max(lo, 65), aHi = Math.min(hi, 90);
    if (aLo <= aHi) items.push({ lo: aLo + 32, hi: aHi + 32 });
    const bLo = Math.max(lo, 97), bHi = Math.min(hi, 122);
    if (bLo <= bHi) items.push({ lo: bLo - 32, hi: bHi - 32 });
  }
  return { negated: false, items };
}

function setsOverlap(a: CharSet, b: CharSet): boolean {
  // Negated classes and dots are treated as overlapping everything: conservative by design.
  if (a.dot || b.dot || a.negated || b.negated) return true;
  return a.items.some((x) => b.items.some((y) => x.lo <= y.hi && y.lo <= x.hi));
}

function hasUnboundedRepeat(node: RegexNode): boolean {
  switch (node.t) {
    case 'seq':
      return node.items.some(hasUnboundedRepeat);
    case 'alt':
      return node.alts.some(hasUnboundedRepeat);
    case 'group':
      return hasUnboundedRepeat(node.body);
    case 'repeat':
      return node.max === Infinity || node.max > 16 || hasUnboundedRepeat(node.body);
    default:
      return false;
  }
}

function alternatives(node: RegexNode): RegexNode[] | undefined {
  if (node.t === 'alt') return node.alts;
  if (node.t === 'group') return alternatives(node.body);
  if (node.t === 'seq' && node.items.length === 1) return alternatives(node.items[0]!);
  return undefined;
}

/** A reason the pattern could backtrack catastrophically, or undefined when it looks safe. */
function backtrackingRisk(node: RegexNode, caseless: boolean): string | undefined {
  switch (node.t) {
    case 'seq':
      for (const item of node.items) {
        const r = backtrackingRisk(item, caseless);
        if (r) return r;
      }
      return undefined;
    case 'alt':
      for (const alt of node.alts) {
        const r = backtrackingRisk(alt, caseless);
        if (r) return r;
      }
      return undefined;
    case 'group':
      return backtrackingRisk(node.body, caseless);
    case 'repeat': {
      const repeats = node.max === Infinity || node.max > 16;
      if (repeats) {
        if (hasUnboundedRepeat(node.body)) return 'nested quantifiers (a repeated group that itself contains a repetition, like (a+)+)';
        if (nullable(node.body)) return 'a repeated group that can match the empty string (like (a?)*)';
        const alts = alternatives(node.body);
        if (alts) {
          for (let i = 0; i < alts.length; i++) {
            for (let j = i + 1; j < alts.length; j++) {
              const fi = firstChars(alts[i]!, caseless);
              const fj = firstChars(alts[j]!, caseless);
              if (fi.some((x) => fj.some((y) => setsOverlap(x, y)))) return 'a repeated alternation whose branches can start with the same character (like (a|ab)*)';
            }
          }
        }
      }
      return backtrackingRisk(node.body, caseless);
    }
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Lucene translation (Elasticsearch `regexp` query).

const LUCENE_RESERVED = new Set('.?+*|{}[]()"\\#@&<>~'.split(''));

function luceneChar(cp: number): string {
  const ch = String.fromCodePoint(cp);
  return LUCENE_RESERVED.has(ch) ? `\\${ch}` : ch;
}

function luceneClassChar(cp: number): string {
  const ch = String.fromCodePoint(cp);
  return /[\]\\^\-[]/.test(ch) ? `\\${ch}` : ch;
}

function luceneSet(set: CharSet, dotAll: boolean): string {
  if (set.dot) return dotAll ? '.' : '[^\n]';
  if (!set.negated && set.items.length === 1 && set.items[0]!.lo === set.items[0]!.hi) return luceneChar(set.items[0]!.lo);
  const body = set.items.map(({ lo, hi }) => (lo === hi ? luceneClassChar(lo) : `${luceneClassChar(lo)}-${luceneClassChar(hi)}`)).join('');
  return `[${set.negated ? '^' : ''}${body}]`;
}

function toLucene(node: RegexNode, dotAll: boolean): string | undefined {
  switch (node.t) {
    case 'seq': {
      let out = '';
      for (const item of node.items) {
        const part = toLucene(item, dotAll);
        if (part === undefined) return undefined;
        out += part;
      }
      return out;
    }
    case 'alt': {
      const parts = node.alts.map((a) => toLucene(a, dotAll));
      if (parts.some((p) => p === undefined)) return undefined;
      return parts.join('|');
    }
    case 'group': {
      const body = toLucene(node.body, dotAll);
      return body === undefined ? undefined : `(${body})`;
    }
    case 'repeat': {
      let body = toLucene(node.body, dotAll);
      if (body === undefined) return undefined;
      if (node.body.t === 'seq' || node.body.t === 'alt') body = `(${body})`;
      const { min, max } = node;
      const q = min === 0 && max === Infinity ? '*' : min === 1 && max === Infinity ? '+' : min === 0 && max === 1 ? '?' : max === Infinity ? `{${min},}` : min === max ? `{${min}}` : `{${min},${max}}`;
      return body + q;
    }
    case 'chars':
      return luceneSet(node.set, dotAll);
    case 'anchor':
    case 'opaque':
      return undefined; // anchors are handled at the top level only
  }
}

/** Lucene regexps match the whole value: unanchored ends become `.*`, anchors at the ends are dropped. */
function anchoredLucene(root: RegexNode, flags: SigmaRegexFlags): string | undefined {
  let items = root.t === 'seq' ? [...root.items] : [root];
  let start = '.*';
  let end = '.*';
  if (items[0]?.t === 'anchor' && items[0].which === '^') {
    if (flags.m) return undefined;
    start = '';
    items = items.slice(1);
  }
  const last = items[items.length - 1];
  if (last?.t === 'anchor' && last.which === '$') {
    if (flags.m) return undefined;
    end = '';
    items = items.slice(0, -1);
  }
  const body = toLucene({ t: 'seq', items }, flags.s);
  if (body === undefined) return undefined;
  // A top-level alternation must be grouped before the `.*` ends are attached.
  const needsGroup = root.t === 'alt' || items.length === 1 && items[0]!.t === 'alt';
  return `${start}${needsGroup ? `(${body})` : body}${end}`;
}

const INLINE_FLAGS = /^\(\?([ims]+)\)/;

/**
 * Parse and check a `re` value. Throws Error with a readable reason when the pattern is
 * outside the supported dialect, invalid, or at risk of catastrophic backtracking.
 */
export function parseSigmaRegex(source: string, modifierFlags: SigmaRegexFlags): ParsedSigmaRegex {
  const flags = { ...modifierFlags };
  let jsSource = source;
  const inline = INLINE_FLAGS.exec(source);
  if (inline) {
    for (const f of inline[1]!) flags[f as 'i' | 'm' | 's'] = true;
    jsSource = source.slice(inline[0].length);
  }
  let ast: RegexNode;
  try {
    ast = new Parser(jsSource).parse();
  } catch (err) {
    if (err instanceof RegexSyntaxError) throw new Error(`invalid regular expression /${source}/: ${err.message}`);
    throw err;
  }
  try {
    new RegExp(jsSource, jsFlags(flags));
  } catch (err) {
    throw new Error(`invalid regular expression /${source}/: ${(err as Error).message}`);
  }
  const risk = backtrackingRisk(ast, flags.i);
  if (risk) throw new Error(`regular expression /${source}/ could backtrack catastrophically: ${risk}`);
  const lucene = anchoredLucene(ast, flags);
  return { jsSource, flags, ...(lucene !== undefined ? { lucene } : {}) };
}

export function jsFlags(flags: SigmaRegexFlags): string {
  return `${flags.i ? 'i' : ''}${flags.m ? 'm' : ''}${flags.s ? 's' : ''}`;
}
