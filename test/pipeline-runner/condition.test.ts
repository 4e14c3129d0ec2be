import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runWith } from './helpers.ts';

/** True when the condition lets a `set` run on `doc`; throws on a runtime failure. */
function holds(condition: string, doc: Record<string, unknown>): boolean {
  const result = runWith([{ set: { field: 'hit', value: true, if: condition } }], doc);
  if (result.error) throw new Error(result.error.message);
  return result.doc.hit === true;
}

describe('condition subset', () => {
  const doc = { a: { b: 'Hello', n: 5, list: ['x', 'y'], m: { k: 1 } }, flag: true, _z: null };

  it('field access, null-safe access and literals', () => {
    assert.equal(holds("ctx.a.b == 'Hello'", doc), true);
    assert.equal(holds("ctx['a']['b'] == \"Hello\"", doc), true);
    assert.equal(holds('ctx.missing?.deeper?.still == null', doc), true);
    assert.equal(holds('ctx.a.list[1] == "y"', doc), true);
    assert.equal(holds('ctx.flag', doc), true);
    assert.equal(holds('ctx.a.n == 5.0 && ctx.a.n != 6', doc), true);
  });

  it('comparison and boolean operators with precedence', () => {
    assert.equal(holds('ctx.a.n > 4 && ctx.a.n <= 5', doc), true);
    assert.equal(holds('ctx.a.n < 0 || !(ctx.a.n >= 10)', doc), true);
    assert.equal(holds('false && true || true', doc), true);
    assert.equal(holds('ctx.a.n > -1', doc), true);
  });

  it('instanceof and methods', () => {
    assert.equal(holds('ctx.a.b instanceof String && ctx.a.m instanceof Map && ctx.a.list instanceof List', doc), true);
    assert.equal(holds('ctx.a.n instanceof String', doc), false);
    assert.equal(holds("ctx.a.b.contains('ell') && ctx.a.b.startsWith('He') && ctx.a.b.endsWith('lo')", doc), true);
    assert.equal(holds("ctx.a.b.equalsIgnoreCase('HELLO') && ctx.a.b.toLowerCase() == 'hello'", doc), true);
    assert.equal(holds("ctx.a.list.contains('y') && ctx.a.list.size() == 2 && !ctx.a.list.isEmpty()", doc), true);
    assert.equal(holds("ctx.a.m.containsKey('k') && ctx.containsKey('flag')", doc), true);
    assert.equal(holds("ctx.nothing?.contains('x') == null", doc), true);
  });

  it('Painless runtime errors fail the processor', () => {
    assert.throws(() => holds('ctx.missing.deeper == 1', doc), /null/);
    assert.throws(() => holds("ctx.a.b > 'x'", doc), /cannot apply \[>\]/);
    assert.throws(() => holds('ctx.a.n', doc), /must return a boolean/);
  });

  it('metadata is reachable from ctx', () => {
    const result = runWith([{ set: { field: 'hit', value: true, if: "ctx._index == 'logs'" } }], {});
    assert.equal(result.doc.hit, undefined);
  });
});
