import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileBody } from '../../src/pipeline-runner/compile.ts';
import { compilePipeline, type ProcessorDefinition } from '../../src/pipeline-runner/index.ts';
import { runWith } from './helpers.ts';

/** Per processor of the pipeline's list: its conjunct keys and where each false one resumes. */
function layout(processors: ProcessorDefinition[]) {
  return compileBody({ processors }).processors.processors.map((p) => ({ keys: p.conjuncts?.map((c) => c.key), skip: p.skip }));
}

// Three processors share the first conjunct G = `ctx.kind == 'win'`; the fourth has no condition.
const GROUP: ProcessorDefinition[] = [
  { set: { tag: 'p0', field: 'a', value: 1, if: "ctx.kind == 'win' && ctx.x == 1" } },
  { set: { tag: 'p1', field: 'b', value: 1, if: "ctx.kind == 'win' && ctx.y == 1" } },
  { set: { tag: 'p2', field: 'c', value: 1, if: "ctx.kind == 'win'" } },
  { set: { tag: 'p3', field: 'd', value: 1 } },
];

describe('guard hoisting', () => {
  it('groups consecutive processors by their leading conjuncts', () => {
    assert.deepEqual(layout(GROUP), [
      { keys: ["ctx . kind == 'win'", 'ctx . x == 1'], skip: [3, 1] },
      { keys: ["ctx . kind == 'win'", 'ctx . y == 1'], skip: [3, 2] },
      { keys: ["ctx . kind == 'win'"], skip: [3] },
      { keys: undefined, skip: undefined },
    ]);
    // Only the first conjunct of a conjunction is a group key; a top-level || is one conjunct.
    assert.deepEqual(
      layout([
        { set: { field: 'a', value: 1, if: 'ctx.g == 1 && ctx.h == 1 && ctx.x == 1' } },
        { set: { field: 'b', value: 1, if: 'ctx.g == 1 && ctx.h == 1' } },
        { set: { field: 'c', value: 1, if: 'ctx.g == 1 || ctx.h == 1' } },
      ]).map((p) => p.skip),
      [[2, 2, 1], [2, 2], [3]],
    );
  });

  it('skips the whole group when the shared conjunct is false', () => {
    assert.deepEqual(runWith(GROUP, { kind: 'agent', x: 1, y: 1 }).doc, { kind: 'agent', x: 1, y: 1, d: 1 });
    assert.deepEqual(runWith(GROUP, { x: 1 }).doc, { x: 1, d: 1 });
  });

  it('when it is true, runs each processor on its own whole condition', () => {
    assert.deepEqual(runWith(GROUP, { kind: 'win', x: 1, y: 2 }).doc, { kind: 'win', x: 1, y: 2, a: 1, c: 1, d: 1 });
    assert.deepEqual(runWith(GROUP, { kind: 'win', x: 2, y: 1 }).doc, { kind: 'win', x: 2, y: 1, b: 1, c: 1, d: 1 });
  });

  it('a shared conjunct that throws fails each processor on its own, with its own handling', () => {
    const result = compilePipeline({
      processors: [
        {
          set: {
            tag: 'p0',
            field: 'a',
            value: 1,
            if: 'ctx.obj.kind == 1 && ctx.x == 1',
            on_failure: [{ set: { field: 'p0_failed', value: '{{{_ingest.on_failure_processor_tag}}}: {{{_ingest.on_failure_message}}}' } }],
          },
        },
        { set: { tag: 'p1', field: 'b', value: 1, if: 'ctx.obj.kind == 1 && ctx.y == 1', ignore_failure: true } },
        { set: { tag: 'p2', field: 'c', value: 1, if: 'ctx.obj.kind == 1' } },
        { set: { tag: 'p3', field: 'd', value: 1 } },
      ],
      on_failure: [{ set: { field: 'pipeline_failed', value: '{{{_ingest.on_failure_processor_tag}}}: {{{_ingest.on_failure_message}}}' } }],
    }).run({ x: 1, y: 1 });
    assert.equal(result.error, undefined);
    assert.deepEqual(result.doc, {
      x: 1,
      y: 1,
      p0_failed: 'p0: cannot access field [kind] of a null value',
      pipeline_failed: 'p2: cannot access field [kind] of a null value',
    });
  });

  it('a shared conjunct that is not a boolean fails with the whole condition’s message', () => {
    const result = runWith([{ set: { tag: 's0', field: 'a', value: 1, if: 'ctx.s && ctx.x == 1' } }, { set: { tag: 's1', field: 'b', value: 1, if: 'ctx.s && ctx.x == 2' } }], { s: 'yes', x: 1 });
    assert.deepEqual(result.error, { message: 'cannot apply [&&] to type [java.lang.String]: expected a boolean', processor_type: 'set', processor_tag: 's0' });
    const single = runWith([{ set: { tag: 's0', field: 'a', value: 1, if: 'ctx.s' } }, { set: { tag: 's1', field: 'b', value: 1, if: 'ctx.s' } }], { s: 'yes' });
    assert.deepEqual(single.error, { message: 'condition [ctx.s] must return a boolean, got [java.lang.String]', processor_type: 'set', processor_tag: 's0' });
  });

  it('re-evaluates the shared conjunct once a processor of the group changed the document', () => {
    const flip: ProcessorDefinition[] = [
      { set: { field: 'kind', value: 'agent', if: "ctx.kind == 'win' && ctx.flip == true" } },
      { set: { field: 'b', value: 1, if: "ctx.kind == 'win' && ctx.y == 1" } },
      { set: { field: 'c', value: 1, if: "ctx.kind == 'win'" } },
    ];
    assert.deepEqual(runWith(flip, { kind: 'win', flip: true, y: 1 }).doc, { kind: 'agent', flip: true, y: 1 });
    assert.deepEqual(runWith(flip, { kind: 'win', flip: false, y: 1 }).doc, { kind: 'win', flip: false, y: 1, b: 1, c: 1 });
    // A later conjunct sees what an earlier processor of the group wrote.
    const chain: ProcessorDefinition[] = [
      { set: { field: 'y', value: 1, if: "ctx.kind == 'win'" } },
      { set: { field: 'b', value: 1, if: "ctx.kind == 'win' && ctx.y == 1" } },
    ];
    assert.deepEqual(runWith(chain, { kind: 'win' }).doc, { kind: 'win', y: 1, b: 1 });
  });

  it('a processor without condition that cannot act unless a key holds a map joins the group', () => {
    const processors: ProcessorDefinition[] = [
      { set: { field: 'a', value: 1, if: "ctx.w instanceof Map && ctx.w.kind == 'x'" } },
      { convert: { field: 'w.pid', type: 'long', ignore_missing: true } },
      { set: { field: 'host', value: '{{{w.host}}}', ignore_empty_value: true } },
      { rename: { field: 'w.old', target_field: 'w.new', ignore_missing: true } },
      { set: { field: 'b', value: 1 } },
      { convert: { field: 'w.0', type: 'long', ignore_missing: true } },
    ];
    const keys = layout(processors);
    assert.deepEqual(keys.map((p) => p.keys?.[0]), ['ctx . w instanceof Map', 'ctx . w instanceof Map', 'ctx . w instanceof Map', 'ctx . w instanceof Map', undefined, undefined]);
    assert.deepEqual(keys[0]!.skip, [4, 1]);
    assert.deepEqual(runWith(processors, { w: { kind: 'x', pid: '7', host: 'h', old: 1 } }).doc, { w: { kind: 'x', pid: 7, host: 'h', new: 1 }, a: 1, host: 'h', b: 1 });
    for (const w of [undefined, null, 'text', 5, ['7']]) {
      const doc = w === undefined ? {} : { w };
      assert.deepEqual(runWith(processors, doc).doc, { ...doc, b: 1, ...(Array.isArray(w) ? { w: [7] } : {}) });
    }
  });

  it('condition results never leak from one document to the next', () => {
    const pipeline = compilePipeline({ processors: GROUP });
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(pipeline.run({ kind: 'win', x: 1 }).doc, { kind: 'win', x: 1, a: 1, c: 1, d: 1 });
      assert.deepEqual(pipeline.run({ kind: 'agent', x: 1 }).doc, { kind: 'agent', x: 1, d: 1 });
    }
  });
});

describe('ownsInput', () => {
  it('runs on the input itself: same result, no copy', () => {
    const pipeline = compilePipeline({ processors: [{ rename: { field: 'a', target_field: 'b.c' } }, { set: { field: 'n', value: [1] } }] });
    const input = { a: { x: 1 }, keep: true };
    const inner = input.a;
    const copied = pipeline.run(structuredClone(input));
    const owned = pipeline.run(input, {}, { ownsInput: true });
    assert.deepEqual(owned.doc, copied.doc);
    assert.equal((owned.doc.b as { c: unknown }).c, inner);
    assert.ok(owned.doc === (input as unknown), 'the result is the input itself');
  });
});
