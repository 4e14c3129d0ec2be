import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileRuleMatcher, mapSigmaRule, parseSigmaRegex, parseSigmaRule, SigmaRuleError } from '../../src/detection/sigma/index.ts';
import { ruleYaml, testMappings } from './sigma-cases.ts';

// Shaped like a SigmaHQ rule file (all the usual keys, SigmaHQ formatting), written here.
const SIGMAHQ_STYLE = `title: Suspicious Certutil Download
id: 0f7cb5c3-6c7f-4f1a-9b5e-3a3c0e1f2d4b
related:
    - id: 19b08b1c-861d-4e75-a1ef-ea0c1baf202b
      type: similar
status: test
description: Detects certutil used to download files.
references:
    - https://example.org/certutil
author: Someone
date: 2023-02-15
modified: 2024-03-01
tags:
    - attack.defense_evasion
    - attack.t1027
logsource:
    category: process_creation
    product: windows
detection:
    selection_img:
        - Image|endswith: '\\certutil.exe'
        - OriginalFileName: 'CertUtil.exe'
    selection_cli:
        CommandLine|contains|windash:
            - 'urlcache '
            - '-verifyctl '
    condition: all of selection_*
fields:
    - CommandLine
falsepositives:
    - Unknown
level: high
`;

function rejects(yaml: string, line: number | undefined, reason: RegExp, file = 'bad.yml'): void {
  assert.throws(
    () => {
      const rule = parseSigmaRule(yaml, file);
      mapSigmaRule(rule, testMappings(true));
    },
    (err: unknown) => {
      assert.ok(err instanceof SigmaRuleError, `expected SigmaRuleError, got ${String(err)}`);
      assert.equal(err.file, file);
      if (line !== undefined) assert.equal(err.line, line, err.message);
      assert.match(err.reason, reason);
      return true;
    },
  );
}

