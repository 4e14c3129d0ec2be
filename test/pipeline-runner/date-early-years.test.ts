import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runWith } from './helpers.ts';

// Issue 19 (6c): JavaScript's Date.UTC reads years 0-99 as 1900-1999, so year 0001 was stored as 1901.
// Elasticsearch's date processor (java.time) reads every year as written.
const date = (value: unknown, formats: string[], extra: Record<string, unknown> = {}) => runWith([{ date: { field: 't', formats, ...extra } }], { t: value }, { now: () => new Date('2024-06-15T12:00:00Z') });

describe('date: years 0000-0099 stay as written', () => {
  it('ISO 8601, in UTC and with an offset', () => {
    assert.equal(date('0001-01-01T00:00:00Z', ['ISO8601']).doc['@timestamp'], '0001-01-01T00:00:00.000Z');
    assert.equal(date('0099-12-31T23:59:59.250Z', ['ISO8601']).doc['@timestamp'], '0099-12-31T23:59:59.250Z');
    assert.equal(date('0000-02-29T12:00:00+02:00', ['ISO8601']).doc['@timestamp'], '0000-02-29T10:00:00.000Z');
    assert.equal(date('0050-06-01T00:00:00', ['ISO8601'], { timezone: 'UTC' }).doc['@timestamp'], '0050-06-01T00:00:00.000Z');
  });

  it('Java patterns and zones', () => {
    assert.equal(date('0001-01-01 00:00:00', ['yyyy-MM-dd HH:mm:ss']).doc['@timestamp'], '0001-01-01T00:00:00.000Z');
    assert.equal((date('0007-03-04 05:06:07', ['yyyy-MM-dd HH:mm:ss'], { timezone: 'Europe/Paris' }).doc['@timestamp'] as string).slice(0, 10), '0007-03-04');
    // A day that exists in no year 0001 calendar is still refused, as Elasticsearch does.
    assert.match(date('0001-02-29 00:00:00', ['yyyy-MM-dd HH:mm:ss']).error!.message, /unable to parse date/);
  });
});
