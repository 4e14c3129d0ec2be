import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NyxError } from '../../src/errors.ts';
import { compilePipeline, pipelineDefinitionSchema, processorsUsed, registerNativeScript, SUPPORTED_PROCESSORS, type PipelineDefinition } from '../../src/pipeline-runner/index.ts';
import { runWith } from './helpers.ts';

describe('failure semantics', () => {
  it('reports an unhandled failure and returns the input document unchanged', () => {
    const input = { a: 1 };
    const result = runWith([{ set: { field: 'b', value: 2 } }, { rename: { field: 'missing', target_field: 'x', tag: 'r1' } }], input);
    assert.deepEqual(result.error, { message: "field [missing] doesn't exist", processor_type: 'rename', processor_tag: 'r1' });
    assert.deepEqual(result.doc, { a: 1 });
    assert.equal(result.dropped, false);
  });

  it('ignore_failure skips the failing processor and continues', () => {
    const result = runWith([{ rename: { field: 'missing', target_field: 'x', ignore_failure: true } }, { set: { field: 'ok', value: true } }], {});
    assert.equal(result.error, undefined);
    assert.deepEqual(result.doc, { ok: true });
  });

  it('processor-level on_failure sees failure metadata and the pipeline continues', () => {
    const result = runWith(
      [
        {
          fail: {
            message: 'bad {{ user }}',
            tag: 'f1',
            on_failure: [{ set: { field: 'why', value: '{{ _ingest.on_failure_message }}|{{ _ingest.on_failure_processor_type }}|{{ _ingest.on_failure_processor_tag }}' } }],
          },
        },
        { set: { field: 'after', value: 1 } },
      ],
      { user: 'bob' },
    );
    assert.deepEqual(result.doc, { user: 'bob', why: 'bad bob|fail|f1', after: 1 });
  });

  it('pipeline-level on_failure runs and stops the remaining processors; metadata is gone afterwards', () => {
    const pipeline = compilePipeline({
      processors: [{ convert: { field: 'n', type: 'integer' } }, { set: { field: 'after', value: 1 } }],
      on_failure: [
        { set: { field: 'error.message', value: '{{{ _ingest.on_failure_message }}}' } },
        { set: { field: 'error.type', value: '{{ _ingest.on_failure_processor_type }}' } },
      ],
    });
    const result = pipeline.run({ n: 'x"y' });
    assert.equal(result.error, undefined);
    assert.deepEqual(result.doc, { n: 'x"y', error: { message: 'unable to convert [x"y] to integer', type: 'convert' } });
    assert.deepEqual(pipeline.run({ n: '5' }).doc, { n: 5, after: 1 });
  });

  it('{{ }} JSON-escapes and {{{ }}} inserts raw, like ES', () => {
    const result = runWith([{ set: { field: 'esc', value: '{{ q }}' } }, { set: { field: 'raw', value: '{{{ q }}}' } }], { q: 'a"b' });
    assert.equal(result.doc.esc, 'a\\"b');
    assert.equal(result.doc.raw, 'a"b');
  });

  it('a failing condition is a processor failure', () => {
    const result = runWith([{ set: { field: 'x', value: 1, if: 'ctx.a.b == 1' } }], {});
    assert.equal(result.error?.processor_type, 'set');
    assert.match(result.error!.message, /null/);
  });

  it('never throws, and never mutates its input', () => {
    const input = { nested: { list: [1, 2] } };
    const result = runWith([{ append: { field: 'nested.list', value: 3 } }, { remove: { field: 'nested.list', if: 'false' } }], input);
    assert.deepEqual(result.doc, { nested: { list: [1, 2, 3] } });
    assert.deepEqual(input, { nested: { list: [1, 2] } });
  });
});

