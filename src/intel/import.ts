import { resolve } from 'node:path';
import { feedDefinitionSchema } from './feeds/definitions.ts';
import { syncFeed, type FeedRunResult, type FeedRuntime } from './feeds/runner.ts';

export type ImportFormat = 'json' | 'csv';

export interface ImportOptions {
  format: ImportFormat;
  /** The feed the rows are stored under (default `analyst`): logs-ti_nyx.<feed>-<namespace>. */
  feed?: string;
  confidence?: number;
  expiryDays?: number;
}

export type ImportResult = FeedRunResult;

/**
 * An analyst's own list: JSON (an array of {type, value, source, confidence, tlp, description}) or CSV
 * with a header naming those columns. It runs through the same validation and store as any feed.
 */
export async function importIndicators(rt: FeedRuntime, file: string, options: ImportOptions): Promise<ImportResult> {
  const feed = feedDefinitionSchema.parse({
    name: options.feed ?? 'analyst',
    kind: options.format,
    url: resolve(file),
    provider: 'analyst',
    confidence: options.confidence ?? 70,
    expiry_days: options.expiryDays ?? 90,
    mapping: { value: 'value', type: 'auto', type_field: 'type', provider: 'source', confidence: 'confidence', tlp: 'tlp', description: 'description', first_seen: 'first_seen', last_seen: 'last_seen' },
    ...(options.format === 'csv' ? { csv: { header: true } } : { json: { items: '' } }),
  });
  return syncFeed(rt, feed);
}
