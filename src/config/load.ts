import { readFileSync, existsSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { NyxError } from '../errors.ts';
import { isReservedKey, ownValue, refuseReservedKeys, RESERVED_KEYS_RULE } from '../reserved-keys.ts';
import { configSchema, type NyxConfig, type Secrets } from './schema.ts';

/** Keys that hold secrets: rejected in YAML, so a committed nyx.yml never leaks one. */
const SECRET_KEYS = /^(password|api_key|apikey|token|secret|auth_key|key)$/i;

/** Well-known env names (the ones the Elastic tools use) mapped onto config paths. */
const ENV_ALIASES: Record<string, string[]> = {
  ELASTICSEARCH_URL: ['elasticsearch', 'url'],
  ELASTICSEARCH_USERNAME: ['elasticsearch', 'username'],
  ELASTICSEARCH_CA_FILE: ['elasticsearch', 'ca_file'],
  ELASTICSEARCH_CA_FINGERPRINT: ['elasticsearch', 'ca_fingerprint'],
  ELASTIC_CLOUD_ID: ['elasticsearch', 'cloud_id'],
  NYX_NAMESPACE: ['namespace'],
  NYX_LOG_LEVEL: ['logging', 'level'],
};

export interface LoadedConfig {
  config: NyxConfig;
  secrets: Secrets;
  /** The file read, or undefined when none exists (defaults + env only). */
  file?: string;
}

export interface LoadConfigOptions {
  path?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * The one config loader: YAML file (default nyx.yml, or NYX_CONFIG), then env overrides
 * (ELASTICSEARCH_URL and friends, or any key as NYX__SECTION__KEY), validated with zod.
 * A wrong value fails with one line naming the key and what is expected.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const explicit = options.path ?? env.NYX_CONFIG;
  const file = explicit ?? 'nyx.yml';
  let raw: unknown = {};
  const exists = existsSync(file);
  if (!exists && explicit) throw new NyxError(`config file ${file} not found`);
  if (exists) raw = readYaml(file);
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new NyxError(`${file}: expected a mapping at the top level`);
  refuseReservedKeys(raw, file);
  rejectSecrets(raw as Record<string, unknown>, file, []);
  const merged = applyEnv(structuredClone(raw) as Record<string, unknown>, env);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) throw new NyxError(formatConfigIssue(parsed.error.issues[0], exists ? file : 'config'));
  return { config: parsed.data, secrets: readSecrets(env), ...(exists ? { file } : {}) };
}

function readYaml(file: string): unknown {
  try {
    return parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      throw new NyxError(`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: invalid YAML: ${err.message.split('\n')[0]}`);
    }
    throw new NyxError(`${file}: cannot read: ${(err as Error).message}`);
  }
}

function rejectSecrets(node: Record<string, unknown>, file: string, path: string[]): void {
  for (const [key, value] of Object.entries(node)) {
    if (SECRET_KEYS.test(key) && value !== undefined && value !== null && typeof value !== 'object') {
      const at = [...path, key].join('.');
      throw new NyxError(
        `${file}: ${at}: secrets are not read from YAML`,
        `set ${secretEnvName(at)} or ${secretEnvName(at)}_FILE in the environment instead`,
      );
    }
    if (value && typeof value === 'object' && !Array.isArray(value)) rejectSecrets(value as Record<string, unknown>, file, [...path, key]);
  }
}

function secretEnvName(path: string): string {
  if (path === 'elasticsearch.password') return 'ELASTICSEARCH_PASSWORD';
  if (path === 'elasticsearch.api_key' || path === 'elasticsearch.apikey') return 'ELASTICSEARCH_API_KEY';
  return `NYX_${path.replace(/\./g, '_').toUpperCase()}`;
}

/** Writes `value` at `path` (no reserved key: applyEnv refused those), creating maps; only own keys are walked. */
function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = ownValue(node, key);
    if (!next || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

/** Env values are strings; numbers and booleans are coerced so the schema sees the intended type. */
function coerceEnvValue(value: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (value === 'true' || value === 'false') return value === 'true';
  return value;
}

function applyEnv(target: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  for (const [name, path] of Object.entries(ENV_ALIASES)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    // Several nodes of one cluster: ELASTICSEARCH_URL=http://a:9200,http://b:9200
    if (name === 'ELASTICSEARCH_URL') setPath(target, path, value.includes(',') ? value.split(',').map((u) => u.trim()).filter(Boolean) : value);
    else setPath(target, path, coerceEnvValue(value));
  }
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('NYX__') || value === undefined) continue;
    const path = name.slice(5).toLowerCase().split('__').filter(Boolean);
    const reserved = path.find(isReservedKey);
    if (reserved !== undefined) throw new NyxError(`${name}: ${path.join('.')}: ${RESERVED_KEYS_RULE}`);
    if (path.length) setPath(target, path, coerceEnvValue(value));
  }
  return target;
}

/** A secret from env NAME, or from the file NAME_FILE names; never from config files. Errors name the variable, never the content. */
export function readEnvSecret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const direct = env[name];
  if (direct) return direct;
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    // Name the variable, never the content.
    throw new NyxError(`${name}_FILE: cannot read the file ${file}`);
  }
}

function readSecrets(env: NodeJS.ProcessEnv): Secrets {
  const secrets: Secrets = {};
  const apiKey = readEnvSecret(env, 'ELASTICSEARCH_API_KEY');
  const password = readEnvSecret(env, 'ELASTICSEARCH_PASSWORD');
  if (apiKey) secrets.elasticsearchApiKey = apiKey;
  if (password) secrets.elasticsearchPassword = password;
  const operatorToken = readEnvSecret(env, 'NYX_OPERATOR_TOKEN');
  if (operatorToken) secrets.operatorToken = operatorToken;
  return secrets;
}

export function formatConfigIssue(issue: z.core.$ZodIssue | undefined, where: string): string {
  if (!issue) return `${where}: invalid configuration`;
  const key = issue.path.map(String).join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') return `${where}: ${[key, issue.keys[0]].filter((k) => k !== '(top level)').join('.')}: unknown key`;
  return `${where}: ${key}: ${issue.message}`;
}
