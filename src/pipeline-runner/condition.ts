/**
 * Evaluator for the Painless subset that processor `if` conditions may use. Pipeline authors
 * keep to this subset so the same YAML runs in Elasticsearch and in this runner. It is parsed
 * once into closures; nothing is ever handed to eval/Function.
 *
 * The subset:
 *   ctx                     the document (`ctx._index`, `ctx._ingest` address metadata)
 *   ctx.a.b  ctx['a']  ctx.a?.b  ctx.list[0]     field access; `?.` is null-safe
 *   'str'  "str"  42  1.5  -3  true  false  null  literals
 *   ==  !=  <  <=  >  >=    (numbers compare by value; == on other types is equals())
 *   &&  ||  !  ( )
 *   x instanceof String|Map|List|Number|Integer|Long|Double|Boolean
 *   x.contains(y) startsWith(y) endsWith(y) equalsIgnoreCase(y) toLowerCase() toUpperCase()
 *     trim() isEmpty() size() length() containsKey(k) get(k)   (each also after `?.`)
 * As in Painless, `.b` on a null value is an error (the processor fails), `?.b` yields null,
 * and a missing map key reads as null. Anything else is rejected at compile time, naming the token.
 */
import { IngestDocument, METADATA_FIELDS, deepEqual, isObject, javaTypeName } from './document.ts';

export type Condition = (doc: IngestDocument) => boolean;
type Eval = (doc: IngestDocument) => unknown;

export class ConditionSyntaxError extends Error {}
/** A runtime error inside a condition (null dereference, bad operand types); fails the processor. */
export class ConditionRuntimeError extends Error {}

interface Token {
  kind: 'ident' | 'string' | 'number' | 'op';
  text: string;
  value?: string | number;
  pos: number;
}

const OPERATORS = ['?.', '==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', '.', ',', '-'];

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      let value = '';
      while (j < source.length && source[j] !== c) {
        if (source[j] === '\\' && j + 1 < source.length) {
          const next = source[j + 1]!;
          value += next === 'n' ? '\n' : next === 't' ? '\t' : next === 'r' ? '\r' : next;
          j += 2;
        } else value += source[j++];
      }
      if (j >= source.length) throw new ConditionSyntaxError(`unterminated string starting at position ${i}`);
      tokens.push({ kind: 'string', text: source.slice(i, j + 1), value, pos: i });
      i = j + 1;
      continue;
    }
    const number = /^\d+(\.\d+)?([eE][+-]?\d+)?[LlFfDd]?/.exec(source.slice(i));
    if (number) {
      tokens.push({ kind: 'number', text: number[0], value: Number(number[0].replace(/[LlFfDd]$/, '')), pos: i });
      i += number[0].length;
      continue;
    }
    const ident = /^[A-Za-z_$][\w$]*/.exec(source.slice(i));
    if (ident) {
      tokens.push({ kind: 'ident', text: ident[0], pos: i });
      i += ident[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => source.startsWith(o, i));
    if (!op || source.startsWith('===', i) || source.startsWith('!==', i)) {
      const bad = /^\S+/.exec(source.slice(i))?.[0] ?? c;
      throw new ConditionSyntaxError(`unsupported token [${bad}] at position ${i}`);
    }
    tokens.push({ kind: 'op', text: op, pos: i });
    i += op.length;
  }
  return tokens;
}

/** Marks the `ctx` root so member access on it reads the document, not a JS object. */
const CTX = Symbol('ctx');

const TYPE_CHECKS: Record<string, (v: unknown) => boolean> = {
  String: (v) => typeof v === 'string',
  Map: isObject,
  List: Array.isArray,
  Number: (v) => typeof v === 'number',
  Integer: (v) => typeof v === 'number' && Number.isInteger(v),
  Long: (v) => typeof v === 'number' && Number.isInteger(v),
  Double: (v) => typeof v === 'number',
  Boolean: (v) => typeof v === 'boolean',
  Object: (v) => v !== null && v !== undefined,
};

const METHODS = new Set(['contains', 'startsWith', 'endsWith', 'equalsIgnoreCase', 'toLowerCase', 'toUpperCase', 'trim', 'isEmpty', 'size', 'length', 'containsKey', 'get']);

