import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkEventShape } from '../../src/ingest/event-shape.ts';
import { parseEvents } from '../../src/ingest/api/body.ts';

// The per-event bounds of issue 19 (class 3), on their own: depth, distinct fields (array positions folded),
// reserved keys, without recursion.
const limits = { maxDepth: 5, maxFields: 10 };

test('depth: the path where the limit was passed, arrays counted as levels', () => {
  // The event is level 1: five objects one inside another are within a limit of 5, six are not.
  assert.deepEqual(checkEventShape({ a: { b: { c: { d: { e: 1 } } } } }, limits), { ok: true });
  const deep = checkEventShape({ a: { b: { c: { d: { e: { f: 1 } } } } } }, limits);
  assert.deepEqual(deep, { ok: false, field: 'a.b.c.d.e', reason: 'nested deeper than the limit of 5 levels (serve.max_event_depth)' });
  assert.deepEqual(checkEventShape({ list: [[[[1]]]] }, limits), { ok: true });
  assert.equal((checkEventShape({ list: [[[[[1]]]]] }, limits) as { field: string }).field, 'list.0.0.0.0');
  // 1,000,000 levels cost a loop, not the stack.
  let value: unknown = 1;
  for (let i = 0; i < 1_000_000; i++) value = [value];
  assert.equal(checkEventShape({ v: value }).ok, false);
});

test('fields: distinct paths with array positions folded; the first one past the limit is named', () => {
  const processes = Array.from({ length: 5_000 }, (_, i) => ({ pid: i, name: 'sshd', cmd: 'sshd -D' }));
  assert.deepEqual(checkEventShape({ processes }, limits), { ok: true });
  const wide = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, i]));
  assert.deepEqual(checkEventShape(wide, limits), { ok: false, field: 'k10', reason: 'more than the limit of 10 distinct fields per event (serve.max_event_fields)' });
  const varied = { list: Array.from({ length: 10 }, (_, i) => ({ [`k${i}`]: i })) };
  assert.equal((checkEventShape(varied, limits) as { field: string }).field, 'list.9.k9');
});

test('reserved keys, alone or as a dotted segment, at any depth; plain look-alikes pass', () => {
  const proto = parseEvents(Buffer.from('{"a":{"__proto__":{"x":1}}}'))[0] as { value: unknown };
  assert.equal(({} as Record<string, unknown>).x, undefined);
  assert.equal((checkEventShape(proto.value) as { field: string }).field, 'a.__proto__');
  assert.equal((checkEventShape({ 'x.constructor.y': 1 }) as { field: string }).field, 'x.constructor.y');
  assert.equal((checkEventShape({ list: [{ prototype: 1 }] }) as { field: string }).field, 'list.0.prototype');
  assert.deepEqual(checkEventShape({ constructors: 1, proto: 1, 'my.prototypes': 1 }), { ok: true });
});

test('an array body: each element parsed alone when one is malformed; its text kept for the dead letter', () => {
  const items = parseEvents(Buffer.from('[{"a":"x,]}"}, {"b": nope}, {"c":"\\\\"}]'));
  assert.deepEqual(items.map((i) => ('parseError' in i ? 'error' : i.value)), [{ a: 'x,]}' }, 'error', { c: '\\' }]);
  assert.deepEqual(items.map((i) => i.text), ['{"a":"x,]}"}', '{"b": nope}', '{"c":"\\\\"}']);
  const wellFormed = parseEvents(Buffer.from('[ {"a":1} , {"b":[1,2]} ]'));
  assert.deepEqual(wellFormed.map((i) => i.text), ['{"a":1}', '{"b":[1,2]}']);
  assert.throws(() => parseEvents(Buffer.from('[{"a":1},')), /invalid JSON: the array is not well formed/);
});
