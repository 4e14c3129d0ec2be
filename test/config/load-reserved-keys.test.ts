/**
 * nyx.yml and env overrides: a `__proto__` / `constructor` / `prototype` key is refused with the file (or the
 * variable) and the key's path, and never changes Object.prototype.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'nyx-config-reserved-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, yaml: string): string {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

const RULE = /__proto__, constructor and prototype cannot name a field or key/;

describe('config loader: reserved keys', () => {
  test('__proto__ nested in nyx.yml is refused with the file and the path', () => {
    const file = configFile('proto.yml', 'elasticsearch:\n  url: http://127.0.0.1:9200\n  __proto__:\n    polluted: yes\n');
    assert.throws(() => loadConfig({ path: file, env: {} }), (err: Error) => {
      assert.equal(err.message, `${file}: elasticsearch.__proto__: __proto__, constructor and prototype cannot name a field or key`);
      return true;
    });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('constructor.prototype at the top level, and a dotted key with a reserved segment, are refused', () => {
    const top = configFile('ctor.yml', 'constructor:\n  prototype:\n    polluted: yes\n');
    assert.throws(() => loadConfig({ path: top, env: {} }), new RegExp(`${top.replace(/[.]/g, '\\.')}: constructor: ${RULE.source}`));
    const dotted = configFile('dotted.yml', 'ingest:\n  "a.__proto__.b": 1\n');
    assert.throws(() => loadConfig({ path: dotted, env: {} }), /ingest\.a\.__proto__\.b: __proto__, constructor/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('an env override whose name walks into constructor/prototype is refused naming the variable', () => {
    const file = configFile('ok.yml', 'namespace: default\n');
    assert.throws(() => loadConfig({ path: file, env: { NYX__CONSTRUCTOR__PROTOTYPE__POLLUTED: 'yes' } }), /^NyxError: NYX__CONSTRUCTOR__PROTOTYPE__POLLUTED: constructor\.prototype\.polluted: __proto__, constructor/);
    assert.throws(() => loadConfig({ path: file, env: { NYX__ELASTICSEARCH__CONSTRUCTOR: 'x' } }), /NYX__ELASTICSEARCH__CONSTRUCTOR: elasticsearch\.constructor: /);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('a clean file with env overrides still loads', () => {
    const file = configFile('clean.yml', 'namespace: default\n');
    const { config } = loadConfig({ path: file, env: { NYX__NAMESPACE: 'blue', ELASTICSEARCH_URL: 'http://127.0.0.1:9201' } });
    assert.equal(config.namespace, 'blue');
  });
});