class Parser {
  private index = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  parse(): Eval {
    if (this.tokens.length === 0) throw new ConditionSyntaxError('empty condition');
    const result = this.or();
    const rest = this.peek();
    if (rest) throw this.unexpected(rest);
    return result;
  }

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }
  private next(): Token {
    const token = this.tokens[this.index++];
    if (!token) throw new ConditionSyntaxError(`unexpected end of condition [${this.source}]`);
    return token;
  }
  private accept(text: string): boolean {
    const token = this.peek();
    if (token && token.kind === 'op' && token.text === text) {
      this.index++;
      return true;
    }
    return false;
  }
  private expect(text: string): void {
    const token = this.next();
    if (token.kind !== 'op' || token.text !== text) throw this.unexpected(token, `expected [${text}]`);
  }
  private unexpected(token: Token, why = 'unsupported token'): ConditionSyntaxError {
    return new ConditionSyntaxError(`${why}: [${token.text}] at position ${token.pos}`);
  }

  private or(): Eval {
    let left = this.and();
    while (this.accept('||')) {
      const l = left;
      const r = this.and();
      left = (doc) => asBoolean(l(doc), '||') || asBoolean(r(doc), '||');
    }
    return left;
  }

  private and(): Eval {
    let left = this.equality();
    while (this.accept('&&')) {
      const l = left;
      const r = this.equality();
      left = (doc) => asBoolean(l(doc), '&&') && asBoolean(r(doc), '&&');
    }
    return left;
  }

  private equality(): Eval {
    let left = this.relational();
    for (;;) {
      const l = left;
      if (this.accept('==')) {
        const r = this.relational();
        left = (doc) => painlessEquals(l(doc), r(doc));
      } else if (this.accept('!=')) {
        const r = this.relational();
        left = (doc) => !painlessEquals(l(doc), r(doc));
      } else return left;
    }
  }

  private relational(): Eval {
    let left = this.unary();
    for (;;) {
      const token = this.peek();
      if (!token) return left;
      const l = left;
      if (token.kind === 'ident' && token.text === 'instanceof') {
        this.index++;
        const type = this.next();
        const check = type.kind === 'ident' ? TYPE_CHECKS[type.text] : undefined;
        if (!check) throw this.unexpected(type, 'unsupported instanceof type');
        left = (doc) => check(l(doc));
        continue;
      }
      if (token.kind !== 'op' || !['<', '<=', '>', '>='].includes(token.text)) return left;
      this.index++;
      const r = this.unary();
      const op = token.text;
      left = (doc) => compareNumbers(l(doc), r(doc), op);
    }
  }

  private unary(): Eval {
    if (this.accept('!')) {
      const operand = this.unary();
      return (doc) => !asBoolean(operand(doc), '!');
    }
    return this.postfix(this.primary());
  }

  private primary(): Eval {
    const token = this.next();
    if (token.kind === 'string' || token.kind === 'number') {
      const value = token.value;
      return () => value;
    }
    if (token.kind === 'op' && token.text === '-') {
      const number = this.next();
      if (number.kind !== 'number') throw this.unexpected(number);
      const value = -(number.value as number);
      return () => value;
    }
    if (token.kind === 'op' && token.text === '(') {
      const inner = this.or();
      this.expect(')');
      return inner;
    }
    if (token.kind === 'ident') {
      switch (token.text) {
        case 'ctx':
          return () => CTX;
        case 'true':
          return () => true;
        case 'false':
          return () => false;
        case 'null':
          return () => null;
      }
    }
    throw this.unexpected(token);
  }

  private postfix(base: Eval): Eval {
    let current = base;
    for (;;) {
      const token = this.peek();
      if (!token || token.kind !== 'op') return current;
      if (token.text === '.' || token.text === '?.') {
        this.index++;
        const nullSafe = token.text === '?.';
        const name = this.next();
        if (name.kind !== 'ident') throw this.unexpected(name);
        if (this.accept('(')) {
          if (!METHODS.has(name.text)) throw this.unexpected(name, 'unsupported method');
          const args: Eval[] = [];
          if (!this.accept(')')) {
            do args.push(this.or());
            while (this.accept(','));
            this.expect(')');
          }
          current = methodCall(current, name.text, args, nullSafe);
        } else {
          current = memberAccess(current, () => name.text, nullSafe);
        }
        continue;
      }
      if (token.text === '[') {
        this.index++;
        const key = this.or();
        this.expect(']');
        current = memberAccess(current, key, false);
        continue;
      }
      return current;
    }
  }
}

function readRoot(doc: IngestDocument, key: string): unknown {
  if (key === '_ingest') return doc.ingest;
  if (key === '_source') return doc.source;
  if (METADATA_FIELDS.has(key)) return doc.meta[key] ?? null;
  return Object.prototype.hasOwnProperty.call(doc.source, key) ? doc.source[key] : null;
}

