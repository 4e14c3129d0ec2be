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
/** The one Eval for `ctx`: postfix() recognises it to resolve `ctx.<key>` at compile time. */
const CTX_ROOT: Eval = () => CTX;

/** Evals of literals, with their value: `x == 'lit'` compiles to a strict comparison. */
const LITERALS = new WeakMap<Eval, string | number | boolean | null>();
function literal(value: string | number | boolean | null): Eval {
  const e: Eval = () => value;
  LITERALS.set(e, value);
  return e;
}

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
      left = boolean(BOOLEANS.has(l) && BOOLEANS.has(r) ? (doc) => (l(doc) as boolean) || (r(doc) as boolean) : (doc) => asBoolean(l(doc), '||') || asBoolean(r(doc), '||'));
    }
    return left;
  }

  private and(): Eval {
    let left = this.equality();
    while (this.accept('&&')) {
      const l = left;
      const r = this.equality();
      left = boolean(BOOLEANS.has(l) && BOOLEANS.has(r) ? (doc) => (l(doc) as boolean) && (r(doc) as boolean) : (doc) => asBoolean(l(doc), '&&') && asBoolean(r(doc), '&&'));
    }
    return left;
  }

  private equality(): Eval {
    let left = this.relational();
    for (;;) {
      const l = left;
      if (this.accept('==')) {
        const r = this.relational();
        left = equalsEval(l, r, false);
      } else if (this.accept('!=')) {
        const r = this.relational();
        left = equalsEval(l, r, true);
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
        left = boolean((doc) => check(l(doc)));
        const path = CTX_PATHS.get(l);
        if (path) FUSED.set(left, { kind: Fused.Type, path, value: null, type: check });
        continue;
      }
      if (token.kind !== 'op' || !['<', '<=', '>', '>='].includes(token.text)) return left;
      this.index++;
      const r = this.unary();
      const op = token.text;
      left = boolean((doc) => compareNumbers(l(doc), r(doc), op));
    }
  }

  private unary(): Eval {
    if (this.accept('!')) {
      const operand = this.unary();
      const negated = boolean(BOOLEANS.has(operand) ? (doc) => !(operand(doc) as boolean) : (doc) => !asBoolean(operand(doc), '!'));
      const inner = FUSED.get(operand);
      if (inner?.kind === Fused.Type) FUSED.set(negated, { ...inner, kind: Fused.NotType });
      return negated;
    }
    return this.postfix(this.primary());
  }

  private primary(): Eval {
    const token = this.next();
    if (token.kind === 'string' || token.kind === 'number') return literal(token.value!);
    if (token.kind === 'op' && token.text === '-') {
      const number = this.next();
      if (number.kind !== 'number') throw this.unexpected(number);
      return literal(-(number.value as number));
    }
    if (token.kind === 'op' && token.text === '(') {
      const inner = this.or();
      this.expect(')');
      return inner;
    }
    if (token.kind === 'ident') {
      switch (token.text) {
        case 'ctx':
          return CTX_ROOT;
        case 'true':
          return literal(true);
        case 'false':
          return literal(false);
        case 'null':
          return literal(null);
      }
    }
    throw this.unexpected(token);
  }

  private postfix(base: Eval): Eval {
    // Reads with constant keys (`ctx.a?.b['c'][0]`) are gathered and compiled into one path walk
    // (see fieldPath): one closure per chain instead of one per segment, and no per-run key evaluation.
    let current = base;
    let keys: Array<string | number> = [];
    let nullSafe: boolean[] = [];
    const flush = (): Eval => {
      if (keys.length > 0) current = fieldPath(current, keys, nullSafe);
      keys = [];
      nullSafe = [];
      return current;
    };
    for (;;) {
      const token = this.peek();
      if (!token || token.kind !== 'op') return flush();
      if (token.text === '.' || token.text === '?.') {
        this.index++;
        const safe = token.text === '?.';
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
          current = methodCall(flush(), name.text, args, safe);
        } else {
          keys.push(name.text);
          nullSafe.push(safe);
        }
        continue;
      }
      if (token.text === '[') {
        this.index++;
        const literal = this.peek();
        const close = this.tokens[this.index + 1];
        if (literal && (literal.kind === 'string' || literal.kind === 'number') && close?.kind === 'op' && close.text === ']') {
          this.index += 2;
          keys.push(literal.value!);
          nullSafe.push(false);
          continue;
        }
        const key = this.or();
        this.expect(']');
        current = memberAccess(flush(), key, false);
        continue;
      }
      return flush();
    }
  }
}

