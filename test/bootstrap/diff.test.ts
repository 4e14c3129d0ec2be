import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffBodies } from '../../src/bootstrap/plan.ts';

test('settings written flat or under index. compare equal, numbers equal their string form', () => {
  assert.deepEqual(diffBodies({ template: { settings: { index: { number_of_shards: '1' } } } }, { template: { settings: { number_of_shards: 1 } } }), []);
});

test('defaults Elasticsearch fills in are not differences, other values are', () => {
  const actual = { index_patterns: ['logs-x-*'], data_stream: { hidden: false, allow_custom_routing: false }, composed_of: [] };
  assert.deepEqual(diffBodies(actual, { index_patterns: ['logs-x-*'], data_stream: {} }), []);
  assert.deepEqual(diffBodies({ ...actual, data_stream: { hidden: true, allow_custom_routing: false } }, { index_patterns: ['logs-x-*'], data_stream: {} }), ['- data_stream.hidden: true']);
});

test('a changed, added and removed value each read as one line', () => {
  assert.deepEqual(diffBodies({ a: 1, b: 'x', gone: true }, { a: 2, b: 'x', added: 'y' }), ['~ a: 1 → 2', '+ added: y', '- gone: true']);
});

test('paths managed at run time (generated indicator params) are never drift', () => {
  const installed = { processors: [{ script: { tag: 'nyx_ioc_match', params: { ip: {} } } }] };
  const regenerated = { processors: [{ script: { tag: 'nyx_ioc_match', params: { ip: { '203.0.113.7': { type: 'ipv4-addr' } } } } }] };
  assert.equal(diffBodies(regenerated, installed).length, 1);
  assert.deepEqual(diffBodies(regenerated, installed, [/^processors\[\d+\]\.script\.params(\.|$)/]), []);
});
