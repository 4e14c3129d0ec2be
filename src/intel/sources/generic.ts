import type { FeedMapping } from '../feeds/definitions.ts';
import { FeedError } from '../feeds/http.ts';
import type { RawIndicator } from '../normalize/index.ts';
import { isJsonItemError, jsonArrayItems } from '../parsers/json-stream.ts';
import { parseCsvLine, streamLines, valueAtPath } from '../parsers/text.ts';
import { Batcher, type FeedSource, type SourceBatch } from './types.ts';

/** Plain lists: one value per line; `#`, `;` and `//` start comments; the first token is the value. */
export const plainSource: FeedSource = async function* (ctx) {
  const stream = await ctx.http.stream(ctx.feed.url);
  const batch = new Batcher<RawIndicator>(ctx.feed.batch_size);
  let n = 0;
  for await (const line of streamLines(stream)) {
    const t = line.trim();
    if (!t || t.startsWith('#') || t.startsWith(';') || t.startsWith('//')) continue;
    if (++n > ctx.feed.limits.max_rows) break;
    batch.rows.push({ value: t.split(/[\s,;]+/)[0], type: ctx.feed.mapping?.type ?? 'auto' });
    if (batch.full) yield { kind: 'indicators', ...batch.take() };
  }
  yield { kind: 'indicators', ...batch.take() };
};

export function rowFromMapping(get: (ref: string | number) => unknown, mapping: FeedMapping): RawIndicator {
  const pick = (ref: string | number | undefined) => (ref === undefined ? undefined : get(ref));
  const type = pick(mapping.type_field);
  return {
    value: get(mapping.value),
    type: type === undefined || type === '' ? mapping.type : type,
    first_seen: pick(mapping.first_seen),
    last_seen: pick(mapping.last_seen),
    confidence: pick(mapping.confidence),
    description: pick(mapping.description),
    reference: pick(mapping.reference),
    tags: pick(mapping.tags),
    source_id: pick(mapping.id),
    tlp: pick(mapping.tlp),
    ...(typeof pick(mapping.provider) === 'string' && pick(mapping.provider) !== '' ? { provider: (pick(mapping.provider) as string).slice(0, 200) } : {}),
  };
}

/** CSV with a column mapping (names with a header row, or 0-based indices). */
export const csvSource: FeedSource = async function* (ctx) {
  const mapping = ctx.feed.mapping;
  if (!mapping) throw new FeedError('bad_payload', `feed ${ctx.feed.name}: kind csv needs a mapping`);
  const opts = ctx.feed.csv ?? { delimiter: ',', header: true, comment: '#' };
  const stream = await ctx.http.stream(ctx.feed.url);
  const batch = new Batcher<RawIndicator>(ctx.feed.batch_size);
  let header: string[] | undefined;
  let lineNo = 0;
  let rows = 0;
  for await (const line of streamLines(stream)) {
    lineNo++;
    if (!line.trim() || (opts.comment && line.startsWith(opts.comment))) continue;
    if (lineNo === 1 && /^\s*</.test(line)) throw new FeedError('html', `${ctx.feed.url.split('?')[0]} answered an HTML page instead of CSV`);
    const fields = parseCsvLine(line, opts.delimiter);
    if (!fields) {
      batch.rejected.push({ reason: `line ${lineNo}: broken CSV quoting` });
      continue;
    }
    if (opts.header && !header) {
      header = fields.map((f) => f.trim().toLowerCase());
      continue;
    }
    if (++rows > ctx.feed.limits.max_rows) break;
    const get = (ref: string | number): unknown => {
      const i = typeof ref === 'number' ? ref : header ? header.indexOf(ref.toLowerCase()) : Number(ref);
      return i >= 0 ? fields[i] : undefined;
    };
    const row = rowFromMapping(get, mapping);
    if (row.value === undefined || row.value === '') batch.rejected.push({ reason: `line ${lineNo}: no value in column ${String(mapping.value)}` });
    else batch.rows.push(row);
    if (batch.full) yield { kind: 'indicators', ...batch.take() };
  }
  yield { kind: 'indicators', ...batch.take() };
};

/** JSON with a mapping: the items array at `json.items` is streamed item by item. */
export const jsonSource: FeedSource = async function* (ctx) {
  const mapping = ctx.feed.mapping;
  if (!mapping) throw new FeedError('bad_payload', `feed ${ctx.feed.name}: kind json needs a mapping`);
  const path = (ctx.feed.json?.items ?? '').split('.').filter(Boolean);
  const stream = await ctx.http.stream(ctx.feed.url);
  yield* mappedJsonItems(jsonArrayItems(stream, { path }), ctx.feed.batch_size, ctx.feed.limits.max_rows, (item) => rowFromMapping((ref) => valueAtPath(item, ref), mapping));
};

export async function* mappedJsonItems(
  items: AsyncIterable<unknown>,
  size: number,
  maxRows: number,
  toRows: (item: unknown) => RawIndicator | RawIndicator[] | string,
): AsyncIterable<SourceBatch> {
  const batch = new Batcher<RawIndicator>(size);
  let n = 0;
  for await (const item of items) {
    if (++n > maxRows) break;
    if (isJsonItemError(item)) batch.rejected.push({ reason: item.error });
    else if (!item || typeof item !== 'object') batch.rejected.push({ reason: `item ${n - 1}: not an object` });
    else {
      const rows = toRows(item);
      if (typeof rows === 'string') batch.rejected.push({ reason: `item ${n - 1}: ${rows}` });
      else if (Array.isArray(rows)) batch.rows.push(...rows);
      else if (rows.value === undefined || rows.value === '') batch.rejected.push({ reason: `item ${n - 1}: no value` });
      else batch.rows.push(rows);
    }
    if (batch.full) yield { kind: 'indicators', ...batch.take() };
  }
  yield { kind: 'indicators', ...batch.take() };
}