describe('parseSigmaRule', () => {
  test('loads a SigmaHQ-style rule unchanged, with all metadata', () => {
    const rule = parseSigmaRule(SIGMAHQ_STYLE, 'proc_creation_win_certutil.yml');
    assert.equal(rule.title, 'Suspicious Certutil Download');
    assert.equal(rule.id, '0f7cb5c3-6c7f-4f1a-9b5e-3a3c0e1f2d4b');
    assert.equal(rule.status, 'test');
    assert.equal(rule.date, '2023-02-15');
    assert.equal(rule.modified, '2024-03-01');
    assert.deepEqual(rule.tags, ['attack.defense_evasion', 'attack.t1027']);
    assert.deepEqual(rule.logsource, { category: 'process_creation', product: 'windows' });
    assert.deepEqual(rule.references, ['https://example.org/certutil']);
    assert.deepEqual(rule.falsepositives, ['Unknown']);
    assert.deepEqual(rule.fields, ['CommandLine']);
    assert.equal(rule.level, 'high');
    assert.deepEqual([...rule.selections.keys()], ['selection_img', 'selection_cli']);
    assert.deepEqual(rule.condition, { op: 'of', quantifier: 'all', names: ['selection_img', 'selection_cli'] });
    const matcher = compileRuleMatcher(rule, testMappings(true));
    assert.ok(matcher({ event: { category: 'process', type: 'start' }, process: { executable: 'C:\\Windows\\System32\\certutil.exe', command_line: 'certutil /urlcache -f http://x a' } }));
  });

  test('unknown modifier: rejected with file, line and reason', () => {
    rejects(ruleYaml("sel:\n  Image|endswith: a\n  CommandLine|contans: b\ncondition: sel"), 7, /unknown modifier 'contans'/);
  });
  test('time modifiers are rejected as unsupported', () => rejects(ruleYaml("sel:\n  ts|hour: 3\ncondition: sel"), 6, /not supported/));
  test('re flags without re', () => rejects(ruleYaml("sel:\n  a|contains|i: x\ncondition: sel"), 6, /only valid after 're'/));
  test('incompatible type modifiers', () => rejects(ruleYaml("sel:\n  a|re|cidr: x\ncondition: sel"), 6, /cannot be combined/));
  test('windash cannot follow re', () => rejects(ruleYaml("sel:\n  a|windash|re: x\ncondition: sel"), 6, /cannot be combined/));
  test('bad CIDR', () => rejects(ruleYaml("sel:\n  src|cidr: 10.0.0.0/33\ncondition: sel"), 6, /not a valid IPv4\/IPv6 CIDR/));
  test('lt needs a number', () => rejects(ruleYaml("sel:\n  port|lt: abc\ncondition: sel"), 6, /needs a number/));
  test('null with modifiers', () => rejects(ruleYaml("sel:\n  a|contains: null\ncondition: sel"), 6, /null cannot be combined/));
  test('base64 of a wildcard value', () => rejects(ruleYaml("sel:\n  a|contains|base64: x\ncondition: sel"), 6, /cannot encode a value with wildcards/));
  test('invalid regex', () => rejects(ruleYaml("sel:\n  a|re: 'ab(c'\ncondition: sel"), 6, /invalid regular expression/));
  test('unknown search identifier in condition', () => rejects(ruleYaml("sel:\n  a: x\ncondition: sel and filter"), 7, /unknown search identifier 'filter'/));
  test('pattern matching no identifier', () => rejects(ruleYaml("sel:\n  a: x\ncondition: 1 of filter_*"), 7, /matches no search identifier/));
  test('condition syntax errors', () => {
    rejects(ruleYaml("sel:\n  a: x\ncondition: (sel"), 7, /expected '\)'/);
    rejects(ruleYaml("sel:\n  a: x\ncondition: sel and"), 7, /ends too early/);
    rejects(ruleYaml("sel:\n  a: x\ncondition: sel | count() > 5"), 7, /aggregation/);
    rejects(ruleYaml("sel:\n  a: x\ncondition: 2 of sel"), 7, /'2 of' is not supported/);
  });
  test('missing condition', () => rejects(ruleYaml('sel:\n  a: x'), 4, /no 'condition'/));
  test('missing title', () => rejects('logsource: {product: unittest}\ndetection:\n  s: {a: 1}\n  condition: s\n', undefined, /title/));
  test('YAML syntax errors carry the line', () => rejects('title: x\nlogsource: {product: unittest\ndetection:\n', undefined, /YAML/));
  test('rule collections are rejected clearly', () => {
    rejects('action: global\ntitle: x\nlogsource: {product: windows}\n---\ndetection:\n  s: {a: 1}\n  condition: s\n', 5, /rule collections/);
    rejects(`action: global\n${ruleYaml("sel:\n  a: x\ncondition: sel")}`, 1, /rule collections/);
  });
  test('correlation rules are recognised and rejected as not detection rules', () => {
    rejects('title: c\ncorrelation:\n  type: event_count\n  rules: [x]\n  timespan: 5m\n', 2, /correlation rule/);
  });
  test('unconfigured placeholder is rejected at mapping', () => rejects(ruleYaml("sel:\n  User|expand: '%Nope%'\ncondition: sel"), 6, /placeholder '%Nope%' is not configured/));
  test('logsource without mapping', () => rejects('title: x\nlogsource: {product: amiga}\ndetection:\n  s: {a: 1}\n  condition: s\n', undefined, /no field mapping covers logsource \{product=amiga\}/));
  test('unmapped field without fallback', () => rejects('title: x\nlogsource: {product: linux, service: auth}\ndetection:\n  s: {Nope: 1}\n  condition: s\n', 4, /field 'Nope' has no mapping/));
  test('windash permutation limit', () => rejects(ruleYaml("sel:\n  a|windash: '-a -b -c -d -e -f'\ncondition: sel"), 6, /windash would create/));
});

describe('regex safety (catastrophic backtracking)', () => {
  const flags = { i: false, m: false, s: false };
  for (const bad of ['(a+)+', '(.*)*', '(a|ab)*', '(a|a?)+', '(\\w+\\s?)*$', '^(a*)*b', '(x+x+)+y', '(.*a){20}', '([a-z0-9]|\\d)+$', '(a?)*']) {
    test(`rejects ${bad}`, () => assert.throws(() => parseSigmaRegex(bad, flags), /backtrack catastrophically/));
  }
  for (const good of ['a+b*c', '\\s-w(in|indow)?\\s+hidden', '(ab|cd)+', '^[a-z]+\\.exe$', '(https?|ftp)://[^/]+/', 'a{1,5}b', '(?i)foo.*bar']) {
    test(`accepts ${good}`, () => assert.doesNotThrow(() => parseSigmaRegex(good, flags)));
  }
  test('rejected at load with file and line', () => rejects(ruleYaml("sel:\n  a|re: '(a+)+$'\ncondition: sel"), 6, /backtrack catastrophically: nested quantifiers/));
  test('lucene translation anchors unanchored patterns and escapes Lucene-only operators', () => {
    assert.equal(parseSigmaRegex('a@b', flags).lucene, '.*a\\@b.*');
    assert.equal(parseSigmaRegex('^ab$', flags).lucene, 'ab');
    assert.equal(parseSigmaRegex('a|b', flags).lucene, '.*(a|b).*');
    assert.equal(parseSigmaRegex('\\bword', flags).lucene, undefined);
  });
});
