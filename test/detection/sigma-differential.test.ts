import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { Client } from '@elastic/elasticsearch';
import { compileMappedRuleQuery, findRuleFiles, mapSigmaRule, parseSigmaRule, ruleTestFile, SigmaRuleSet, type EcsDocument } from '../../src/detection/sigma/index.ts';
import type { MappedSigmaRule } from '../../src/detection/sigma/types.ts';
import { testClient } from '../support/elastic.ts';
import { MATCH_CASES, ruleYaml, testMappings } from './sigma-cases.ts';

/**
 * Both backends over one corpus: the corpus is indexed into a real Elasticsearch, every rule
 * runs as a query there (inexact queries confirmed with the matcher, as the watcher does) and
 * as the stream matcher here; the matched documents must be identical, rule by rule.
 */

const RULES = new URL('../../rules', import.meta.url).pathname;
const mappings = testMappings(true);

function buildRulesAndCorpus(): { rules: MappedSigmaRule[]; corpus: EcsDocument[] } {
  const rules: MappedSigmaRule[] = [];
  const corpus: EcsDocument[] = [];
  for (const c of MATCH_CASES) {
    rules.push(mapSigmaRule(parseSigmaRule(ruleYaml(c.detection, c.name), `case:${c.name}`), mappings));
    corpus.push(...c.match, ...c.noMatch);
  }
  // Correlation rules have their own differential test (test/correlation): only detection rules here.
  for (const file of findRuleFiles(RULES).filter((f) => !f.includes(`${sep}correlation${sep}`))) {
    rules.push(mapSigmaRule(parseSigmaRule(readFileSync(file, 'utf8'), file), mappings));
    const tests = parseYaml(readFileSync(ruleTestFile(file)!, 'utf8')) as { positive: EcsDocument[]; negative: EcsDocument[] };
    corpus.push(...tests.positive, ...tests.negative);
  }
  return { rules, corpus };
}

/** Explicit types for every typed field the mappings declare; every other leaf is a keyword. */
function indexMappings(): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const file of mappings.files) {
    for (const [field, type] of Object.entries(file.field_types)) {
      const t = type === 'ip' ? { type: 'ip', ignore_malformed: true } : type === 'number' ? { type: 'long', ignore_malformed: true } : type === 'boolean' ? { type: 'boolean' } : { type: 'keyword' };
      // Dotted names become nested object properties.
      const parts = field.split('.');
      let node = properties;
      for (const p of parts.slice(0, -1)) {
        const next = (node[p] ??= { properties: {} }) as { properties: Record<string, unknown> };
        node = next.properties;
      }
      node[parts[parts.length - 1]!] = t;
    }
  }
  const asKeyword = (type: string) => ({ [`${type}_as_keyword`]: { match_mapping_type: type, mapping: { type: 'keyword' } } });
  return { dynamic_templates: [asKeyword('string'), asKeyword('long'), asKeyword('double'), asKeyword('boolean')], properties };
}

describe('differential: stream matcher vs Elasticsearch query', () => {
  let client: Client;
  const index = `sigma-diff-${randomBytes(4).toString('hex')}`;
  const { rules, corpus } = buildRulesAndCorpus();

  before(async () => {
    client = testClient();
    await client.indices.create({ index, settings: { number_of_shards: 1, number_of_replicas: 0 }, mappings: indexMappings() });
    const operations = corpus.flatMap((doc, i) => [{ index: { _index: index, _id: String(i) } }, doc]);
    const res = await client.bulk({ operations, refresh: 'wait_for' });
    const failed = res.items.filter((it) => it.index?.error);
    assert.deepEqual(failed.map((f) => f.index?.error), [], 'every corpus document indexes');
  });

  after(async () => {
    await client?.indices.delete({ index, ignore_unavailable: true });
    await client?.close();
  });

  test('every rule matches exactly the same documents in both paths', async (t) => {
    const set = new SigmaRuleSet(rules);
    const streamHits = new Map<string, string[]>();
    corpus.forEach((doc, i) => {
      for (const m of set.match(doc)) {
        const key = m.file;
        streamHits.set(key, [...(streamHits.get(key) ?? []), String(i)]);
      }
    });
    let exact = 0;
    const inexact: string[] = [];
    let totalHits = 0;
    for (const mapped of rules) {
      const { query, exact: isExact } = compileMappedRuleQuery(mapped);
      const res = await client.search<EcsDocument>({ index, query, size: 1000, sort: ['_doc'] });
      let hits = res.hits.hits;
      if (isExact) exact++;
      else {
        inexact.push(mapped.rule.title);
        // The watcher's confirmation step: inexact queries are supersets; the matcher decides.
        const confirm = new SigmaRuleSet([mapped]);
        hits = hits.filter((h) => confirm.match(h._source!).length > 0);
      }
      const esIds = hits.map((h) => h._id!).sort((a, b) => Number(a) - Number(b));
      const streamIds = streamHits.get(mapped.rule.file) ?? [];
      totalHits += streamIds.length;
      assert.deepEqual(esIds, streamIds, `${mapped.rule.title} (${mapped.rule.file}): query ${JSON.stringify(query)}`);
    }
    t.diagnostic(`${rules.length} rules, ${corpus.length} documents, ${totalHits} matches; ${exact} exact queries; confirmed by the matcher: ${inexact.join('; ')}`);
    assert.ok(totalHits >= rules.length, 'the corpus exercises every rule');
    // Only fieldref/inner-anchor cases may need confirmation.
    assert.ok(exact >= rules.length - 6, `too many inexact queries: ${inexact.join(', ')}`);
  });
});
