import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { AdvisoryStore, CveStore, readFeedState, syncFeed } from '../../src/intel/index.ts';
import { nvdItem, writeNvdFeedFile } from '../stubs/nvd/generate.ts';
import { startNvdStub, type NvdStub } from '../stubs/nvd/server.ts';
import { intelTestEnv, type IntelTestEnv } from './support/setup.ts';

let env: IntelTestEnv;
let nvd: NvdStub;
before(async () => {
  env = await intelTestEnv({ NVD_API_KEY: 'nvd-key' });
  nvd = await startNvdStub({ apiKey: 'nvd-key' });
});
after(async () => {
  await nvd.close();
  await env.client.indices.delete({ index: [env.rt.cveIndex as string, env.rt.advisoryIndex as string], ignore_unavailable: true });
});

const cves = () => new CveStore(env.client, env.rt.cveIndex);

test('NVD API 2.0: windows of at most 120 days, paged, apiKey header; CVSS v3.1/v4, CWE and CPE ranges stored', async () => {
  const now = new Date('2024-07-01T00:00:00Z');
  const feed = env.feed({ name: 'nvd', kind: 'nvd', url: `${nvd.url}/rest/json/cves/2.0`, auth: { env: 'NVD_API_KEY' }, nvd: { results_per_page: 10, initial_days: 300, window_ms: 50, requests_per_window: 50 } });
  const r = await syncFeed(env.rt, feed, now);
  assert.equal(r.result, 'ok', r.error);
  assert.equal(r.counts.added, 25);
  const qs = nvd.requests.filter((q) => q.path === '/rest/json/cves/2.0');
  for (const q of qs) {
    const span = Date.parse(q.query.get('lastModEndDate') ?? '') - Date.parse(q.query.get('lastModStartDate') ?? '');
    assert.ok(span <= 120 * 86_400_000, 'window ≤ 120 days');
    assert.equal(q.headers.apikey, 'nvd-key');
    assert.equal(q.query.get('resultsPerPage'), '10');
  }
  assert.ok(qs.some((q) => q.query.get('startIndex') === '10'), 'paged by startIndex');
  assert.equal((await readFeedState(env.client, env.namespace, 'nvd'))?.cursor, now.toISOString());
  await cves().refresh();
  const c = await cves().get('CVE-2024-10003');
  assert.equal(c?.cvss?.v31?.baseScore, 9.8, 'the Primary v3.1 metric');
  assert.equal(c?.cvss?.v40?.baseScore, 9.3);
  assert.equal(c?.score, 9.3);
  assert.deepEqual(c?.cwe, ['CWE-787']);
  const range = c?.cpeMatch?.[0];
  assert.equal(range?.vendor, 'openbsd');
  assert.equal(range?.product, 'openssh');
  assert.equal(range?.versionStartIncluding, '3.0.0');
  assert.equal(range?.versionEndExcluding, '3.3.0');
  const found = [];
  for await (const x of cves().byProducts([{ vendor: 'openbsd', product: 'openssh' }])) found.push(x.id);
  assert.equal(found.length, 5);
});

test('NVD: an error mid-window keeps the cursor at the last window fully stored', async () => {
  const now = new Date('2024-07-01T00:00:00Z');
  const feed = env.feed({ name: 'nvd_fail', kind: 'nvd', url: `${nvd.url}/rest/json/cves/2.0`, nvd: { results_per_page: 5, initial_days: 300, window_days: 100, window_ms: 10, requests_per_window: 10 } });
  const before = nvd.requests.length;
  const timer = setInterval(() => {
    if (nvd.requests.length - before >= 3) nvd.fault = '500';
  }, 1);
  const r = await syncFeed(env.rt, feed, now);
  clearInterval(timer);
  nvd.fault = 'none';
  assert.equal(r.result, 'error');
  const state = await readFeedState(env.client, env.namespace, 'nvd_fail');
  // Windows: [t-300d, t-200d] (nothing modified then → one request), [t-200d, t-100d] (paged, fails on page 3).
  assert.equal(state?.cursor, new Date(now.getTime() - 200 * 86_400_000).toISOString());
});

test('NVD JSON 2.0 feed files (gzip) stream in; malformed items are counted; KEV joins on, in either order', async () => {
  const plain = join(env.tmp, 'nvdcve-2.0-2024.json');
  await writeNvdFeedFile(plain, 300, { malformedEvery: 100 });
  const gz = `${plain}.gz`;
  await pipeline(createReadStream(plain), createGzip(), createWriteStream(gz));
  // KEV first: the catalog names a CVE the files do not have yet (a stub document), and one they will bring.
  const kev = await syncFeed(env.rt, env.feed({ name: 'kev', kind: 'cisa_kev', url: `${nvd.url}/kev.json` }));
  assert.equal(kev.result, 'ok', kev.error);
  assert.equal(kev.counts.rejected, 1);
  const r = await syncFeed(env.rt, env.feed({ name: 'nvd_files', kind: 'nvd_files', url: gz, batch_size: 50 }));
  assert.equal(r.result, 'ok', r.error);
  assert.equal(r.counts.rejected, 3);
  await cves().refresh();
  const joined = await cves().get('CVE-2024-10001');
  assert.equal(joined?.kev?.dateAdded, '2024-02-01');
  assert.equal(joined?.kev?.knownRansomware, true);
  assert.equal(joined?.cvss?.v31?.baseScore, 9.8, 'NVD data kept beside KEV');
  const log4j = await cves().get('CVE-2021-44228');
  assert.equal(log4j?.kev?.dueDate, '2021-12-24');
  const counts = await cves().count();
  assert.ok(counts.kev >= 3);
});

test('RSS and Atom advisories are stored with the CVE ids they mention', async () => {
  const rss = await syncFeed(env.rt, env.feed({ name: 'vendor_rss', kind: 'rss', url: `${nvd.url}/advisories.rss` }));
  assert.equal(rss.result, 'ok', rss.error);
  assert.equal(rss.counts.added, 2);
  const atom = await syncFeed(env.rt, env.feed({ name: 'cert_atom', kind: 'rss', url: `${nvd.url}/advisories.atom` }));
  assert.equal(atom.counts.added, 1);
  const again = await syncFeed(env.rt, env.feed({ name: 'vendor_rss', kind: 'rss', url: `${nvd.url}/advisories.rss` }));
  assert.equal(again.counts.added, 0);
  const store = new AdvisoryStore(env.client, env.rt.advisoryIndex);
  await store.refresh();
  const items = await store.byCve('CVE-2024-10006');
  assert.equal(items.length, 1);
  assert.deepEqual(items[0]?.cves, ['CVE-2024-10001', 'CVE-2024-10006']);
  assert.equal((await store.byCve('CVE-2024-10003'))[0]?.link, 'https://cert.example.org/a/1');
});

test('nvdItem fixtures carry the API 2.0 shape', () => {
  const item = nvdItem(1) as { cve: { id: string } };
  assert.match(item.cve.id, /^CVE-2024-\d+$/);
});
