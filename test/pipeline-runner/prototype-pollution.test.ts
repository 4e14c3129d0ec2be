/**
 * Keys taken from event data never reach Object.prototype, whichever processor writes them: each hostile spelling
 * fails that one event with an error naming the path, and every object in the process stays as it was.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { compilePipeline, type ProcessorDefinition } from '../../src/pipeline-runner/index.ts';
import { runWith } from './helpers.ts';

const PRISTINE = Object.getOwnPropertyNames(Object.prototype).sort();

/** Object.prototype keeps exactly its own names, and a fresh object inherits nothing an event wrote. */
function assertPrototypeUntouched(): void {
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), PRISTINE);
  const fresh: Record<string, unknown> = {};
  assert.equal(fresh.polluted, undefined);
  assert.equal(fresh.revoked_at, undefined);
  assert.equal(Object.getPrototypeOf(fresh), Object.prototype);
}

afterEach(() => {
  // A failing case must not poison the cases after it: undo whatever it added.
  for (const name of Object.getOwnPropertyNames(Object.prototype)) {
    if (!PRISTINE.includes(name)) delete (Object.prototype as Record<string, unknown>)[name];
  }
});

/** Runs one event and returns its pipeline error message (asserting there is one) after checking the prototype. */
function failureOf(processors: ProcessorDefinition[], doc: Record<string, unknown>): string {
  const result = runWith(processors, doc);
  assertPrototypeUntouched();
  assert.ok(result.error, `expected the event to fail, got ${JSON.stringify(result.doc)}`);
  return result.error.message;
}

/** The pipeline definition itself is refused (a reserved name written in the YAML), naming the processor and path. */
function compileFailureOf(processors: ProcessorDefinition[]): string {
  let message = '';
  assert.throws(
    () => compilePipeline({ processors }),
    (err: Error) => {
      message = err.message;
      return true;
    },
  );
  assertPrototypeUntouched();
  return message;
}

const RESERVED = /uses the reserved name \[(__proto__|constructor|prototype)\]/;

describe('json processor: parsed keys never reach a prototype', () => {
  // JSON.stringify of an object literal drops __proto__: write the hostile text as an attacker would.
  const hostile = '{"eventid":"cowrie.login.failed","__proto__":{"revoked_at":"2026-01-01T00:00:00Z","polluted":"yes"}}';

  it('add_to_root with the merge strategy (the cowrie message path) fails the event, naming [__proto__]', () => {
    const message = failureOf([{ json: { field: 'message', add_to_root: true, add_to_root_conflict_strategy: 'merge' } }], { message: hostile });
    assert.match(message, /Unable to parse JSON in field \[message\]: field path \[__proto__\] uses the reserved name \[__proto__\]/);
  });

  it('add_to_root with the replace strategy (the cowrie raw path) fails the event and leaves the document its own prototype', () => {
    const result = runWith([{ json: { field: 'raw', add_to_root: true } }], { raw: hostile });
    assertPrototypeUntouched();
    assert.match(result.error!.message, /field path \[__proto__\] uses the reserved name \[__proto__\]/);
    assert.equal(Object.getPrototypeOf(result.doc), Object.prototype);
  });

  it('a __proto__ key spelled with JSON escapes (\\u005f_proto__) is refused the same way', () => {
    const escaped = String.raw`{"a":1,"\u005f_proto__":{"polluted":"yes"}}`;
    const message = failureOf([{ json: { field: 'raw', add_to_root: true, add_to_root_conflict_strategy: 'merge' } }], { raw: escaped });
    assert.match(message, /field path \[__proto__\] uses the reserved name \[__proto__\]/);
  });

  it('constructor.prototype nested in the JSON fails the event, with its path below the target field', () => {
    const message = failureOf([{ json: { field: 'raw', target_field: 'parsed' } }], { raw: '{"a":[{"constructor":{"prototype":{"polluted":1}}}]}' });
    assert.match(message, /field path \[parsed\.a\.0\.constructor\] uses the reserved name \[constructor\]/);
  });

  it('a merge into an existing object that shares a name with an inherited one (toString) replaces it as a plain field', () => {
    const result = runWith([{ json: { field: 'raw', add_to_root: true, add_to_root_conflict_strategy: 'merge' } }], { raw: '{"toString":{"x":1},"hasOwnProperty":2}' });
    assertPrototypeUntouched();
    assert.equal(result.error, undefined);
    assert.deepEqual(result.doc, { raw: '{"toString":{"x":1},"hasOwnProperty":2}', toString: { x: 1 }, hasOwnProperty: 2 });
  });

  it('JSON nested deeper than Elasticsearch parses (1000 levels) fails that event with ES wording; 1000 levels pass', () => {
    const nested = (depth: number) => '{"a":'.repeat(depth - 1) + '{"a":1}' + '}'.repeat(depth - 1);
    const tooDeep = runWith([{ json: { field: 'raw', target_field: 'parsed' } }], { raw: nested(5000) });
    assert.match(tooDeep.error!.message, /Unable to parse JSON in field \[raw\]: Document nesting depth \(1001\) exceeds the maximum allowed \(1000, from `StreamReadConstraints.getMaxNestingDepth\(\)`\)/);
    const arrays = runWith([{ json: { field: 'raw', add_to_root: true, add_to_root_conflict_strategy: 'merge' } }], { raw: `{"a":${'['.repeat(1000)}${']'.repeat(1000)}}` });
    assert.match(arrays.error!.message, /Document nesting depth \(1001\)/);
    const atLimit = runWith([{ json: { field: 'raw', target_field: 'parsed' } }], { raw: nested(1000) });
    assert.equal(atLimit.error, undefined);
  });
});

