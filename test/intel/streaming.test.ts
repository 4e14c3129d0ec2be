import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FeedHttp } from '../../src/intel/index.ts';
import { isJsonItemError, jsonArrayItems } from '../../src/intel/parsers/json-stream.ts';
import { parseCsvLine } from '../../src/intel/parsers/text.ts';
import { writeNvdFeedFile } from '../stubs/nvd/generate.ts';

const http = (maxBytes = 1024 * 1024 * 1024) => new FeedHttp({ maxBytes, timeoutMs: 10_000, retries: 0, maxRetryAfterS: 0 });

function chunked(text: string, size: number): Readable {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  return Readable.from(parts.map((p) => Buffer.from(p)));
}

async function items(stream: Readable, path: string[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const x of jsonArrayItems(stream, { path })) out.push(x);
  return out;
}

test('the streaming JSON parser finds the array at its path, across any chunk boundary, strings with brackets included', async () => {
  const doc = JSON.stringify({ a: { vulnerabilities: 'decoy' }, note: 'x[{]"', vulnerabilities: [{ id: 1, s: 'he said "[hi]", }' }, { id: 2, nested: [1, [2, { k: '\\' }]] }, 3, 'four', null] });
  for (const size of [1, 2, 3, 7, 64, 100000]) {
    const got = await items(chunked(doc, size), ['vulnerabilities']);
    assert.deepEqual(got, [{ id: 1, s: 'he said "[hi]", }' }, { id: 2, nested: [1, [2, { k: '\\' }]] }, 3, 'four', null], `chunk size ${size}`);
  }
  assert.deepEqual(await items(chunked('[{"x":1} , {"x":2}]', 3), []), [{ x: 1 }, { x: 2 }]);
  assert.deepEqual(await items(chunked('{"result":{"items":[1,2]}}', 4), ['result', 'items']), [1, 2]);
  // Multi-byte characters split across chunks survive.
  assert.deepEqual(await items(Readable.from([Buffer.from('[{"n":"caf'), Buffer.from([0xc3]), Buffer.from([0xa9, 0x22, 0x7d, 0x5d])]), []), [{ n: 'café' }]);
  const bad = await items(chunked('{"vulnerabilities":[{"ok":1},{"broken": tru},{"ok":2}]}', 5), ['vulnerabilities']);
  assert.equal(bad.length, 3);
  assert.ok(isJsonItemError(bad[1]));
  await assert.rejects(items(chunked('{"vulnerabilities":[{"ok":1},{"cut', 5), ['vulnerabilities']), /truncated/);
});

test('CSV lines: quotes, doubled quotes, empty fields, broken quoting', () => {
  assert.deepEqual(parseCsvLine('a,"b,c","say ""hi""",,d'), ['a', 'b,c', 'say "hi"', '', 'd']);
  assert.deepEqual(parseCsvLine('x;y', ';'), ['x', 'y']);
  assert.equal(parseCsvLine('"open,never closed'), undefined);
});

test('a download over its size limit fails as too_large instead of filling memory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-limit-'));
  const file = join(dir, 'big.txt');
  writeFileSync(file, 'x'.repeat(200_000));
  await assert.rejects(http(1000).text(file), (err: Error & { failure?: string }) => err.failure === 'too_large');
  const s = await http(50_000).stream(file);
  await assert.rejects(
    (async () => {
      for await (const _ of s) void _;
    })(),
    (err: Error & { failure?: string }) => err.failure === 'too_large',
  );
  rmSync(dir, { recursive: true, force: true });
});

test('a feed file far bigger than the memory it may use streams through in bounded memory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-big-'));
  const file = join(dir, 'nvdcve-2.0-big.json');
  try {
    // About 300 MB of NVD JSON 2.0 (the size the issue names), written streamed.
    const count = Number(process.env.NYX_BIG_FEED_ITEMS ?? 170_000);
    await writeNvdFeedFile(file, count);
    const size = statSync(file).size;
    assert.ok(size > 280 * 1024 * 1024 || process.env.NYX_BIG_FEED_ITEMS !== undefined, `file is ${size} bytes`);
    global.gc?.();
    const base = process.memoryUsage();
    let peakHeap = base.heapUsed;
    let peakRss = base.rss;
    let n = 0;
    let ids = 0;
    for await (const item of jsonArrayItems(await http().stream(file), { path: ['vulnerabilities'] })) {
      n++;
      if ((item as { cve?: { id?: string } }).cve?.id) ids++;
      if (n % 2000 === 0) {
        const m = process.memoryUsage();
        peakHeap = Math.max(peakHeap, m.heapUsed);
        peakRss = Math.max(peakRss, m.rss);
      }
    }
    assert.equal(n, count);
    assert.equal(ids, count);
    const heapGrowth = peakHeap - base.heapUsed;
    const rssGrowth = peakRss - base.rss;
    t.diagnostic(`file ${Math.round(size / 1048576)} MB, ${n} items; heap growth ${Math.round(heapGrowth / 1048576)} MB, rss growth ${Math.round(rssGrowth / 1048576)} MB`);
    // Whole-file buffering would need > size bytes (and several times that once parsed); streaming keeps
    // one chunk and one item live, plus garbage the collector has not reclaimed yet.
    assert.ok(heapGrowth < 160 * 1024 * 1024, `heap grew ${Math.round(heapGrowth / 1048576)} MB for a ${Math.round(size / 1048576)} MB file`);
    assert.ok(rssGrowth < 200 * 1024 * 1024, `rss grew ${Math.round(rssGrowth / 1048576)} MB for a ${Math.round(size / 1048576)} MB file`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
