import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertId } from '../../src/alerts/index.ts';

test('alert ids are deterministic per tenant, rule, entity and bucket, and differ across tenants', () => {
  const a = alertId('rule-1', 'host:ws17', '2026-11-21T06:40:00.000Z', 'acme');
  assert.equal(a, alertId('rule-1', 'host:ws17', '2026-11-21T06:40:00.000Z', 'acme'));
  assert.notEqual(a, alertId('rule-1', 'host:ws17', '2026-11-21T06:40:00.000Z', 'globex'));
  assert.notEqual(a, alertId('rule-1', 'host:ws18', '2026-11-21T06:40:00.000Z', 'acme'));
  assert.notEqual(a, alertId('rule-1', 'host:ws17', '2026-11-21T06:45:00.000Z', 'acme'));
});