function memberAccess(base: Eval, key: Eval, nullSafe: boolean): Eval {
  return (doc) => {
    const target = base(doc);
    const k = key(doc);
    if (target === CTX) return readRoot(doc, String(k));
    if (target === null || target === undefined) {
      if (nullSafe) return null;
      throw new ConditionRuntimeError(`cannot access field [${String(k)}] of a null value`);
    }
    if (Array.isArray(target)) {
      if (typeof k !== 'number' || !Number.isInteger(k)) throw new ConditionRuntimeError(`cannot index a list with [${String(k)}]`);
      if (k < 0 || k >= target.length) throw new ConditionRuntimeError(`index [${k}] out of bounds for length [${target.length}]`);
      return target[k];
    }
    if (isObject(target)) {
      const name = String(k);
      return Object.prototype.hasOwnProperty.call(target, name) ? target[name] ?? null : null;
    }
    throw new ConditionRuntimeError(`cannot access field [${String(k)}] of type [${javaTypeName(target)}]`);
  };
}

function methodCall(base: Eval, name: string, args: Eval[], nullSafe: boolean): Eval {
  return (doc) => {
    let target = base(doc);
    if (target === CTX) target = ctxAsMap(doc);
    if (target === null || target === undefined) {
      if (nullSafe) return null;
      throw new ConditionRuntimeError(`cannot call [${name}()] on a null value`);
    }
    const values = args.map((arg) => arg(doc));
    const arg = values[0];
    const fail = (): never => {
      throw new ConditionRuntimeError(`method [${name}/${values.length}] not found for type [${javaTypeName(target)}]`);
    };
    if (typeof target === 'string') {
      switch (name) {
        case 'contains':
          return typeof arg === 'string' ? target.includes(arg) : fail();
        case 'startsWith':
          return typeof arg === 'string' ? target.startsWith(arg) : fail();
        case 'endsWith':
          return typeof arg === 'string' ? target.endsWith(arg) : fail();
        case 'equalsIgnoreCase':
          return typeof arg === 'string' && target.toLowerCase() === arg.toLowerCase();
        case 'toLowerCase':
          return target.toLowerCase();
        case 'toUpperCase':
          return target.toUpperCase();
        case 'trim':
          return target.trim();
        case 'isEmpty':
          return target.length === 0;
        case 'length':
          return target.length;
      }
      return fail();
    }
    if (Array.isArray(target)) {
      switch (name) {
        case 'contains':
          return target.some((item) => painlessEquals(item, arg));
        case 'isEmpty':
          return target.length === 0;
        case 'size':
          return target.length;
        case 'get':
          return typeof arg === 'number' && arg >= 0 && arg < target.length ? target[arg] : fail();
      }
      return fail();
    }
    if (isObject(target)) {
      switch (name) {
        case 'containsKey':
          return Object.prototype.hasOwnProperty.call(target, String(arg));
        case 'isEmpty':
          return Object.keys(target).length === 0;
        case 'size':
          return Object.keys(target).length;
        case 'get':
          return Object.prototype.hasOwnProperty.call(target, String(arg)) ? target[String(arg)] ?? null : null;
      }
      return fail();
    }
    return fail();
  };
}

/** Only built for the rare `ctx.containsKey(...)`/`ctx.size()` call, never on plain field reads. */
function ctxAsMap(doc: IngestDocument): Record<string, unknown> {
  return { ...doc.source, ...doc.meta, _ingest: doc.ingest };
}

function asBoolean(value: unknown, op: string): boolean {
  if (typeof value !== 'boolean') throw new ConditionRuntimeError(`cannot apply [${op}] to type [${javaTypeName(value)}]: expected a boolean`);
  return value;
}

function painlessEquals(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  return deepEqual(a, b);
}

function compareNumbers(a: unknown, b: unknown, op: string): boolean {
  if (typeof a !== 'number' || typeof b !== 'number') {
    throw new ConditionRuntimeError(`cannot apply [${op}] operation to types [${javaTypeName(a)}] and [${javaTypeName(b)}]`);
  }
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    default:
      return a >= b;
  }
}

export function compileCondition(source: string): Condition {
  const evaluate = new Parser(tokenize(source), source).parse();
  return (doc) => {
    const result = evaluate(doc);
    if (typeof result !== 'boolean') throw new ConditionRuntimeError(`condition [${source}] must return a boolean, got [${javaTypeName(result)}]`);
    return result;
  };
}
