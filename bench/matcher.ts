// Stream-matcher events/s per core — (a) the own rule pack, (b) 1,000+ generated Sigma rules with real rule
// shapes (or a rules directory: --rules-dir) — side by side with Elasticsearch matching the same rules against
// the same events on the same node: its percolator when the cluster has one, otherwise the rules' compiled
// queries run as one _msearch over an index holding the events (the output says which, and why).
// Args: --events N (matcher corpus, default 50000) --rules N (generated, default 1000) --rules-dir DIR
//       --es-events N (events indexed for the baseline, default 2000) --rounds N (alternating rounds, default 3)
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { loadConfig } from '../src/config/index.ts';
import { connectElastic } from '../src/elastic/connect.ts';
import { DEFAULT_RULES_ROOT } from '../src/alerts/index.ts';
import { compileMappedRuleQuery, loadFieldMappings, loadSigmaRules, mapSigmaRule, parseSigmaRule, SigmaRuleSet, type MappedSigmaRule } from '../src/detection/sigma/index.ts';
import { generateEvents, generateRules } from './_sigma-corpus.ts';

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
}
const num = (args: string[], name: string, fallback: number): number => Number(option(args, name) ?? fallback);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Events/s of one thread (= one core) matching every event against the set, and the matches found. */
function timeMatcher(set: SigmaRuleSet, events: Array<Record<string, unknown>>): { eps: number; matches: number } {
  let matches = 0;
  const t = performance.now();
  for (const e of events) matches += set.match(e).length;
  return { eps: events.length / ((performance.now() - t) / 1000), matches };
}

const BENCH_MAPPINGS = {
  dynamic_templates: [{ strings: { match_mapping_type: 'string', mapping: { type: 'keyword', ignore_above: 8191 } } }],
  properties: {
    '@timestamp': { type: 'date' },
    destination: { properties: { ip: { type: 'ip' }, port: { type: 'long' } } },
    source: { properties: { ip: { type: 'ip' }, port: { type: 'long' } } },
    process: { properties: { pid: { type: 'long' }, parent: { properties: { pid: { type: 'long' } } } } },
  },
} as const;

/** The baseline: every rule's compiled query over an index of the events (_msearch, 100 searches a request). */
async function timeMsearch(client: Client, index: string, rules: MappedSigmaRule[], events: number): Promise<{ eps: number; matches: number }> {
  const queries = rules.map((r) => compileMappedRuleQuery(r).query);
  let matches = 0;
  const t = performance.now();
  for (let i = 0; i < queries.length; i += 100) {
    const searches = queries.slice(i, i + 100).flatMap((query) => [{ index }, { query, size: 0, track_total_hits: true }]);
    const res = await client.msearch({ searches });
    for (const r of res.responses) {
      if ('error' in r) throw new Error(`msearch: ${JSON.stringify(r.error).slice(0, 200)}`);
      const total = r.hits.total;
      matches += typeof total === 'number' ? total : total?.value ?? 0;
    }
  }
  return { eps: events / ((performance.now() - t) / 1000), matches };
}

/** The percolator baseline (full clusters): rules as stored queries, events percolated 100 at a time. */
async function timePercolator(client: Client, index: string, events: Array<Record<string, unknown>>): Promise<{ eps: number; matches: number }> {
  let matches = 0;
  const t = performance.now();
  for (let i = 0; i < events.length; i += 100) {
    const res = await client.search({ index, size: 10_000, _source: false, query: { percolate: { field: 'query', documents: events.slice(i, i + 100) } } });
    for (const hit of res.hits.hits) matches += ((hit.fields?._percolator_document_slot as number[] | undefined) ?? []).length;
  }
  return { eps: events.length / ((performance.now() - t) / 1000), matches };
}