function readRoot(doc: IngestDocument, key: string): unknown {
  if (key === '_ingest') return doc.ingest;
  if (key === '_source') return doc.source;
  if (METADATA_FIELDS.has(key)) return doc.meta[key] ?? null;
  return Object.prototype.hasOwnProperty.call(doc.source, key) ? doc.source[key] : null;
}

/** One member access on a value that is not `ctx` (same rules and messages as memberAccess). */
function readMember(target: unknown, k: unknown, nullSafe: boolean): unknown {
  if (target === null || target === undefined) {
    if (nullSafe) return null;
    throw new ConditionRuntimeError(`cannot access field [${String(k)}] of a null value`);
  }
  if (typeof target === 'object' && !Array.isArray(target) && !(target instanceof Date)) {
    const name = typeof k === 'string' ? k : String(k);
    return Object.prototype.hasOwnProperty.call(target, name) ? (target as Record<string, unknown>)[name] ?? null : null;
  }
  if (Array.isArray(target)) {
    if (typeof k !== 'number' || !Number.isInteger(k)) throw new ConditionRuntimeError(`cannot index a list with [${String(k)}]`);
    if (k < 0 || k >= target.length) throw new ConditionRuntimeError(`index [${k}] out of bounds for length [${target.length}]`);
    return target[k];
  }
  throw new ConditionRuntimeError(`cannot access field [${String(k)}] of type [${javaTypeName(target)}]`);
}

/** `ctx.<root>.<rest...>` with constant keys, walked by one plain function (a direct, inlinable call). */
interface CtxPath {
  /** 0: a source field, 1: `_ingest`, 2: `_source`, 3: a metadata field. */
  readonly kind: 0 | 1 | 2 | 3;
  readonly root: string;
  readonly rest: ReadonlyArray<string | number>;
  readonly nullSafe: readonly boolean[];
  /** The last value read, valid while the document's epoch is `epoch` (conditions never write). */
  epoch: number;
  value: unknown;
}

/** Ctx paths by the Eval that reads them, so `path == 'literal'` can fuse into one closure. */
const CTX_PATHS = new WeakMap<Eval, CtxPath>();
/**
 * One CtxPath per distinct path text, shared by every condition: pipelines test the same fields in
 * long runs of processors (`ctx.event?.module == ...`), and while those are skipped the document does
 * not change, so each field is walked once per epoch. Bounded by the conditions ever compiled.
 */
const SHARED_PATHS = new Map<string, CtxPath>();

function readCtxPath(doc: IngestDocument, path: CtxPath): unknown {
  if (path.epoch === doc.epoch) return path.value;
  let target: unknown;
  switch (path.kind) {
    case 0: {
      const source = doc.source;
      target = Object.prototype.hasOwnProperty.call(source, path.root) ? source[path.root] : null;
      break;
    }
    case 1:
      target = doc.ingest;
      break;
    case 2:
      target = doc.source;
      break;
    default:
      target = doc.meta[path.root] ?? null;
  }
  const { rest, nullSafe } = path;
  for (let i = 0; i < rest.length; i++) {
    const k = rest[i]!;
    // readMember's common case inline: a map read by a string key.
    if (typeof k === 'string' && typeof target === 'object' && target !== null && !Array.isArray(target) && !(target instanceof Date)) {
      target = Object.prototype.hasOwnProperty.call(target, k) ? (target as Record<string, unknown>)[k] ?? null : null;
    } else target = readMember(target, k, nullSafe[i]!);
  }
  path.value = target;
  path.epoch = doc.epoch;
  return target;
}

/** The CtxPath of `ctx.<keys...>`, one per distinct path text (see SHARED_PATHS). */
function sharedCtxPath(keys: ReadonlyArray<string | number>, nullSafe: readonly boolean[]): CtxPath {
  const root = String(keys[0]);
  const text = keys.map((k, i) => `${nullSafe[i] ? '?' : ''}[${typeof k}:${String(k)}]`).join('');
  let path = SHARED_PATHS.get(text);
  if (path === undefined) {
    path = {
      kind: root === '_ingest' ? 1 : root === '_source' ? 2 : METADATA_FIELDS.has(root) ? 3 : 0,
      root,
      rest: keys.slice(1),
      nullSafe: nullSafe.slice(1),
      epoch: 0,
      value: undefined,
    };
    SHARED_PATHS.set(text, path);
  }
  return path;
}

