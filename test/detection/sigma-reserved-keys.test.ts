/**
 * Field names in rules and events are data: an inherited member of Object.prototype (`toString`, `constructor`,
 * `__proto__`) is never a field, never matches, never crashes; a rule or mapping that uses a reserved name as a
 * field or key is refused with its file and line.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileRuleMatcher, compileRuleQuery, mapSigmaRule, parseFieldMapping, parseSigmaFile, parseSigmaRule, readField, SigmaRuleSet } from '../../src/detection/sigma/index.ts';
import { ruleYaml, testMappings } from './sigma-cases.ts';

const mappings = testMappings();
const INHERITED = ['toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];

describe('sigma: inherited names are not fields', () => {
  test('exists, equality and wildcard on an inherited name: no crash, no match on an event without it, a match on one with it', () => {
    for (const name of INHERITED) {
      for (const detection of [`sel:\n  ${name}|exists: true\ncondition: sel`, `sel:\n  ${name}: '*'\ncondition: sel`, `sel:\n  ${name}|contains: x\ncondition: sel`]) {
        const rule = parseSigmaRule(ruleYaml(detection), 'r.yml');
        const matcher = compileRuleMatcher(rule, mappings);
        const set = new SigmaRuleSet([mapSigmaRule(rule, mappings)]);
        for (const doc of [{}, { a: {} }, { [name]: null }]) {
          assert.equal(matcher(doc), null, `${detection} on ${JSON.stringify(doc)}`);
          assert.deepEqual(set.match(doc), [], `${detection} on ${JSON.stringify(doc)} (rule set)`);
        }
        assert.ok(matcher({ [name]: 'x' }), `${detection} on an event that has the field`);
        assert.ok(compileRuleQuery(rule, mappings));
      }
    }
  });

  test('events with own constructor / __proto__ keys (as JSON.parse makes them) are read as plain fields and match nothing else', () => {
    const event = JSON.parse('{"constructor":"evil","__proto__":{"CommandLine":"whoami"},"Image":"C:\\\\x.exe"}') as Record<string, unknown>;
    assert.deepEqual(readField(event, 'CommandLine'), []);
    assert.deepEqual(readField({}, 'constructor'), []);
    assert.deepEqual(readField({}, 'constructor.name'), []);
    assert.deepEqual(readField({ a: {} }, 'a.__proto__'), []);
    const matcher = compileRuleMatcher(parseSigmaRule(ruleYaml('sel:\n  CommandLine|contains: whoami\ncondition: sel'), 'r.yml'), mappings);
    assert.equal(matcher(event), null);
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
  });
});

describe('sigma: reserved names in rule files and mappings are refused with file and line', () => {
  test('a detection field __proto__ / constructor / a.prototype.b (with or without modifiers)', () => {
    for (const [field, line] of [['__proto__|contains', 6], ['constructor', 6], ['a.prototype.b|endswith', 6]] as const) {
      assert.throws(
        () => parseSigmaRule(ruleYaml(`sel:\n  ${field}: x\ncondition: sel`), 'bad.yml'),
        (err: Error) => {
          assert.match(err.message, new RegExp(`^bad\\.yml:${line}: `));
          assert.match(err.message, /__proto__, constructor and prototype cannot name a field or key/);
          return true;
        },
      );
    }
  });

  test('a reserved key anywhere in the rule document (metadata included)', () => {
    const yaml = `title: t\nlogsource:\n  product: unittest\ncustom:\n  __proto__:\n    polluted: yes\ndetection:\n  sel: {a: x}\n  condition: sel\n`;
    assert.throws(() => parseSigmaFile(yaml, 'meta.yml'), /meta\.yml:5: 'custom\.__proto__': __proto__, constructor and prototype cannot name a field or key/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('a correlation grouping by a reserved name', () => {
    const yaml = `title: c\nname: c\ncorrelation:\n  type: event_count\n  rules: [r]\n  group-by: [constructor.name]\n  timespan: 5m\n  condition: {gte: 2}\n`;
    assert.throws(() => parseSigmaFile(yaml, 'corr.yml'), /corr\.yml:\d+: field 'constructor\.name': __proto__, constructor and prototype cannot name a field or key/);
  });

  test('a field-mapping file with a reserved key', () => {
    const yaml = `name: m\nlogsources:\n  - match: {product: x}\n    indices: ['logs-*']\nfields:\n  __proto__: {polluted: yes}\n`;
    assert.throws(() => parseFieldMapping(yaml, 'map.yml'), /map\.yml: fields\.__proto__: __proto__, constructor and prototype cannot name a field or key/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
