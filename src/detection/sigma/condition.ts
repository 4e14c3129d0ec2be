import type { SigmaCondition } from './types.ts';

/**
 * Sigma condition expressions. Precedence, loosest first: or, and, not, `x of`, parentheses.
 * Identifiers are resolved here (patterns expanded against the rule's search identifiers),
 * so later stages never meet an unknown name.
 */

type Token =
  | { t: 'lparen' }
  | { t: 'rparen' }
  | { t: 'and' }
  | { t: 'or' }
  | { t: 'not' }
  | { t: 'of'; quantifier: 'one' | 'all' }
  | { t: 'them' }
  | { t: 'ident'; name: string };

export class ConditionSyntaxError extends Error {}

function tokenize(text: string): Token[] {
  if (text.includes('|')) {
    throw new ConditionSyntaxError('aggregation expressions (`| count() …`) are not supported; write a Sigma correlation rule instead');
  }
  const words = text.replace(/\(/g, ' ( ').replace(/\)/g, ' ) ').trim().split(/\s+/).filter(Boolean);
  const tokens: Token[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const lower = w.toLowerCase();
    if (w === '(') tokens.push({ t: 'lparen' });
    else if (w === ')') tokens.push({ t: 'rparen' });
    else if (lower === 'and') tokens.push({ t: 'and' });
    else if (lower === 'or') tokens.push({ t: 'or' });
    else if (lower === 'not') tokens.push({ t: 'not' });
    else if (lower === 'them') tokens.push({ t: 'them' });
    else if ((lower === '1' || lower === 'all' || lower === 'any') && words[i + 1]?.toLowerCase() === 'of') {
      tokens.push({ t: 'of', quantifier: lower === 'all' ? 'all' : 'one' });
      i++;
    } else if (/^\d+$/.test(w) && words[i + 1]?.toLowerCase() === 'of') {
      throw new ConditionSyntaxError(`'${w} of' is not supported: Sigma allows '1 of' and 'all of'`);
    } else if (/^[A-Za-z0-9_*.-]+$/.test(w)) tokens.push({ t: 'ident', name: w });
    else throw new ConditionSyntaxError(`unexpected '${w}'`);
  }
  return tokens;
}

function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*')}$`);
}

export function parseSigmaCondition(text: string, identifiers: readonly string[]): SigmaCondition {
  const tokens = tokenize(text);
  if (tokens.length === 0) throw new ConditionSyntaxError('the condition is empty');
  let pos = 0;
  const known = new Set(identifiers);

  const expect = (t: Token['t']): void => {
    if (tokens[pos]?.t !== t) throw new ConditionSyntaxError(`expected ${t === 'rparen' ? "')'" : t} ${tokens[pos] ? `before '${describe(tokens[pos]!)}'` : 'at the end'}`);
    pos++;
  };

  const orExpr = (): SigmaCondition => {
    const args = [andExpr()];
    while (tokens[pos]?.t === 'or') {
      pos++;
      args.push(andExpr());
    }
    return args.length === 1 ? args[0]! : { op: 'or', args };
  };
  const andExpr = (): SigmaCondition => {
    const args = [notExpr()];
    while (tokens[pos]?.t === 'and') {
      pos++;
      args.push(notExpr());
    }
    return args.length === 1 ? args[0]! : { op: 'and', args };
  };
  const notExpr = (): SigmaCondition => {
    if (tokens[pos]?.t === 'not') {
      pos++;
      return { op: 'not', arg: notExpr() };
    }
    return primary();
  };
  const primary = (): SigmaCondition => {
    const tok = tokens[pos++];
    if (!tok) throw new ConditionSyntaxError('the condition ends too early');
    switch (tok.t) {
      case 'lparen': {
        const inner = orExpr();
        expect('rparen');
        return inner;
      }
      case 'of': {
        const target = tokens[pos++];
        let names: string[];
        if (target?.t === 'them') names = identifiers.filter((n) => !n.startsWith('_'));
        else if (target?.t === 'ident') {
          const re = globToRegExp(target.name);
          names = identifiers.filter((n) => re.test(n));
          if (names.length === 0) throw new ConditionSyntaxError(`'${target.name}' matches no search identifier`);
        } else throw new ConditionSyntaxError(`'${tok.quantifier === 'all' ? 'all' : '1'} of' needs a pattern or 'them'`);
        if (names.length === 0) throw new ConditionSyntaxError("'them' matches no search identifier");
        return { op: 'of', quantifier: tok.quantifier, names };
      }
      case 'ident':
        if (tok.name.includes('*')) throw new ConditionSyntaxError(`wildcard '${tok.name}' needs '1 of' or 'all of' in front`);
        if (!known.has(tok.name)) throw new ConditionSyntaxError(`unknown search identifier '${tok.name}'`);
        return { op: 'ref', name: tok.name };
      default:
        throw new ConditionSyntaxError(`unexpected '${describe(tok)}'`);
    }
  };

  const result = orExpr();
  if (pos < tokens.length) throw new ConditionSyntaxError(`unexpected '${describe(tokens[pos]!)}'`);
  return result;
}

function describe(tok: Token): string {
  switch (tok.t) {
    case 'lparen':
      return '(';
    case 'rparen':
      return ')';
    case 'ident':
      return tok.name;
    case 'of':
      return tok.quantifier === 'all' ? 'all of' : '1 of';
    default:
      return tok.t;
  }
}