describe('drop, _index and metadata', () => {
  it('drop ends the run and marks the document dropped', () => {
    const result = runWith([{ drop: { if: "ctx.level == 'debug'" } }, { set: { field: 'seen', value: true } }], { level: 'debug' });
    assert.equal(result.dropped, true);
    assert.equal(runWith([{ drop: { if: "ctx.level == 'debug'" } }], { level: 'info' }).dropped, false);
  });

  it('setting _index reroutes the document and templates can read metadata', () => {
    const pipeline = compilePipeline({ processors: [{ set: { field: '_index', value: 'logs-{{ source }}-{{ _index }}' } }, { set: { field: 'id_copy', value: '{{ _id }}' } }] });
    const result = pipeline.run({ source: 'syslog' }, { _index: 'default', _id: 'abc' });
    assert.equal(result.index, 'logs-syslog-default');
    assert.equal(result.doc.id_copy, 'abc');
    assert.equal('_index' in result.doc, false);
  });
});

describe('pipeline and foreach', () => {
  const pipelines: Record<string, PipelineDefinition> = {
    inner: { processors: [{ set: { field: 'inner', value: true } }] },
    failing: { processors: [{ fail: { message: 'inner failed', tag: 'deep' } }] },
    a: { processors: [{ pipeline: { name: 'b' } }] },
    b: { processors: [{ pipeline: { name: 'a' } }] },
  };
  const resolvePipeline = (name: string) => pipelines[name];

  it('runs a named pipeline', () => {
    assert.deepEqual(runWith([{ pipeline: { name: 'inner' } }], {}, { resolvePipeline }).doc, { inner: true });
  });

  it('reports the innermost failing processor', () => {
    const result = runWith([{ pipeline: { name: 'failing' } }], {}, { resolvePipeline });
    assert.deepEqual(result.error, { message: 'inner failed', processor_type: 'fail', processor_tag: 'deep' });
  });

  it('missing pipelines fail unless ignore_missing_pipeline', () => {
    assert.match(runWith([{ pipeline: { name: 'nope' } }], {}, { resolvePipeline }).error!.message, /non-existent pipeline \[nope\]/);
    assert.equal(runWith([{ pipeline: { name: 'nope', ignore_missing_pipeline: true } }], {}, { resolvePipeline }).error, undefined);
  });

  it('detects cycles at run time', () => {
    assert.match(runWith([{ pipeline: { name: 'a' } }], {}, { resolvePipeline }).error!.message, /Cycle detected for pipeline: a/);
  });

  it('foreach processes each element through _ingest._value', () => {
    const result = runWith([{ foreach: { field: 'tags', processor: { uppercase: { field: '_ingest._value' } } } }], { tags: ['a', 'b'] });
    assert.deepEqual(result.doc.tags, ['A', 'B']);
  });

  it('foreach over objects exposes _ingest._key', () => {
    const result = runWith([{ foreach: { field: 'm', processor: { set: { field: '_ingest._value', value: '{{_ingest._key}}={{_ingest._value}}' } } } }], { m: { x: 1, y: 2 } });
    assert.deepEqual(result.doc.m, { x: 'x=1', y: 'y=2' });
  });

  it('foreach honours ignore_missing', () => {
    const processor = { uppercase: { field: '_ingest._value' } };
    assert.equal(runWith([{ foreach: { field: 'tags', processor, ignore_missing: true } }], {}).error, undefined);
    assert.match(runWith([{ foreach: { field: 'tags', processor } }], {}).error!.message, /not present/);
  });
});

