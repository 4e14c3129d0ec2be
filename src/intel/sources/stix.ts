import type { RawIndicator } from '../normalize/index.ts';
import { jsonArrayItems } from '../parsers/json-stream.ts';
import { mappedJsonItems } from './generic.ts';
import type { FeedSource } from './types.ts';
import { ownValue } from '../../reserved-keys.ts';

/** The well-known TLP marking-definition ids of STIX 2.1 (TLP 1.0) and the TLP 2.0 extension. */
const TLP_MARKINGS: Record<string, string> = {
  'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9': 'WHITE',
  'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da': 'GREEN',
  'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82': 'AMBER',
  'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed': 'RED',
  'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487': 'CLEAR',
  'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb': 'GREEN',
  'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421': 'AMBER',
  'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003': 'AMBER+STRICT',
  'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1': 'RED',
};

const OBJECT_PATHS: Record<string, string> = {
  'ipv4-addr:value': 'ipv4-addr',
  'ipv6-addr:value': 'ipv6-addr',
  'domain-name:value': 'domain-name',
  'url:value': 'url',
  'email-addr:value': 'email-addr',
  "file:hashes.'sha-256'": 'sha256',
  'file:hashes.sha256': 'sha256',
  "file:hashes.'sha-1'": 'sha1',
  'file:hashes.sha1': 'sha1',
  'file:hashes.md5': 'md5',
  "file:hashes.'md5'": 'md5',
};

/**
 * Equality comparisons of a STIX pattern that name an observable we store, e.g.
 * `[ipv4-addr:value = '198.51.100.7' OR domain-name:value = 'x.test']` → two values. Other comparisons
 * (file:name, network-traffic…) are context, not indicators, and are ignored.
 */
export function stixPatternValues(pattern: string): Array<{ type: string; value: string }> | string {
  const out: Array<{ type: string; value: string }> = [];
  const re = /([a-z0-9-]+:[a-z0-9_.'-]+)\s*(=|ISSUBSET)\s*'((?:[^'\\]|\\.)*)'/gi;
  for (const m of pattern.matchAll(re)) {
    const path = (m[1] ?? '').toLowerCase();
    const type = ownValue(OBJECT_PATHS, path);
    if (!type) continue;
    out.push({ type: m[2]?.toUpperCase() === 'ISSUBSET' ? 'cidr' : type, value: (m[3] ?? '').replace(/\\(.)/g, '$1') });
  }
  return out.length ? out : `no supported observable in pattern ${pattern.slice(0, 100)}`;
}

interface StixIndicator {
  type?: string;
  id?: string;
  pattern?: string;
  pattern_type?: string;
  name?: string;
  description?: string;
  valid_from?: string;
  valid_until?: string;
  modified?: string;
  created?: string;
  revoked?: boolean;
  confidence?: number;
  labels?: string[];
  object_marking_refs?: string[];
  definition_type?: string;
  definition?: { tlp?: string };
  extensions?: Record<string, { tlp_2_0?: string }>;
}

/** STIX 2.1 bundles: `objects` streamed; indicators with STIX patterns become rows. */
export const stixSource: FeedSource = async function* (ctx) {
  const stream = await ctx.http.stream(ctx.feed.url);
  const markings = new Map(Object.entries(TLP_MARKINGS));
  yield* mappedJsonItems(jsonArrayItems(stream, { path: ['objects'] }), ctx.feed.batch_size, ctx.feed.limits.max_rows, (item) => {
    const o = item as StixIndicator;
    if (o.type === 'marking-definition' && o.id) {
      const tlp = o.definition_type === 'tlp' ? o.definition?.tlp : Object.values(o.extensions ?? {})[0]?.tlp_2_0;
      if (tlp) markings.set(o.id, tlp.toUpperCase());
      return [];
    }
    if (o.type !== 'indicator') return [];
    if (o.pattern_type && o.pattern_type !== 'stix') return `pattern_type ${o.pattern_type} is not supported`;
    if (typeof o.pattern !== 'string') return 'indicator without a pattern';
    const values = stixPatternValues(o.pattern);
    if (typeof values === 'string') return values;
    const tlp = (o.object_marking_refs ?? []).map((r) => markings.get(r)).find(Boolean);
    return values.map(
      (v): RawIndicator => ({
        value: v.value,
        type: v.type,
        confidence: o.confidence,
        tlp,
        first_seen: o.valid_from ?? o.created,
        last_seen: o.modified ?? o.valid_from,
        expires_at: o.valid_until,
        revoked: o.revoked === true,
        description: o.name ?? o.description,
        tags: o.labels,
        source_id: o.id,
      }),
    );
  });
};
