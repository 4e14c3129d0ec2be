/** Asset files (pipelines, templates): a reserved key is refused with the file, the line and the key's path. */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DEFAULT_ASSETS_DIR, loadAssetCatalog } from '../../src/assets/catalog.ts';

const dir = mkdtempSync(join(tmpdir(), 'nyx-assets-reserved-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a __proto__ key in a source asset refuses the catalog, naming file, line and path', () => {
  cpSync(DEFAULT_ASSETS_DIR, dir, { recursive: true });
  const file = join(dir, 'cowrie.yml');
  const text = readFileSync(file, 'utf8');
  // A first-level key of the mappings, as a hand-edited template would carry it.
  const edited = text.replace(/^mappings:\n  properties:\n/m, 'mappings:\n  properties:\n    __proto__:\n      polluted: {type: keyword}\n');
  assert.notEqual(edited, text, 'the fixture edit applies');
  writeFileSync(file, edited);
  const line = edited.split('\n').findIndex((l) => l.trim() === '__proto__:') + 1;
  assert.throws(() => loadAssetCatalog(dir), (err: Error) => {
    assert.equal(err.message, `${file}:${line}: mappings.properties.__proto__: __proto__, constructor and prototype cannot name a field or key`);
    return true;
  });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('the shipped assets load', () => {
  assert.ok(loadAssetCatalog().sources.length > 0);
});
