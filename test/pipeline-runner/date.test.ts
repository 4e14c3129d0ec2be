import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runWith } from './helpers.ts';

const date = (value: unknown, formats: string[], extra: Record<string, unknown> = {}, now = '2024-06-15T12:00:00Z') =>
  runWith([{ date: { field: 't', formats, ...extra } }], { t: value }, { now: () => new Date(now) });

describe('date', () => {
  it('named formats, output with millis like ES', () => {
    assert.equal(date('2024-01-02T03:04:05Z', ['ISO8601']).doc['@timestamp'], '2024-01-02T03:04:05.000Z');
    assert.equal(date('2024-01-02T03:04:05.123456+02:00', ['ISO8601']).doc['@timestamp'], '2024-01-02T01:04:05.123Z');
    assert.equal(date('1700000000', ['UNIX']).doc['@timestamp'], '2023-11-14T22:13:20.000Z');
    assert.equal(date('1700000000.5', ['UNIX']).doc['@timestamp'], '2023-11-14T22:13:20.500Z');
    assert.equal(date(1700000000123, ['UNIX_MS']).doc['@timestamp'], '2023-11-14T22:13:20.123Z');
    assert.equal(date('@400000006553f10a00000000', ['TAI64N']).doc['@timestamp'], '2023-11-14T22:13:20.000Z');
  });

  it('Java patterns, first matching format wins, target_field', () => {
    assert.equal(date('10/Oct/2000:13:55:36 -0700', ['dd/MMM/yyyy:HH:mm:ss Z']).doc['@timestamp'], '2000-10-10T20:55:36.000Z');
    assert.equal(date('2024-03-04 05:06:07,890', ['ISO8601', 'yyyy-MM-dd HH:mm:ss,SSS'], { target_field: 'when' }).doc.when, '2024-03-04T05:06:07.890Z');
    assert.match(date('nonsense', ['ISO8601', 'UNIX']).error!.message, /unable to parse date \[nonsense\]/);
  });

  it('year-less syslog timestamps take the current year, or the previous one across new year', () => {
    assert.equal(date('Jun  3 10:00:00', ['MMM  d HH:mm:ss', 'MMM d HH:mm:ss']).doc['@timestamp'], '2024-06-03T10:00:00.000Z');
    assert.equal(date('Jun 3 10:00:00', ['MMM  d HH:mm:ss', 'MMM d HH:mm:ss']).doc['@timestamp'], '2024-06-03T10:00:00.000Z');
    assert.equal(date('Dec 31 23:59:00', ['MMM d HH:mm:ss'], {}, '2025-01-01T00:10:00Z').doc['@timestamp'], '2024-12-31T23:59:00.000Z');
    // Slightly in the future (clock skew, under a day) keeps the current year.
    assert.equal(date('Jun 15 20:00:00', ['MMM d HH:mm:ss']).doc['@timestamp'], '2024-06-15T20:00:00.000Z');
  });

  it('timezones: IANA ids (with DST), offsets, templates, and the compile option default', () => {
    assert.equal(date('2024-07-01 12:00:00', ['yyyy-MM-dd HH:mm:ss'], { timezone: 'Europe/Berlin' }).doc['@timestamp'], '2024-07-01T12:00:00.000+02:00');
    assert.equal(date('2024-01-01 12:00:00', ['yyyy-MM-dd HH:mm:ss'], { timezone: 'Europe/Berlin' }).doc['@timestamp'], '2024-01-01T12:00:00.000+01:00');
    assert.equal(date('2024-01-01 12:00:00', ['yyyy-MM-dd HH:mm:ss'], { timezone: '-05:00' }).doc['@timestamp'], '2024-01-01T12:00:00.000-05:00');
    const templated = runWith([{ date: { field: 't', formats: ['yyyy-MM-dd HH:mm:ss'], timezone: '{{ tz }}' } }], { t: '2024-01-01 12:00:00', tz: 'America/New_York' });
    assert.equal(templated.doc['@timestamp'], '2024-01-01T12:00:00.000-05:00');
    const bad = runWith([{ date: { field: 't', formats: ['yyyy-MM-dd HH:mm:ss'], timezone: '{{ tz }}' } }], { t: '2024-01-01 12:00:00', tz: 'Nowhere/City' });
    assert.match(bad.error!.message, /not recognised/);
    const byOption = runWith([{ date: { field: 't', formats: ['yyyy-MM-dd HH:mm:ss'] } }], { t: '2024-01-01 12:00:00' }, { timezone: 'Asia/Tokyo' });
    assert.equal(byOption.doc['@timestamp'], '2024-01-01T12:00:00.000+09:00');
  });

  it('output_format and missing fields', () => {
    assert.equal(date('2024-01-02T03:04:05Z', ['ISO8601'], { output_format: 'yyyy/MM/dd' }).doc['@timestamp'], '2024/01/02');
    assert.match(runWith([{ date: { field: 't', formats: ['ISO8601'] } }], {}).error!.message, /field \[t\] not present/);
  });
});
