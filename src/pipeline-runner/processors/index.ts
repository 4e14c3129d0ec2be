/** The processor registry: one factory per supported type, keyed like the zod schemas. */
import type { ProcessorFactories } from '../processor.ts';
import { community_id, fingerprint, geoip, network_direction, user_agent } from './enrich.ts';
import { drop, fail, foreach, pipeline, script } from './flow.ts';
import { append, convert, dot_expander, gsub, join, lowercase, remove, rename, set, split, trim, uppercase, urldecode } from './mutate.ts';
import { csv, date, dissect, grok, json, kv, uri_parts } from './parse.ts';

export const processorFactories: ProcessorFactories = {
  append,
  community_id,
  convert,
  csv,
  date,
  dissect,
  dot_expander,
  drop,
  fail,
  fingerprint,
  foreach,
  geoip,
  grok,
  gsub,
  join,
  json,
  kv,
  lowercase,
  network_direction,
  pipeline,
  remove,
  rename,
  script,
  set,
  split,
  trim,
  uppercase,
  uri_parts,
  urldecode,
  user_agent,
};
