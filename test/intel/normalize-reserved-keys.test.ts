/**
 * Feed data names things (indicator types, item fields): a name that Object.prototype happens to hold
 * (`constructor`, `__proto__`, `toString`) is unknown, never an inherited member; feed definition files with a
 * reserved key are refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadFeedDefinitions } from '../../src/intel/feeds/definitions.ts';
import { normalizeIndicator, WarningLists } from '../../src/intel/normalize/index.ts';
import { valueAtPath } from '../../src/intel/parsers/text.ts';
import { stixPatternValues } from '../../src/intel/sources/stix.ts';

const defaults = { feed: 'f', provider: 'p', confidence: 50, tlp: 'CLEAR', expiryDays: 30, allowTlpRed: false } as const;
const noWarnings = new WarningLists([]);

const dir = mkdtempSync(join(tmpdir(), 'nyx-feeds-reserved-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('an indicator type named like an Object.prototype member is an unsupported type', () => {
  for (const type of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    const outcome = normalizeIndicator({ value: '198.51.100.7', type }, defaults, noWarnings);
    assert.deepEqual(outcome, { ok: false, kind: 'rejected', reason: `unsupported indicator type ${type.toLowerCase()}` });
  }
  assert.equal(normalizeIndicator({ value: '198.51.100.7', type: 'ip-dst' }, defaults, noWarnings).ok, true);
});

test('a mapped JSON feed item reads own fields only', () => {
  assert.equal(valueAtPath({}, 'toString'), undefined);
  assert.equal(valueAtPath({ a: {} }, 'a.constructor'), undefined);
  assert.equal(valueAtPath({ a: { constructor: 'x' } }, 'a.constructor'), 'x');
  assert.equal(valueAtPath(JSON.parse('{"__proto__":{"ioc":"198.51.100.7"}}'), 'ioc'), undefined);
  assert.deepEqual(stixPatternValues("[x:constructor = 'a']"), "no supported observable in pattern [x:constructor = 'a']");
});

test('a feed definition file with a reserved key is refused with the file and the path', () => {
  const file = join(dir, 'bad.yml');
  writeFileSync(file, 'feeds:\n  - name: bad\n    kind: plain\n    url: https://feeds.example/list.txt\n    mapping: {value: 0, __proto__: {polluted: yes}}\n');
  assert.throws(() => loadFeedDefinitions(dir), new RegExp(`^NyxError: ${file.replace(/[.]/g, '\\.')}: feeds\\.0\\.mapping\\.__proto__: __proto__, constructor and prototype cannot name a field or key`));
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