/** A chain of constant-key member accesses on `base`, walked in one closure. */
function fieldPath(base: Eval, keys: ReadonlyArray<string | number>, nullSafe: readonly boolean[]): Eval {
  if (base === CTX_ROOT) {
    const shared = sharedCtxPath(keys, nullSafe);
    const read: Eval = (doc) => readCtxPath(doc, shared);
    CTX_PATHS.set(read, shared);
    return read;
  }
  const n = keys.length;
  return (doc) => {
    let target = base(doc);
    for (let i = 0; i < n; i++) {
      const k = keys[i]!;
      target = target === CTX ? readRoot(doc, String(k)) : readMember(target, k, nullSafe[i]!);
    }
    return target;
  };
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
  const argCount = args.length;
  return (doc) => {
    let target = base(doc);
    if (target === CTX) target = ctxAsMap(doc);
    if (target === null || target === undefined) {
      if (nullSafe) return null;
      throw new ConditionRuntimeError(`cannot call [${name}()] on a null value`);
    }
    // Every argument is evaluated (in order) even when unused, as before; no per-call arrays or closures.
    let arg: unknown;
    for (let i = 0; i < argCount; i++) {
      const value = args[i]!(doc);
      if (i === 0) arg = value;
    }
    if (typeof target === 'string') {
      switch (name) {
        case 'contains':
          return typeof arg === 'string' ? target.includes(arg) : methodNotFound(name, argCount, target);
        case 'startsWith':
          return typeof arg === 'string' ? target.startsWith(arg) : methodNotFound(name, argCount, target);
        case 'endsWith':
          return typeof arg === 'string' ? target.endsWith(arg) : methodNotFound(name, argCount, target);
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
      return methodNotFound(name, argCount, target);
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
          return typeof arg === 'number' && arg >= 0 && arg < target.length ? target[arg] : methodNotFound(name, argCount, target);
      }
      return methodNotFound(name, argCount, target);
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
      return methodNotFound(name, argCount, target);
    }
    return methodNotFound(name, argCount, target);
  };
}

