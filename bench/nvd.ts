// `npm run bench -- nvd [count]`: CVEs/s loaded from an NVD JSON 2.0 feed file through the real feed path
// (stream parse → validate → CveStore bulk upserts), against a baseline measured in the same run: the same
// file read whole with JSON.parse and indexed with raw _bulk. Also the peak heap of each.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { configSchema } from '../src/config/index.ts';
import { feedDefinitionSchema, loadWarningLists, syncFeed } from '../src/intel/index.ts';
import { cveFromNvd } from '../src/intel/sources/index.ts';
import { loadAssetCatalog } from '../src/assets/catalog.ts';
import { writeNvdFeedFile } from '../test/stubs/nvd/generate.ts';

function sampler(): { stop(): number } {
  let peak = process.memoryUsage().heapUsed;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 20);
  return {
    stop() {
      clearInterval(t);
      return Math.max(peak, process.memoryUsage().heapUsed);
    },
  };
}

export async function run(args: string[]): Promise<object> {
  const count = Number(args[0] ?? 50_000);
  const url = process.env.ELASTICSEARCH_URL as string;
  const client = new Client({ node: url, requestTimeout: 120_000 });
  for (const a of loadAssetCatalog().system.filter((x) => ['nyx-cves', 'nyx-state', 'nyx-leases'].includes(x.name))) await client.indices.putIndexTemplate({ name: a.name, ...(a.body as object) });
  const dir = mkdtempSync(join(tmpdir(), 'nyx-bench-nvd-'));
  const file = join(dir, 'nvdcve-2.0-bench.json');
  const tag = Date.now().toString(36);
  try {
    console.error(`# writing ${count} CVEs to ${file}`);
    await writeNvdFeedFile(file, count);
    const bytes = statSync(file).size;
    const intel = configSchema.parse({}).intel;

    // Nyx: the nvd_files feed kind.
    const nyxIndex = `nyx-cves-bench-${tag}`;
    global.gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    let m = sampler();
    let t0 = performance.now();
    const r = await syncFeed(
      { client, namespace: `bench_${tag}`, intel, warnings: loadWarningLists('/nonexistent', { addresses: [], domains: [] }), env: {}, cveIndex: nyxIndex, progress: (l) => console.error(`#${l}`) },
      feedDefinitionSchema.parse({ name: 'nvd_bench', kind: 'nvd_files', url: file, batch_size: 2000, limits: { max_bytes: 4 * 1024 * 1024 * 1024 } }),
    );
    const nyxSeconds = (performance.now() - t0) / 1000;
    const nyxPeak = m.stop() - heap0;
    if (r.result !== 'ok') throw new Error(`sync failed: ${r.error}`);

    // Baseline: whole-file JSON.parse, same mapping, raw _bulk in 2000-doc batches.
    const baseIndex = `nyx-cves-bench-raw-${tag}`;
    global.gc?.();
    const heap1 = process.memoryUsage().heapUsed;
    m = sampler();
    t0 = performance.now();
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { vulnerabilities: unknown[] };
    for (let i = 0; i < doc.vulnerabilities.length; i += 2000) {
      const operations = doc.vulnerabilities.slice(i, i + 2000).flatMap((v) => {
        const c = cveFromNvd(v);
        return typeof c === 'string' ? [] : [{ index: { _index: baseIndex, _id: c.id } }, c];
      });
      await client.bulk({ operations });
    }
    const baseSeconds = (performance.now() - t0) / 1000;
    const basePeak = m.stop() - heap1;

    const result = {
      bench: 'nvd',
      cves: count,
      file_mb: Math.round(bytes / 1048576),
      nyx_cves_per_s: Math.round(count / nyxSeconds),
      baseline_cves_per_s: Math.round(count / baseSeconds),
      ratio_vs_baseline: Math.round((baseSeconds / nyxSeconds) * 100) / 100,
      nyx_peak_heap_mb: Math.round(nyxPeak / 1048576),
      baseline_peak_heap_mb: Math.round(basePeak / 1048576),
      added: r.counts.added,
    };
    console.error(`# nyx ${result.nyx_cves_per_s} CVEs/s (peak heap +${result.nyx_peak_heap_mb} MB) vs whole-file baseline ${result.baseline_cves_per_s} CVEs/s (+${result.baseline_peak_heap_mb} MB): ratio ${result.ratio_vs_baseline}`);
    await client.indices.delete({ index: [nyxIndex, baseIndex], ignore_unavailable: true });
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await client.close();
  }
}
