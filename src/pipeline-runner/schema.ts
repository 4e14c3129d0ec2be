/**
 * Zod schemas for ingest pipeline definitions, one strict schema per processor type, so a
 * typo in an option is caught when the pipeline is loaded, not when a document hits it.
 */
import { z } from 'zod';

/** `{ <type>: { ...options } }`, exactly one key. Options are validated by the type's schema. */
export type ProcessorDefinition = Record<string, Record<string, unknown>>;

export interface PipelineDefinition {
  description?: string;
  processors: ProcessorDefinition[];
  on_failure?: ProcessorDefinition[];
  _meta?: Record<string, unknown>;
  version?: number;
}

const processorList: z.ZodType<ProcessorDefinition[]> = z.lazy(() => z.array(processorDefinitionSchema));

const conditionSchema = z.union([
  z.string().min(1),
  z.strictObject({ source: z.string().min(1), lang: z.literal('painless').optional(), params: z.record(z.string(), z.unknown()).optional() }),
]);

const common = {
  if: conditionSchema.optional(),
  ignore_failure: z.boolean().default(false),
  on_failure: processorList.optional(),
  tag: z.string().optional(),
  description: z.string().optional(),
};

const field = z.string().min(1);
const stringList = z.array(z.string().min(1));
const oneOrMany = z.union([field, stringList.min(1)]).transform((v) => (typeof v === 'string' ? [v] : v));

const fieldOnly = z.strictObject({
  ...common,
  field,
  target_field: field.optional(),
  ignore_missing: z.boolean().default(false),
});

const hasValue = (o: { value?: unknown }) => o.value !== undefined;

export const processorSchemas = {
  append: z.strictObject({
    ...common,
    field,
    value: z.unknown().refine((v) => v !== undefined, 'value is required'),
    allow_duplicates: z.boolean().default(true),
    media_type: z.string().optional(),
  }),
  community_id: z.strictObject({
    ...common,
    source_ip: field.default('source.ip'),
    source_port: field.default('source.port'),
    destination_ip: field.default('destination.ip'),
    destination_port: field.default('destination.port'),
    iana_number: field.default('network.iana_number'),
    icmp_type: field.default('icmp.type'),
    icmp_code: field.default('icmp.code'),
    transport: field.default('network.transport'),
    target_field: field.default('network.community_id'),
    seed: z.number().int().min(0).max(65535).default(0),
    ignore_missing: z.boolean().default(true),
  }),
  convert: z.strictObject({
    ...common,
    field,
    type: z.enum(['integer', 'long', 'float', 'double', 'boolean', 'string', 'ip', 'auto']),
    target_field: field.optional(),
    ignore_missing: z.boolean().default(false),
  }),
  csv: z.strictObject({
    ...common,
    field,
    target_fields: oneOrMany,
    separator: z.string().length(1, 'separator must be a single character').default(','),
    quote: z.string().length(1, 'quote must be a single character').default('"'),
    trim: z.boolean().default(false),
    empty_value: z.unknown().optional(),
    ignore_missing: z.boolean().default(false),
  }),
  date: z.strictObject({
    ...common,
    field,
    formats: stringList.min(1),
    target_field: field.default('@timestamp'),
    timezone: z.string().min(1).optional(),
    locale: z.string().min(1).optional(),
    output_format: z.string().min(1).optional(),
  }),
  dissect: z.strictObject({
    ...common,
    field,
    pattern: z.string().min(1),
    append_separator: z.string().default(''),
    ignore_missing: z.boolean().default(false),
  }),
  dot_expander: z.strictObject({ ...common, field, path: field.optional(), override: z.boolean().default(false) }),
  drop: z.strictObject({ ...common }),
  fail: z.strictObject({ ...common, message: z.string().min(1) }),
  fingerprint: z.strictObject({
    ...common,
    fields: stringList.min(1),
    target_field: field.default('fingerprint'),
    salt: z.string().optional(),
    method: z.enum(['MD5', 'SHA-1', 'SHA-256', 'SHA-512', 'MurmurHash3']).default('SHA-1'),
    ignore_missing: z.boolean().default(false),
  }),
  foreach: z.strictObject({
    ...common,
    field,
    processor: z.lazy(() => processorDefinitionSchema),
    ignore_missing: z.boolean().default(false),
  }),
  geoip: z.strictObject({
    ...common,
    field,
    target_field: field.default('geoip'),
    database_file: z.string().optional(),
    properties: stringList.optional(),
    ignore_missing: z.boolean().default(false),
    first_only: z.boolean().default(true),
    download_database_on_pipeline_creation: z.boolean().optional(),
  }),
  grok: z.strictObject({
    ...common,
    field,
    patterns: z.array(z.string().min(1, 'a grok pattern cannot be empty')).min(1),
    pattern_definitions: z.record(z.string().min(1), z.string()).default({}),
    ecs_compatibility: z.enum(['disabled', 'v1']).optional(),
    trace_match: z.boolean().default(false),
    ignore_missing: z.boolean().default(false),
  }),
  gsub: z.strictObject({
    ...common,
    field,
    pattern: z.string().min(1),
    replacement: z.string(),
    target_field: field.optional(),
    ignore_missing: z.boolean().default(false),
  }),
  join: z.strictObject({ ...common, field, separator: z.string(), target_field: field.optional() }),
  json: z.strictObject({
    ...common,
    field,
    target_field: field.optional(),
    add_to_root: z.boolean().default(false),
    add_to_root_conflict_strategy: z.enum(['replace', 'merge']).default('replace'),
    allow_duplicate_keys: z.boolean().default(false),
    strict_json_parsing: z.boolean().default(true),
  }),
  kv: z.strictObject({
    ...common,
    field,
    field_split: z.string().min(1),
    value_split: z.string().min(1),
    target_field: field.optional(),
    include_keys: stringList.optional(),
    exclude_keys: stringList.optional(),
    ignore_missing: z.boolean().default(false),
    prefix: z.string().optional(),
    trim_key: z.string().optional(),
    trim_value: z.string().optional(),
    strip_brackets: z.boolean().default(false),
  }),
  lowercase: fieldOnly,
  network_direction: z.strictObject({
    ...common,
    source_ip: field.default('source.ip'),
    destination_ip: field.default('destination.ip'),
    target_field: field.default('network.direction'),
    internal_networks: stringList.optional(),
    internal_networks_field: field.optional(),
    ignore_missing: z.boolean().default(true),
  }),
  pipeline: z.strictObject({ ...common, name: z.string().min(1), ignore_missing_pipeline: z.boolean().default(false) }),
  remove: z.strictObject({
    ...common,
    field: oneOrMany.optional(),
    keep: oneOrMany.optional(),
    ignore_missing: z.boolean().default(false),
  }),
  rename: z.strictObject({
    ...common,
    field,
    target_field: field,
    ignore_missing: z.boolean().default(false),
    override: z.boolean().default(false),
  }),
  script: z.strictObject({
    ...common,
    lang: z.string().optional(),
    source: z.string().optional(),
    id: z.string().optional(),
    params: z.record(z.string(), z.unknown()).default({}),
  }),
  set: z.strictObject({
    ...common,
    field,
    value: z.unknown().optional(),
    copy_from: field.optional(),
    override: z.boolean().default(true),
    ignore_empty_value: z.boolean().default(false),
    media_type: z.string().optional(),
  }),
  split: z.strictObject({
    ...common,
    field,
    separator: z.string().min(1),
    target_field: field.optional(),
    ignore_missing: z.boolean().default(false),
    preserve_trailing: z.boolean().default(false),
  }),
  trim: fieldOnly,
  uppercase: fieldOnly,
  uri_parts: z.strictObject({
    ...common,
    field,
    target_field: field.default('url'),
    keep_original: z.boolean().default(true),
    remove_if_successful: z.boolean().default(false),
    ignore_missing: z.boolean().default(false),
  }),
  urldecode: fieldOnly,
  user_agent: z.strictObject({
    ...common,
    field,
    target_field: field.default('user_agent'),
    regex_file: z.string().optional(),
    properties: z.array(z.enum(['name', 'os', 'device', 'original', 'version'])).optional(),
    extract_device_type: z.boolean().default(false),
    ignore_missing: z.boolean().default(false),
  }),
} as const;