function methodNotFound(name: string, argCount: number, target: unknown): never {
  throw new ConditionRuntimeError(`method [${name}/${argCount}] not found for type [${javaTypeName(target)}]`);
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

/**
 * `l == r` / `l != r`. Against a scalar literal, painlessEquals reduces to `===` (with a missing
 * value read as null), so that common case skips deepEqual. The literal side is still evaluated
 * in source order, which for a constant has no effect.
 */
function equalsEval(l: Eval, r: Eval, negate: boolean): Eval {
  const constant = LITERALS.has(r) ? r : LITERALS.has(l) ? l : undefined;
  if (constant !== undefined) {
    const value = LITERALS.get(constant);
    const other = constant === r ? l : r;
    const path = CTX_PATHS.get(other);
    if (path) {
      const fused = boolean(
        negate
          ? (doc) => {
              const v = readCtxPath(doc, path);
              return (v === undefined ? null : v) !== value;
            }
          : (doc) => {
              const v = readCtxPath(doc, path);
              return (v === undefined ? null : v) === value;
            },
      );
      FUSED.set(fused, { kind: negate ? Fused.NotEquals : Fused.Equals, path, value: value ?? null, type: undefined });
      return fused;
    }
    return boolean(negate
      ? (doc) => {
          const v = other(doc);
          return (v === undefined ? null : v) !== value;
        }
      : (doc) => {
          const v = other(doc);
          return (v === undefined ? null : v) === value;
        });
  }
  return boolean(negate ? (doc) => !painlessEquals(l(doc), r(doc)) : (doc) => painlessEquals(l(doc), r(doc)));
}

/** Evals that always yield a boolean: their callers need no type check. */
const BOOLEANS = new WeakSet<Eval>();
function boolean(e: Eval): Eval {
  BOOLEANS.add(e);
  return e;
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

/**
 * One top-level conjunct of a condition (`a` in `a && b && c`), compiled as a condition of its own: it
 * returns a boolean or throws (also when it is not a boolean). On a throw the runtime evaluates the
 * processor's whole condition instead, so the error is the one the whole condition gives.
 */
export interface Conjunct {
  /** Normalised text (tokens joined by one space): equal keys mean the same expression. */
  readonly key: string;
  readonly test: Condition;
}

/** Top-level `&&` operands of a condition; the whole condition as one conjunct when it is not a conjunction. */
function splitConjuncts(tokens: Token[]): Token[][] {
  const parts: Token[][] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'op') continue;
    if (t.text === '(' || t.text === '[') depth++;
    else if (t.text === ')' || t.text === ']') depth--;
    else if (depth === 0 && t.text === '||') return [tokens];
    else if (depth === 0 && t.text === '&&') {
      parts.push(tokens.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(tokens.slice(start));
  return parts;
}

/**
 * A condition and its top-level conjuncts. `a && b && c` is true exactly when a, b and c are, evaluated
 * left to right, so a runner may test the conjuncts one by one (and skip every processor whose condition
 * starts with a conjunct found false); whenever a conjunct throws or is not a boolean, it must fall back
 * to `condition`, which fails with the message the whole condition gives.
 */
export function compileConditionChain(source: string): { condition: Condition; conjuncts: readonly Conjunct[] } {
  const condition = compileCondition(source);
  const parts = splitConjuncts(tokenize(source));
  const conjuncts = parts.map((part): Conjunct => {
    // The tokens' texts joined by spaces tokenize back to the same tokens (string tokens keep their quotes).
    const key = part.map((t) => t.text).join(' ');
    return { key, test: parts.length === 1 ? condition : compileCondition(key) };
  });
  return { condition, conjuncts };
}

/**
 * The conjunct `ctx.<root> instanceof Map` (same key, hence the same memo slot and group, as that text in a
 * condition), for the compiler's implicit guards (see implicitGuard in compile.ts). `root` must be a plain
 * source key: an identifier, not `_ingest`, `_source` or a metadata field.
 */
export function rootIsMap(root: string): Conjunct {
  const test = compileCondition(`ctx.${root} instanceof Map`);
  return { key: `ctx . ${root} instanceof Map`, test };
}

/**
 * The shapes most conditions have (`ctx.a?.b == 'x'`, `!= 'x'`, `ctx.a instanceof Map`,
 * `!(ctx.a instanceof Map)`): the memoised closure below evaluates them inline, one call less.
 */
const enum Fused {
  None,
  Equals,
  NotEquals,
  Type,
  NotType,
}
interface FusedShape {
  kind: Fused;
  path: CtxPath;
  value: string | number | boolean | null;
  type: ((v: unknown) => boolean) | undefined;
}
const FUSED = new WeakMap<Eval, FusedShape>();

/**
 * A condition's one closure: the result for the document's epoch (see IngestDocument.epoch), else the
 * evaluation. One function for every condition keeps the runtime's call site monomorphic, and the cache
 * lives in the closure itself (no separate object to load).
 */
function memoCondition(shape: FusedShape | undefined, check: Condition): Condition {
  let epoch = 0;
  let cached = false;
  const kind = shape ? shape.kind : Fused.None;
  const path = shape?.path;
  const value = shape ? shape.value : null;
  const type = shape?.type;
  return (doc) => {
    if (epoch === doc.epoch) return cached;
    let result: boolean;
    if (kind === Fused.None) result = check(doc);
    else {
      const v = readCtxPath(doc, path!);
      if (kind === Fused.Type) result = type!(v);
      else if (kind === Fused.NotType) result = !type!(v);
      else result = ((v === undefined ? null : v) === value) === (kind === Fused.Equals);
    }
    cached = result;
    epoch = doc.epoch;
    return result;
  };
}

/**
 * Compiled conditions, one per text, shared by every processor (and conjunct) with that text: pipelines test
 * the same conditions in long runs of processors, and while those are skipped the document does not change,
 * so each is evaluated once per epoch. Keyed by the normalised tokens when the expression is boolean-typed,
 * else by the exact source (the type error quotes it). Bounded by the conditions ever compiled.
 */
const CONDITIONS = new Map<string, Condition>();

export function compileCondition(source: string): Condition {
  const tokens = tokenize(source);
  const key = tokens.map((t) => t.text).join(' ');
  const known = CONDITIONS.get(key) ?? CONDITIONS.get(`\u0000${source}`);
  if (known) return known;
  const evaluate = new Parser(tokens, source).parse();
  if (BOOLEANS.has(evaluate)) {
    const condition = memoCondition(FUSED.get(evaluate), evaluate as Condition);
    CONDITIONS.set(key, condition);
    return condition;
  }
  const condition = memoCondition(undefined, (doc) => {
    const result = evaluate(doc);
    if (typeof result !== 'boolean') throw new ConditionRuntimeError(`condition [${source}] must return a boolean, got [${javaTypeName(result)}]`);
    return result;
  });
  CONDITIONS.set(`\u0000${source}`, condition);
  return condition;
}
