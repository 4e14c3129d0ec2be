/**
 * Step parameters are templates over the alert: `{{source.ip}}`, `{{user.name || host.name}}`.
 * A string that is exactly one template keeps the value's type (an object, an array, a number);
 * templates inside longer strings are interpolated as text. A field the alert lacks is an error that
 * names it, so a step whose target cannot be derived is refused clearly, never run with an empty value.
 */
export class MissingFieldError extends Error {
  constructor(readonly field: string) {
    super(`the alert has no ${field}`);
    this.name = 'MissingFieldError';
  }
}

const WHOLE = /^\{\{\s*([^{}]+?)\s*\}\}$/;
const INLINE = /\{\{\s*([^{}]+?)\s*\}\}/g;

/** Reads a dotted path from nested objects, also accepting flat dotted keys ("source.ip" as one key). */
export function readField(doc: unknown, path: string): unknown {
  if (doc === null || typeof doc !== 'object') return undefined;
  const record = doc as Record<string, unknown>;
  if (path in record) return record[path];
  const parts = path.split('.');
  for (let i = parts.length - 1; i > 0; i--) {
    const head = parts.slice(0, i).join('.');
    if (head in record) {
      const found = readField(record[head], parts.slice(i).join('.'));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function present(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  return !(Array.isArray(value) && value.length === 0);
}

function resolve(expression: string, vars: Record<string, unknown>): unknown {
  const alternatives = expression.split('||').map((s) => s.trim());
  for (const alt of alternatives) {
    const literal = /^"(.*)"$/.exec(alt);
    if (literal) return literal[1];
    const value = alt.startsWith('$') ? vars[alt] : readField(vars.$alert, alt);
    if (present(value)) return value;
  }
  throw new MissingFieldError(alternatives.join(' or '));
}

function asText(value: unknown): string {
  if (Array.isArray(value)) return value.map(asText).join(',');
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Renders every string in `params` against `vars` ($alert is the alert document; other $names are context). */
export function renderParams(params: unknown, vars: Record<string, unknown>): unknown {
  if (typeof params === 'string') {
    const whole = WHOLE.exec(params);
    if (whole) return resolve(whole[1] as string, vars);
    return params.replace(INLINE, (_m, expr: string) => asText(resolve(expr, vars)));
  }
  if (Array.isArray(params)) return params.map((p) => renderParams(p, vars));
  if (params !== null && typeof params === 'object') {
    return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, renderParams(v, vars)]));
  }
  return params;
}