describe('compilation', () => {
  it('names the processor and option of an invalid definition', () => {
    assert.throws(
      () => compilePipeline({ processors: [{ set: { field: 'a', value: 1 } }, { grok: { field: 'm', patterns: ['%{NOPE:x}'] } }] }),
      (err: unknown) => err instanceof NyxError && /processors\[1\]\.grok\.patterns\[0\]: Unable to find pattern \[NOPE\]/.test(err.message),
    );
    assert.throws(() => compilePipeline({ processors: [{ set: { field: 'a', value: 1, bogus: true } }] }), /processors\[0\]\.set: unknown option\(s\) \[bogus\]/);
    assert.throws(() => compilePipeline({ processors: [{ nope: {} }] }), /processors\[0\]\.nope: unknown processor type \[nope\]/);
    assert.throws(() => compilePipeline({ processors: [{ set: { field: 'a' } }] }), /processors\[0\]\.set: exactly one of \[value\] or \[copy_from\]/);
    assert.throws(
      () => compilePipeline({ processors: [{ set: { field: 'a', value: 1, on_failure: [{ date: { field: 'x', formats: ['yyyy'], timezone: 'Mars/Base' } }] } }] }),
      /processors\[0\]\.set\.on_failure\[0\]\.date\.timezone: The datetime zone id 'Mars\/Base' is not recognised/,
    );
  });

  it('rejects conditions outside the Painless subset, naming the token', () => {
    assert.throws(() => compilePipeline({ processors: [{ drop: { if: 'ctx.a = 1' } }] }), /processors\[0\]\.drop\.if: unsupported token \[=\]/);
    assert.throws(() => compilePipeline({ processors: [{ drop: { if: "ctx.a.matches('x')" } }] }), /unsupported method: \[matches\]/);
  });

  it('the schema reports nested paths', () => {
    const parsed = pipelineDefinitionSchema.safeParse({ processors: [{ foreach: { field: 'a', processor: { grok: { field: 'm', patterns: [1] } } } }] });
    assert.equal(parsed.success, false);
    assert.deepEqual(parsed.error!.issues[0]!.path, ['processors', 0, 'foreach', 'processor', 'grok', 'patterns', 0]);
  });

  it('script runs only with a native implementation registered under its tag', () => {
    assert.throws(() => compilePipeline({ processors: [{ script: { source: 'ctx.x = 1', tag: 'unregistered-tag' } }] }), /no native implementation is registered for tag \[unregistered-tag\]/);
    assert.throws(() => compilePipeline({ processors: [{ script: { source: 'ctx.x = 1' } }] }), /processors\[0\]\.script\.tag: painless cannot run/);
    registerNativeScript('double-it', (ctx, params) => {
      ctx.n = (ctx.n as number) * (params.factor as number);
    });
    assert.deepEqual(runWith([{ script: { source: 'ctx.n *= params.factor', params: { factor: 2 }, tag: 'double-it' } }], { n: 21 }).doc, { n: 42 });
  });

  it('processorsUsed walks on_failure, foreach and named pipelines', () => {
    const used = processorsUsed(
      {
        processors: [{ foreach: { field: 'a', processor: { lowercase: { field: '_ingest._value' } } } }, { pipeline: { name: 'sub' } }],
        on_failure: [{ set: { field: 'e', value: 1, on_failure: [{ append: { field: 'x', value: 1 } }] } }],
      },
      (name) => (name === 'sub' ? { processors: [{ grok: { field: 'm', patterns: ['%{WORD}'] } }] } : undefined),
    );
    assert.deepEqual([...used].sort(), ['append', 'foreach', 'grok', 'lowercase', 'pipeline', 'set']);
    for (const type of used) assert.ok(SUPPORTED_PROCESSORS.has(type));
  });
});

describe('sanity at volume (no timing asserted)', () => {
  it('processes many documents with identical, correct results', () => {
    const pipeline = compilePipeline({
      processors: [
        { dissect: { field: 'message', pattern: '%{source.ip} %{http.request.method} %{url.path} %{http.response.status_code}' } },
        { convert: { field: 'http.response.status_code', type: 'integer' } },
        { set: { field: 'event.outcome', value: 'failure', if: 'ctx.http.response.status_code >= 400' } },
        { lowercase: { field: 'http.request.method' } },
      ],
    });
    let failures = 0;
    for (let i = 0; i < 20000; i++) {
      const status = i % 2 === 0 ? 200 : 404;
      const result = pipeline.run({ message: `10.0.0.${i % 255} GET /p/${i} ${status}` });
      const doc = result.doc as { http: { response: { status_code: number } }; event?: { outcome: string } };
      if (result.error || doc.http.response.status_code !== status || (status === 404) !== (doc.event?.outcome === 'failure')) failures++;
    }
    assert.equal(failures, 0);
  });
});
