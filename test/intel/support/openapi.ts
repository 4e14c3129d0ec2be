import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type Schema = Record<string, unknown>;
const spec = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'stubs', 'misp', 'openapi-subset.json'), 'utf8')) as {
  operations: Record<string, { path: string; method: string; schema: Schema }>;
  schemas: Record<string, Schema>;
};

function resolve(s: Schema): Schema {
  const ref = s.$ref;
  if (typeof ref === 'string') return resolve(spec.schemas[ref.replace('#/components/schemas/', '')] ?? {});
  return s;
}

/**
 * Checks a value against an OpenAPI 3.0 schema (the subset MISP's spec uses: type, properties, items,
 * enum, pattern, min/max, maxLength, oneOf/anyOf, nullable). Returns the problems, [] when it conforms.
 */
function check(value: unknown, schema: Schema, at: string, out: string[]): void {
  const s = resolve(schema);
  if (value === null && s.nullable) return;
  for (const key of ['oneOf', 'anyOf'] as const) {
    const alts = s[key] as Schema[] | undefined;
    if (alts) {
      const ok = alts.some((alt) => {
        const probs: string[] = [];
        check(value, alt, at, probs);
        return probs.length === 0;
      });
      if (!ok) out.push(`${at}: matches none of ${key}`);
      return;
    }
  }
  const type = s.type as string | undefined;
  const actual = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  if (type === 'integer') {
    if (!Number.isInteger(value)) out.push(`${at}: expected integer, got ${actual}`);
  } else if (type && type !== actual) {
    out.push(`${at}: expected ${type}, got ${actual}`);
    return;
  }
  if (Array.isArray(s.enum) && !s.enum.includes(value)) out.push(`${at}: ${JSON.stringify(value)} not in enum`);
  if (typeof value === 'string') {
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern).test(value)) out.push(`${at}: ${JSON.stringify(value)} does not match ${s.pattern}`);
    if (typeof s.maxLength === 'number' && value.length > s.maxLength) out.push(`${at}: longer than ${s.maxLength}`);
  }
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) out.push(`${at}: below ${s.minimum}`);
    if (typeof s.maximum === 'number' && value > s.maximum) out.push(`${at}: above ${s.maximum}`);
  }
  if (actual === 'object' && s.properties) {
    const props = s.properties as Record<string, Schema>;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const p = props[k];
      if (!p) {
        if (s.additionalProperties === false) out.push(`${at}.${k}: not in the schema`);
        else out.push(`${at}.${k}: not a documented property`);
        continue;
      }
      check(v, p, `${at}.${k}`, out);
    }
    for (const req of (s.required as string[] | undefined) ?? []) if (!(req in (value as object))) out.push(`${at}.${req}: required`);
  }
  if (actual === 'array' && s.items) (value as unknown[]).forEach((v, i) => check(v, s.items as Schema, `${at}[${i}]`, out));
}

export function validateMispRequest(operation: 'restSearchAttributes' | 'addSightingByValue' | 'addEvent' | 'addAttribute', body: unknown): string[] {
  const op = spec.operations[operation];
  if (!op) throw new Error(`operation ${operation} not in the fixture`);
  const out: string[] = [];
  check(body, op.schema, operation, out);
  return out;
}

export function mispOperationPath(operation: string): string | undefined {
  return spec.operations[operation]?.path;
}
