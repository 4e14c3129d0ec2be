// Shared by the per-source pipeline tests (test/pipelines/<source>.test.ts): load a source's pipeline
// YAML, compile it with a fixed clock, read fixtures, and assert ECS fields on what it produces.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { compilePipeline, type CompiledPipeline } from '../../src/pipeline-runner/index.ts';

/** The clock every test pipeline runs with: `_ingest.timestamp` and the year of RFC 3164 dates. */
export const NOW = new Date('2025-03-20T12:00:00.000Z');

export function loadSource(source: string): { source: string; version: number; pipeline: unknown; mappings: unknown } {
  return parse(readFileSync(new URL(`../../pipelines/${source}.yml`, import.meta.url), 'utf8'));
}

export function compileSource(source: string, options: { timezone?: string } = {}): CompiledPipeline {
  return compilePipeline(loadSource(source).pipeline, { now: () => NOW, name: `logs-${source}@nyx`, ...options });
}

export function fixtureLines(source: string, file: string): string[] {
  return readFileSync(new URL(`../fixtures/${source}/${file}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

/** Runs one document; nothing may be dropped or left failing (on_failure must have handled it). */
export function runOk(pipeline: CompiledPipeline, doc: Record<string, unknown>): Record<string, unknown> {
  const result = pipeline.run(structuredClone(doc));
  assert.equal(result.dropped, false, 'document was dropped');
  assert.equal(result.error, undefined, `unhandled pipeline failure: ${result.error?.message}`);
  return result.doc;
}

export function get(doc: unknown, path: string): unknown {
  if (doc !== null && typeof doc === 'object' && path in (doc as Record<string, unknown>)) return (doc as Record<string, unknown>)[path];
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Compares each dotted path; `undefined` means absent. `@timestamp`-like date strings compare as instants. */
export function expectFields(doc: Record<string, unknown>, expected: Record<string, unknown>): void {
  for (const [path, want] of Object.entries(expected)) {
    const got = get(doc, path);
    if (typeof want === 'string' && typeof got === 'string' && /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(want)) {
      assert.equal(new Date(got).toISOString(), new Date(want).toISOString(), `${path}: ${got} is not the instant ${want}`);
      continue;
    }
    assert.deepEqual(got, want, `${path}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

/** A malformed input: kept (not dropped), raw text in event.original, error.message set, flagged. */
export function expectPipelineError(doc: Record<string, unknown>, original?: string): void {
  if (original !== undefined) assert.equal(get(doc, 'event.original'), original, 'event.original keeps the raw input');
  const message = get(doc, 'error.message');
  assert.equal(typeof message, 'string', 'error.message is set');
  assert.match(message as string, /^\w+ processor \[[^\]]*\] in pipeline \[logs-\w+@nyx\] failed: .+/);
  assert.equal(get(doc, 'event.kind'), 'pipeline_error');
  assert.ok((get(doc, 'tags') as string[] | undefined)?.includes('nyx_pipeline_error'), 'tagged nyx_pipeline_error');
  assert.ok(get(doc, '@timestamp'), '@timestamp is set, so a data stream accepts it');
}

/** Walks a dotted path through objects and arrays (a numeric segment indexes an array). */
export function fieldAt(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** Runs one document on a copy: it is never dropped, and on_failure handles every failure. */
export function runHandled(pipeline: CompiledPipeline, doc: Record<string, unknown>): Record<string, unknown> {
  const result = pipeline.run(structuredClone(doc));
  assert.equal(result.dropped, false, 'never dropped');
  assert.equal(result.error, undefined, 'on_failure handles every failure');
  return result.doc;
}

/** Compares each dotted path exactly (`undefined` means absent), naming the fixture in a failure. */
export function expectFieldsAt(doc: unknown, expected: Record<string, unknown>, label: string): void {
  for (const [path, value] of Object.entries(expected)) assert.deepEqual(fieldAt(doc, path), value, `${label}: ${path}`);
}
