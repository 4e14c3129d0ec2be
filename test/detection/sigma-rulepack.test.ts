import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { findRuleFiles, loadFieldMappings, runRuleSelfTests, testRules, validateRules } from '../../src/detection/sigma/index.ts';

const RULES = new URL('../../rules', import.meta.url).pathname;
const mappings = loadFieldMappings(join(RULES, 'mappings'));

describe('rule pack (rules/)', () => {
  test('has 25+ rules, every one with ATT&CK tags, a level and no load errors', () => {
    const result = validateRules(RULES, mappings);
    assert.ok(result.files >= 25, `only ${result.files} rules`);
    assert.deepEqual(result.issues.filter((i) => i.severity === 'error'), []);
    assert.equal(result.valid, result.files);
  });

  test('every rule fires on each of its positive events and on none of its negatives', () => {
    const result = runRuleSelfTests(RULES, mappings);
    assert.deepEqual(result.failures, []);
    assert.ok(result.events >= result.rules * 2);
  });

  test('validateRules reports unknown modifiers, dangerous regexes, unmapped fields and missing tags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nyx-sigma-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const head = 'logsource: {product: windows, category: process_creation}\nlevel: low\n';
    writeFileSync(join(dir, 'unknown_mod.yml'), `title: a\ntags: [attack.execution, attack.t1059]\n${head}detection:\n  s:\n    Image|endswith|bogus: x\n  condition: s\n`);
    writeFileSync(join(dir, 'redos.yml'), `title: b\ntags: [attack.execution, attack.t1059]\n${head}detection:\n  s:\n    CommandLine|re: '(a|aa)+$'\n  condition: s\n`);
    writeFileSync(join(dir, 'no_tags.yml'), `title: c\n${head}detection:\n  s:\n    Image: x\n  condition: s\n`);
    writeFileSync(join(dir, 'fallback.yml'), `title: d\ntags: [attack.execution, attack.t1059]\n${head}detection:\n  s:\n    SomeOddField: x\n  condition: s\n`);
    const result = validateRules(dir, mappings);
    const byFile = (f: string) => result.issues.filter((i) => i.file.endsWith(f)).map((i) => `${i.severity}:${i.line ?? ''}:${i.reason}`);
    assert.match(byFile('unknown_mod.yml').join('|'), /error:7:field 'Image': unknown modifier 'bogus'/);
    assert.match(byFile('redos.yml').join('|'), /error:7:.*backtrack catastrophically/);
    assert.match(byFile('no_tags.yml').join('|'), /error::no MITRE ATT&CK technique tag/);
    assert.match(byFile('fallback.yml').join('|'), /warning::field 'SomeOddField' has no explicit mapping/);
    assert.equal(result.valid, 1);
  });

  test('testRules reads NDJSON, arrays and concatenated objects and reports one record per match', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nyx-sigma-ev-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const hit = { event: { code: '1102' }, winlog: { channel: 'Security', event_id: '1102' } };
    const miss = { event: { code: '4624' }, winlog: { channel: 'Security', event_id: '4624' } };
    writeFileSync(join(dir, 'a.ndjson'), `${JSON.stringify(miss)}\n${JSON.stringify(hit)}\n`);
    writeFileSync(join(dir, 'b.json'), `${JSON.stringify(hit, null, 2)}${JSON.stringify(miss)}\n{"winlog":{"channel":"Security","event_id":"1102"},"note":"braces } in \\"strings\\" {"}`);
    writeFileSync(join(dir, 'c.json'), JSON.stringify([miss, miss, hit]));
    const { matches, errors } = testRules(RULES, dir, { mappings });
    assert.deepEqual(errors, []);
    const cleared = matches.filter((m) => m.rule_title === 'Security Event Log Cleared');
    assert.deepEqual(cleared.map((m) => [m.file.slice(dir.length + 1), m.index]), [['a.ndjson', 1], ['b.json', 0], ['b.json', 2], ['c.json', 2]]);
    assert.ok(cleared.every((m) => typeof m.rule_id === 'string' && m.rule_id.length > 0));
    // The normalise hook sees every raw record before matching (Windows records → ECS).
    const seen: unknown[] = [];
    testRules(RULES, join(dir, 'c.json'), { mappings, normalise: (r) => (seen.push(r), r) });
    assert.equal(seen.length, 3);
  });

  test('findRuleFiles skips mappings/ and tests/', () => {
    const files = findRuleFiles(RULES);
    assert.ok(files.every((f) => !f.includes('/mappings/') && !f.includes('/tests/')));
  });
});