describe('field paths: a reserved segment is refused wherever the path comes from', () => {
  it('set with a fixed path: __proto__, constructor.prototype.x and a.__proto__.b refuse the pipeline, naming the path', () => {
    assert.match(compileFailureOf([{ set: { field: '__proto__.polluted', value: 'yes' } }]), /processors\[0\]\.set: field path \[__proto__\.polluted\] uses the reserved name \[__proto__\]/);
    assert.match(compileFailureOf([{ set: { field: 'constructor.prototype.polluted', value: 'yes' } }]), /field path \[constructor\.prototype\.polluted\] uses the reserved name \[constructor\]/);
    assert.match(compileFailureOf([{ set: { field: 'a.__proto__.polluted', value: 'yes' } }]), /field path \[a\.__proto__\.polluted\] uses the reserved name \[__proto__\]/);
    assert.match(compileFailureOf([{ set: { field: '_ingest.__proto__.polluted', value: 'yes' } }]), RESERVED);
  });

  it('set with a templated path rendering a reserved segment fails that event only', () => {
    const pipeline = compilePipeline({ processors: [{ set: { field: '{{name}}.polluted', value: 'yes' } }] });
    for (const name of ['__proto__', 'constructor.prototype', 'a.__proto__', 'prototype']) {
      const result = pipeline.run({ name });
      assertPrototypeUntouched();
      assert.match(result.error!.message, new RegExp(`field path \\[${name.replace(/\./g, '\\.')}\\.polluted\\] uses the reserved name`));
    }
    assert.deepEqual(pipeline.run({ name: 'fine' }).doc, { name: 'fine', fine: { polluted: 'yes' } });
  });

  it('a path through an inherited name (toString) creates a plain field instead of walking into the function', () => {
    const result = runWith([{ set: { field: 'a.toString.x', value: 1 } }], { a: {} });
    assertPrototypeUntouched();
    assert.equal(result.error, undefined);
    assert.deepEqual(result.doc, { a: { toString: { x: 1 } } });
  });

  it('append and rename to a templated reserved path fail the event', () => {
    assert.match(failureOf([{ append: { field: '{{name}}.list', value: 'yes' } }], { name: '__proto__' }), /field path \[__proto__\.list\] uses the reserved name \[__proto__\]/);
    assert.match(failureOf([{ rename: { field: 'src', target_field: '{{name}}.polluted' } }], { src: 'yes', name: 'a.__proto__' }), /field path \[a\.__proto__\.polluted\] uses the reserved name/);
    assert.match(compileFailureOf([{ rename: { field: 'src', target_field: 'constructor.prototype.polluted' } }]), RESERVED);
  });

  it('dot_expander: a dotted key from the event with a reserved segment fails the event and keeps the key', () => {
    for (const key of ['a.__proto__.polluted', '__proto__.polluted', 'constructor.prototype.polluted']) {
      const result = runWith([{ dot_expander: { field: '*' } }], { [key]: 'yes', 'b.c': 1 });
      assertPrototypeUntouched();
      assert.match(result.error!.message, new RegExp(`field path \\[${key.replace(/\./g, '\\.')}\\] uses the reserved name`));
    }
    assert.match(failureOf([{ dot_expander: { field: 'a.__proto__.polluted' } }], { 'a.__proto__.polluted': 'yes' }), RESERVED);
  });

  it('kv: a key __proto__ (alone or dotted, with or without target_field) fails the event', () => {
    assert.match(failureOf([{ kv: { field: 'm', field_split: ' ', value_split: '=' } }], { m: 'user=root __proto__=x' }), /field path \[__proto__\] uses the reserved name \[__proto__\]/);
    assert.match(failureOf([{ kv: { field: 'm', field_split: ' ', value_split: '=' } }], { m: '__proto__.polluted=yes' }), /field path \[__proto__\.polluted\]/);
    assert.match(failureOf([{ kv: { field: 'm', field_split: '&', value_split: '=', target_field: 'q' } }], { m: 'constructor.prototype.polluted=yes' }), /field path \[q\.constructor\.prototype\.polluted\] uses the reserved name \[constructor\]/);
  });

  it('grok: a capture named __proto__ refuses the pipeline', () => {
    assert.match(compileFailureOf([{ grok: { field: 'm', patterns: ['%{WORD:__proto__.polluted}'] } }]), /processors\[0\]\.grok: field path \[__proto__\.polluted\] uses the reserved name/);
    assert.match(compileFailureOf([{ grok: { field: 'm', patterns: ['(?<__proto__>\\w+)'] } }]), RESERVED);
  });

  it('dissect: a key named __proto__ refuses the pipeline; a reference key whose value is __proto__ fails the event', () => {
    assert.match(compileFailureOf([{ dissect: { field: 'm', pattern: '%{__proto__.polluted} %{b}' } }]), /field path \[__proto__\.polluted\] uses the reserved name/);
    assert.match(compileFailureOf([{ dissect: { field: 'm', pattern: '%{+constructor} %{+constructor}' } }]), RESERVED);
    assert.match(failureOf([{ dissect: { field: 'm', pattern: '%{*k} %{&k}' } }], { m: '__proto__ yes' }), /field path \[__proto__\] uses the reserved name \[__proto__\]/);
    assert.match(failureOf([{ dissect: { field: 'm', pattern: '%{*k} %{&k}' } }], { m: 'a.__proto__.polluted yes' }), /field path \[a\.__proto__\.polluted\]/);
  });

  it('set with a map value whose templated key renders a reserved name fails the event', () => {
    assert.match(failureOf([{ set: { field: 'out', value: { '{{k}}': { polluted: 'yes' } } } }], { k: '__proto__' }), /field path \[__proto__\] uses the reserved name \[__proto__\]/);
  });

  it('foreach over a map with an own __proto__ key (as JSON.parse makes) fails the event', () => {
    const doc = JSON.parse('{"m":{"__proto__":{"polluted":"yes"},"b":1}}') as Record<string, unknown>;
    assert.match(failureOf([{ foreach: { field: 'm', processor: { set: { field: '_ingest._value', value: 'v' } } } }], doc), /field path \[m\.__proto__\] uses the reserved name \[__proto__\]/);
  });

  it('a document with an own __proto__ key (as JSON.parse makes) keeps it as an own field and its prototype as it was', () => {
    const input = JSON.parse('{"a":{"__proto__":{"polluted":"yes"}}}') as Record<string, unknown>;
    const result = runWith([{ set: { field: 'b', value: 1 } }], input);
    assertPrototypeUntouched();
    const a = result.doc.a as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(a), Object.prototype);
    assert.equal(a.polluted, undefined);
    assert.deepEqual(Object.keys(a), ['__proto__']);
  });

  it('on_failure sees the error and can mark the event (as the source pipelines do)', () => {
    const pipeline = compilePipeline({
      processors: [{ json: { field: 'raw', add_to_root: true, add_to_root_conflict_strategy: 'merge' } }],
      on_failure: [{ set: { field: 'error.message', value: '{{{_ingest.on_failure_message}}}' } }],
    });
    const result = pipeline.run({ raw: '{"__proto__":{"polluted":"yes"}}' });
    assertPrototypeUntouched();
    assert.equal(result.error, undefined);
    assert.match(String((result.doc.error as Record<string, unknown>).message), /field path \[__proto__\] uses the reserved name \[__proto__\]/);
  });
});
