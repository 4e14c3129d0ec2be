import { test } from 'node:test';
import assert from 'node:assert/strict';
import { issueSecret, newId, parseSecret } from '../../src/agents/secrets.ts';

// `nyx agents token revoke <id>` and `nyx agents revoke <id>` take ids as arguments: an id starting with "-"
// was read as an unknown option and the command exited 1 (one id in 64; the flaky serve-e2e token test).
test('ids never start with "-", so the CLI never reads one as an option', () => {
  // 5,000 ids: on the old generator the chance that none starts with "-" is (63/64)^5000, about 1e-34.
  const ids = Array.from({ length: 5000 }, () => newId());
  assert.deepEqual(ids.filter((id) => id.startsWith('-')), []);
  assert.ok(ids.every((id) => /^[A-Za-z0-9_][A-Za-z0-9_-]{15}$/.test(id)));
  assert.equal(new Set(ids).size, ids.length);
});

test('an issued secret parses back to its id; an id made before this change (leading "-") still parses', () => {
  const issued = issueSecret('nyxet');
  assert.equal(parseSecret('nyxet', issued.secret)?.id, issued.id);
  const legacy = issueSecret('nyxak', '-6colAzNrQ1w2e3r');
  assert.equal(parseSecret('nyxak', legacy.secret)?.id, '-6colAzNrQ1w2e3r');
});
