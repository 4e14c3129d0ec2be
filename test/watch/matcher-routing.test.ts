import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadFieldMappings, mapSigmaRule, parseSigmaRule, SigmaRuleSet } from '../../src/detection/sigma/index.ts';
import { generateEvents, generateRules } from '../../bench/_sigma-corpus.ts';
import { RULES_ROOT, packRules, ruleTestEvents } from '../alerts/support.ts';
import { basename } from 'node:path';

const mappings = loadFieldMappings(join(RULES_ROOT, 'mappings'));

/** What a rule set must report: every rule checked alone, no routing at all. */
function oneByOne(sets: SigmaRuleSet[], doc: Record<string, unknown>): string[] {
  return sets.flatMap((s) => s.match(doc).map((m) => m.ruleId));
}

test('the indexed rule set (equality, file-name, substring and OR routes) finds exactly what checking every rule alone finds', () => {
  const rules = generateRules(400, 11).map((t, i) => mapSigmaRule(parseSigmaRule(t, `g/${i}.yml`), mappings));
  const set = new SigmaRuleSet(rules);
  const routing = set.routing();
  assert.ok(routing.sub > 0 && routing.base > 0, JSON.stringify(routing));
  const singles = rules.map((r) => new SigmaRuleSet([r]));
  let matched = 0;
  for (const doc of generateEvents(3000, 12)) {
    const got = set.match(doc).map((m) => m.ruleId);
    assert.deepEqual(got, oneByOne(singles, doc));
    matched += got.length;
  }
  assert.ok(matched > 0);
});

test('the rule pack keeps firing on its positives and not on its negatives with the indexed set', () => {
  const rules = packRules();
  const set = new SigmaRuleSet(rules);
  const singles = rules.map((r) => new SigmaRuleSet([r]));
  for (const r of rules) {
    const events = ruleTestEvents(basename(r.rule.file).replace(/\.yml$/, ''));
    for (const doc of [...events.positive, ...events.negative]) assert.deepEqual(set.match(doc).map((m) => m.ruleId), oneByOne(singles, doc));
  }
});
