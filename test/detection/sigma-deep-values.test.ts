/**
 * A field's value can be a list of lists as deep as an agent likes (Elasticsearch flattens them): reading it never
 * overflows the stack, and every leaf is still seen. Found by the fuzzer (issue 19, class 8).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRuleMatcher, parseSigmaRule, readField } from '../../src/detection/sigma/index.ts';
import { ruleYaml, testMappings } from './sigma-cases.ts';

function nestedList(depth: number, leaf: string): unknown {
  let value: unknown = leaf;
  for (let n = 0; n < depth; n++) value = [value, 'filler'];
  return value;
}

test('a command line nested 50,000 lists deep is read without overflow, leaf included', () => {
  const doc = { process: { command_line: nestedList(50_000, 'powershell -enc AAAA') } };
  const values = readField(doc, 'process.command_line');
  assert.equal(values.length, 50_001);
  assert.ok(values.includes('powershell -enc AAAA'));
});

test('a rule matches the deep leaf, as it matches the flat value', () => {
  const rule = parseSigmaRule(ruleYaml(`sel:\n  process.command_line|contains: ' -enc '\ncondition: sel`), 'deep.yml');
  const matcher = compileRuleMatcher(rule, testMappings());
  assert.ok(matcher({ process: { command_line: nestedList(20_000, 'powershell -enc AAAA') } }));
  assert.ok(!matcher({ process: { command_line: nestedList(20_000, 'notepad.exe') } }));
});
