import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileRuleMatcher, parseSigmaRule, SigmaRuleSet, mapSigmaRule, readField } from '../../src/detection/sigma/index.ts';
import { MATCH_CASES, ruleYaml, testMappings } from './sigma-cases.ts';

const mappings = testMappings();

describe('stream matcher: modifiers, values and conditions', () => {
  for (const c of MATCH_CASES) {
    test(c.name, () => {
      const matcher = compileRuleMatcher(parseSigmaRule(ruleYaml(c.detection), 'case.yml'), mappings);
      c.match.forEach((doc, i) => assert.ok(matcher(doc), `should match #${i}: ${JSON.stringify(doc)}`));
      c.noMatch.forEach((doc, i) => assert.equal(matcher(doc), null, `should not match #${i}: ${JSON.stringify(doc)}`));
    });
  }
});

describe('stream matcher: robustness and evidence', () => {
  test('missing, null, object and array-of-object fields never crash', () => {
    const matcher = compileRuleMatcher(parseSigmaRule(ruleYaml("sel:\n  a.b|contains: x\n  port|gt: 3\n  src|cidr: 10.0.0.0/8\ncondition: sel"), 'r.yml'), mappings);
    for (const doc of [{}, { a: null }, { a: { b: null } }, { a: [{ b: 1 }, { b: { c: 2 } }] }, { a: 'str' }, { port: 'NaN' }, { src: 12 }]) {
      assert.equal(matcher(doc as Record<string, unknown>), null);
    }
    assert.ok(matcher({ a: [{ b: 'nope' }, { b: 'xx' }], port: '4', src: '10.0.0.1' }));
  });

  test('a match names the selections that were true', () => {
    const matcher = compileRuleMatcher(parseSigmaRule(`title: T\nid: r-1\nlevel: high\ntags: [attack.t1059]\nlogsource: {product: unittest}\ndetection:\n  a: {A: '1'}\n  b: {B: '1'}\n  condition: a or b\n`, 'r.yml'), mappings);
    assert.deepEqual(matcher({ A: '1' }), { ruleId: 'r-1', title: 'T', level: 'high', tags: ['attack.t1059'], file: 'r.yml', selections: ['a'] });
  });

  test('a rule set returns every matching rule and routes events only to candidates', () => {
    const rules = [
      "sel:\n  EventID: 1\n  Image|endswith: '\\a.exe'\ncondition: sel",
      "sel:\n  EventID: 2\ncondition: sel",
      "sel:\n  Image|endswith: '\\a.exe'\ncondition: sel",
      "sel:\n  CommandLine|contains: zzz\ncondition: sel",
    ].map((d, i) => mapSigmaRule(parseSigmaRule(ruleYaml(d, `r${i}`), `r${i}.yml`), mappings));
    const set = new SigmaRuleSet(rules);
    assert.deepEqual(set.match({ EventID: 1, Image: 'C:\\X\\A.EXE', CommandLine: 'zzz' }).map((m) => m.title), ['r0', 'r2', 'r3']);
    assert.deepEqual(set.match({ EventID: '2' }).map((m) => m.title), ['r1']);
    assert.deepEqual(set.match({}).map((m) => m.title), []);
  });

  test('readField reads nested, dotted and mixed paths', () => {
    assert.deepEqual(readField({ a: { 'b.c': [1, 'x'] }, 'a.b': { c: true } }, 'a.b.c'), ['1', 'x', 'true']);
  });
});