export type ProcessorType = keyof typeof processorSchemas;
export type ProcessorOptions<T extends ProcessorType> = z.output<(typeof processorSchemas)[T]>;

export function isProcessorType(type: string): type is ProcessorType {
  return Object.prototype.hasOwnProperty.call(processorSchemas, type);
}

/** Cross-option rules zod's object shape cannot express, checked after the shape passes. */
const extraChecks: Partial<Record<ProcessorType, (options: Record<string, unknown>) => string | undefined>> = {
  set: (o) =>
    hasValue(o) === (o.copy_from !== undefined) ? 'exactly one of [value] or [copy_from] is required' : undefined,
  remove: (o) => ((o.field === undefined) === (o.keep === undefined) ? 'exactly one of [field] or [keep] is required' : undefined),
  json: (o) => (o.add_to_root === true && o.target_field !== undefined ? 'cannot set [target_field] while also setting [add_to_root] to true' : undefined),
  script: (o) => (o.source === undefined && o.id === undefined ? 'one of [source] or [id] is required' : undefined),
};

export const processorDefinitionSchema: z.ZodType<ProcessorDefinition> = z
  .record(z.string(), z.unknown())
  .superRefine((value, ctx) => {
    const keys = Object.keys(value);
    if (keys.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `a processor must have exactly one type key, got [${keys.join(', ')}]` });
      return;
    }
    const type = keys[0]!;
    if (!isProcessorType(type)) {
      ctx.addIssue({ code: 'custom', path: [type], message: `unknown processor type [${type}]` });
      return;
    }
    const options = value[type] ?? {};
    const parsed = processorSchemas[type].safeParse(options);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const unknownKeys = issue.code === 'unrecognized_keys' ? `unknown option(s) [${issue.keys.join(', ')}]` : undefined;
        ctx.addIssue({ code: 'custom', path: [type, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: unknownKeys ?? issue.message });
      }
      return;
    }
    const problem = extraChecks[type]?.(options as Record<string, unknown>);
    if (problem) ctx.addIssue({ code: 'custom', path: [type], message: problem });
  }) as z.ZodType<ProcessorDefinition>;

export const pipelineDefinitionSchema: z.ZodType<PipelineDefinition> = z.strictObject({
  description: z.string().optional(),
  processors: z.array(processorDefinitionSchema),
  on_failure: z.array(processorDefinitionSchema).min(1).optional(),
  _meta: z.record(z.string(), z.unknown()).optional(),
  version: z.number().int().optional(),
});

/** `processors[3].grok.patterns[0]` from a zod issue path. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? String(part) : `.${String(part)}`;
  return out;
}