export async function run(args: string[]): Promise<object> {
  const eventCount = num(args, 'events', 50_000);
  const ruleCount = num(args, 'rules', 1000);
  const esEventCount = num(args, 'es-events', 2000);
  const rounds = num(args, 'rounds', 3);
  const rulesDir = option(args, 'rules-dir');
  const mappings = loadFieldMappings(join(DEFAULT_RULES_ROOT, 'mappings'));

  const pack = loadSigmaRules(join(DEFAULT_RULES_ROOT, 'sigma'), mappings).rules;
  let generated: MappedSigmaRule[];
  let generatedFrom: string;
  if (rulesDir) {
    const loaded = loadSigmaRules(rulesDir, mappings);
    generated = loaded.rules;
    generatedFrom = `${rulesDir} (${loaded.errors.length} rules did not load)`;
  } else {
    generated = generateRules(ruleCount).map((text, i) => mapSigmaRule(parseSigmaRule(text, `generated/${i}.yml`), mappings));
    generatedFrom = 'generated: process_creation 60%, registry_set 25%, network_connection 15%';
  }
  const events = generateEvents(eventCount);
  const esEvents = events.slice(0, esEventCount);
  const sets = { pack: new SigmaRuleSet(pack), generated: new SigmaRuleSet(generated) };
  console.error(`# ${pack.length} pack rules, ${generated.length} other rules, ${events.length} events (${esEvents.length} for Elasticsearch)`);

  const loaded = loadConfig({});
  const ctx = await connectElastic(loaded.config, loaded.secrets, process.env.ELASTICSEARCH_URL);
  const percolator = ctx.caps.percolator;
  const baseline = percolator ? 'es-percolator' : 'es-msearch (percolator unavailable: the cluster has no percolator module; the same rules run as compiled queries over an index of the same events)';
  const suffix = randomBytes(4).toString('hex');
  const eventsIndex = `nyx-bench-matcher-events-${suffix}`;
  const percIndex = (name: string): string => `nyx-bench-matcher-perc-${name}-${suffix}`;
  const results: Record<'pack' | 'generated', { matcher: number[]; es: number[]; matcherMatches: number; esMatches: number; esOnSameEvents: number }> = {
    pack: { matcher: [], es: [], matcherMatches: 0, esMatches: 0, esOnSameEvents: 0 },
    generated: { matcher: [], es: [], matcherMatches: 0, esMatches: 0, esOnSameEvents: 0 },
  };
  try {
    await ctx.client.indices.create({ index: eventsIndex, settings: { number_of_shards: 1, number_of_replicas: 0 }, mappings: BENCH_MAPPINGS as never });
    for (let i = 0; i < esEvents.length; i += 1000) {
      await ctx.client.bulk({ operations: esEvents.slice(i, i + 1000).flatMap((doc) => [{ index: { _index: eventsIndex } }, doc]) });
    }
    await ctx.client.indices.refresh({ index: eventsIndex });
    if (percolator) {
      for (const [name, rules] of [['pack', pack], ['generated', generated]] as const) {
        await ctx.client.indices.create({ index: percIndex(name), mappings: { ...(BENCH_MAPPINGS as object), properties: { ...BENCH_MAPPINGS.properties, query: { type: 'percolator' } } } as never });
        for (let i = 0; i < rules.length; i += 500) {
          await ctx.client.bulk({ operations: rules.slice(i, i + 500).flatMap((r) => [{ index: { _index: percIndex(name) } }, { query: compileMappedRuleQuery(r).query }]) });
        }
        await ctx.client.indices.refresh({ index: percIndex(name) });
      }
    }
    // Warm-up, then alternating rounds so both sides see the same machine load.
    for (const s of Object.values(sets)) timeMatcher(s, events.slice(0, 5000));
    for (let round = 0; round < rounds; round++) {
      for (const name of ['pack', 'generated'] as const) {
        const m = timeMatcher(sets[name], events);
        const e = percolator ? await timePercolator(ctx.client, percIndex(name), esEvents) : await timeMsearch(ctx.client, eventsIndex, name === 'pack' ? pack : generated, esEvents.length);
        const same = timeMatcher(sets[name], esEvents);
        results[name].matcher.push(m.eps);
        results[name].es.push(e.eps);
        results[name].matcherMatches = m.matches;
        results[name].esMatches = e.matches;
        results[name].esOnSameEvents = same.matches;
        console.error(`# round ${round + 1} ${name}: matcher ${Math.round(m.eps)} events/s, elasticsearch ${Math.round(e.eps)} events/s`);
      }
    }
  } finally {
    await ctx.client.indices.delete({ index: `nyx-bench-matcher-*-${suffix}`, ignore_unavailable: true, allow_no_indices: true } as never).catch(() => undefined);
    await ctx.client.close();
  }
  const summary = (name: 'pack' | 'generated', rules: number) => {
    const r = results[name];
    const eps = median(r.matcher);
    const es = median(r.es);
    return {
      rules,
      matcher_events_per_s_per_core: Math.round(eps),
      elasticsearch_events_per_s: Math.round(es),
      ratio: Number((eps / es).toFixed(1)),
      matches_per_event: Number((r.matcherMatches / events.length).toFixed(4)),
      // Same events, both engines: Elasticsearch may count more where a compiled query is a superset (exact: false).
      matches_on_baseline_events: { matcher: r.esOnSameEvents, elasticsearch: r.esMatches },
      routing: sets[name].routing(),
    };
  };
  const a = summary('pack', pack.length);
  const b = summary('generated', generated.length);
  return {
    benchmark: 'matcher',
    events: events.length,
    baseline,
    baseline_events: esEvents.length,
    cores: { matcher: 1, machine: cpus().length, note: 'the matcher runs on one thread; Elasticsearch uses the node’s search threads' },
    rounds,
    rules_source: generatedFrom,
    own_pack: a,
    many_rules: b,
    targets: { ratio_min: 10, events_per_s_per_core_min: 30_000 },
    met: { ratio: b.ratio >= 10, events_per_s_per_core: b.matcher_events_per_s_per_core >= 30_000 },
  };
}
