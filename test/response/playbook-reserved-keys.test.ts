/** Playbooks: a reserved key anywhere (params included) is refused with the file and the key's path. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parsePlaybook } from '../../src/response/playbook.ts';

const shipped = readFileSync(new URL('../../playbooks/brute-force-block.yml', import.meta.url), 'utf8');

test('__proto__ or constructor under a step\'s params refuses the playbook, naming the path', () => {
  for (const key of ['__proto__', 'constructor']) {
    const text = shipped.replace('      tags: [nyx, brute-force]\n', `      tags: [nyx, brute-force]\n      ${key}:\n        polluted: yes\n`);
    assert.notEqual(text, shipped, 'the fixture edit applies');
    assert.throws(() => parsePlaybook(text, 'pb.yml'), new RegExp(`^NyxError: pb\\.yml: steps\\.0\\.params\\.${key}: __proto__, constructor and prototype cannot name a field or key`));
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(parsePlaybook(shipped, 'pb.yml').name, 'brute-force-block');
});
