import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runWith } from './helpers.ts';

describe('set / append / remove / rename', () => {
  it('set: dotted paths, templates in names, override, ignore_empty_value, copy_from', () => {
    assert.deepEqual(runWith([{ set: { field: '{{kind}}.count', value: 3 } }], { kind: 'x' }).doc, { kind: 'x', x: { count: 3 } });
    assert.deepEqual(runWith([{ set: { field: 'a', value: 'new', override: false } }], { a: 'old' }).doc, { a: 'old' });
    assert.deepEqual(runWith([{ set: { field: 'a', value: '{{missing}}', ignore_empty_value: true } }], {}).doc, {});
    const copied = runWith([{ set: { field: 'b', copy_from: 'a' } }, { append: { field: 'b.list', value: 2 } }], { a: { list: [1] } }).doc;
    assert.deepEqual(copied, { a: { list: [1] }, b: { list: [1, 2] } });
    assert.match(runWith([{ set: { field: 'a.b', value: 1 } }], { a: 'str' }).error!.message, /cannot set \[b\] with parent object of type \[java.lang.String\]/);
  });

  it('append: creates lists, respects allow_duplicates', () => {
    assert.deepEqual(runWith([{ append: { field: 't', value: ['a', 'b'] } }], {}).doc, { t: ['a', 'b'] });
    assert.deepEqual(runWith([{ append: { field: 't', value: 'x' } }], { t: 'x' }).doc, { t: ['x', 'x'] });
    assert.deepEqual(runWith([{ append: { field: 't', value: ['x', 'y'], allow_duplicates: false } }], { t: ['x'] }).doc, { t: ['x', 'y'] });
  });

  it('remove: lists, ignore_missing, keep', () => {
    assert.deepEqual(runWith([{ remove: { field: ['a', 'b.c'] } }], { a: 1, b: { c: 2, d: 3 } }).doc, { b: { d: 3 } });
    assert.match(runWith([{ remove: { field: 'x' } }], {}).error!.message, /field \[x\] not present as part of path \[x\]/);
    assert.equal(runWith([{ remove: { field: 'x', ignore_missing: true } }], {}).error, undefined);
    assert.deepEqual(runWith([{ remove: { keep: ['a', 'b.c'] } }], { a: 1, b: { c: 2, d: 3 }, e: 4 }).doc, { a: 1, b: { c: 2 } });
  });

  it('rename: moves values, refuses to overwrite unless override', () => {
    assert.deepEqual(runWith([{ rename: { field: 'a.b', target_field: 'c' } }], { a: { b: 1 } }).doc, { a: {}, c: 1 });
    assert.match(runWith([{ rename: { field: 'a', target_field: 'c' } }], { a: 1, c: 2 }).error!.message, /field \[c\] already exists/);
    assert.deepEqual(runWith([{ rename: { field: 'a', target_field: 'c', override: true } }], { a: 1, c: 2 }).doc, { c: 1 });
    assert.equal(runWith([{ rename: { field: 'x', target_field: 'c', ignore_missing: true } }], {}).error, undefined);
  });
});

describe('convert', () => {
  const convert = (type: string, value: unknown) => runWith([{ convert: { field: 'v', type } }], { v: value });
  it('converts scalars and arrays with ES rules', () => {
    assert.equal(convert('integer', '42').doc.v, 42);
    assert.equal(convert('integer', '0x1F').doc.v, 31);
    assert.match(convert('integer', '4.5').error!.message, /unable to convert \[4.5\] to integer/);
    assert.match(convert('integer', '3000000000').error!.message, /to integer/);
    assert.equal(convert('long', '3000000000').doc.v, 3000000000);
    assert.equal(convert('double', '1.5e3').doc.v, 1500);
    assert.equal(convert('boolean', 'TRUE').doc.v, true);
    assert.match(convert('boolean', 'yes').error!.message, /\[yes\] is not a boolean value/);
    assert.equal(convert('string', 12).doc.v, '12');
    assert.deepEqual(convert('integer', ['1', '2']).doc.v, [1, 2]);
    assert.equal(convert('ip', '::1').doc.v, '::1');
    assert.match(convert('ip', '1.2.3').error!.message, /not an IP string literal/);
  });
  it('auto picks the closest type and leaves unconvertible strings alone', () => {
    assert.deepEqual([convert('auto', '7').doc.v, convert('auto', '2.5').doc.v, convert('auto', 'false').doc.v, convert('auto', 'abc').doc.v], [7, 2.5, false, 'abc']);
  });
  it('target_field and ignore_missing', () => {
    assert.deepEqual(runWith([{ convert: { field: 'v', type: 'integer', target_field: 'n' } }], { v: '1' }).doc, { v: '1', n: 1 });
    assert.equal(runWith([{ convert: { field: 'v', type: 'integer', ignore_missing: true } }], {}).error, undefined);
    assert.match(runWith([{ convert: { field: 'v', type: 'integer' } }], { v: null }).error!.message, /is null/);
  });
});

describe('string processors', () => {
  it('lowercase/uppercase/trim/urldecode handle strings and lists, reject other types', () => {
    assert.deepEqual(runWith([{ lowercase: { field: 'a' } }, { uppercase: { field: 'b' } }, { trim: { field: 'c' } }, { urldecode: { field: 'd' } }], { a: 'AbC', b: ['x', 'y'], c: '  t ', d: 'a%20b+c' }).doc, {
      a: 'abc',
      b: ['X', 'Y'],
      c: 't',
      d: 'a b c',
    });
    assert.match(runWith([{ lowercase: { field: 'a' } }], { a: 5 }).error!.message, /of type \[java.lang.Integer\] cannot be cast to \[java.lang.String\]/);
    assert.equal(runWith([{ lowercase: { field: 'a', ignore_missing: true } }], {}).error, undefined);
  });
  it('gsub uses Java regex and replacement syntax', () => {
    assert.equal(runWith([{ gsub: { field: 'a', pattern: '(?<k>\\w+)=(\\d+)', replacement: '${k}:$2' } }], { a: 'x=1 y=2' }).doc.a, 'x:1 y:2');
    assert.equal(runWith([{ gsub: { field: 'a', pattern: '(?i)abc', replacement: '-', target_field: 'b' } }], { a: 'ABCabc' }).doc.b, '--');
  });
  it('split drops trailing empties unless preserve_trailing; join joins lists', () => {
    assert.deepEqual(runWith([{ split: { field: 'a', separator: '\\s*,\\s*' } }], { a: 'x , y,,' }).doc.a, ['x', 'y']);
    assert.deepEqual(runWith([{ split: { field: 'a', separator: ',', preserve_trailing: true } }], { a: 'x,,' }).doc.a, ['x', '', '']);
    assert.equal(runWith([{ join: { field: 'a', separator: '-' } }], { a: ['x', 1] }).doc.a, 'x-1');
    assert.match(runWith([{ join: { field: 'a', separator: '-' } }], { a: 'x' }).error!.message, /cannot be cast to \[java.util.List\]/);
  });
});

describe('parsing processors', () => {
  it('csv: quotes, trim, empty_value, extra columns', () => {
    const doc = runWith([{ csv: { field: 'l', target_fields: ['a', 'b', 'c', 'd'], trim: true, empty_value: 'none' } }], { l: ' 1 , "x, ""y""" ,,' }).doc;
    assert.deepEqual(doc, { l: ' 1 , "x, ""y""" ,,', a: '1', b: 'x, "y"', c: 'none', d: 'none' });
    assert.deepEqual(runWith([{ csv: { field: 'l', target_fields: ['a'] } }], { l: 'p;q' }).doc.a, 'p;q');
    assert.deepEqual(runWith([{ csv: { field: 'l', target_fields: ['a', 'b'], separator: ';' } }], { l: 'p;q;r' }).doc, { l: 'p;q;r', a: 'p', b: 'q' });
  });

  it('dissect: append with order, skip, reference keys, right padding', () => {
    const doc = runWith([{ dissect: { field: 'm', pattern: '%{+name/2} %{+name/1} %{?skip} %{*k} %{&k} %{level->} %{msg}', append_separator: ' ' } }], { m: 'Doe John ignored user bob INFO    hello world' }).doc;
    assert.deepEqual(doc, { m: 'Doe John ignored user bob INFO    hello world', name: 'John Doe', user: 'bob', level: 'INFO', msg: 'hello world' });
    assert.match(runWith([{ dissect: { field: 'm', pattern: '%{a} [%{b}]' } }], { m: 'no brackets' }).error!.message, /Unable to find match for dissect pattern/);
  });

  it('kv: splits, trims, strips brackets, filters and prefixes', () => {
    const doc = runWith(
      [{ kv: { field: 'm', field_split: '&', value_split: '=', target_field: 'q', trim_key: ' ', strip_brackets: true, exclude_keys: ['drop'], prefix: 'p_' } }],
      { m: ' a =<1>&b="two"&a=3&drop=x' },
    ).doc;
    assert.deepEqual(doc.q, { p_a: ['1', '3'], p_b: 'two' });
    assert.deepEqual(runWith([{ kv: { field: 'm', field_split: ' ', value_split: '=', include_keys: ['x'] } }], { m: 'x=1 y=2' }).doc, { m: 'x=1 y=2', x: '1' });
  });

  it('json: in place, target_field, add_to_root, and parse errors', () => {
    assert.deepEqual(runWith([{ json: { field: 'j' } }], { j: '{"a":1}' }).doc, { j: { a: 1 } });
    assert.deepEqual(runWith([{ json: { field: 'j', target_field: 't' } }], { j: '[1]' }).doc, { j: '[1]', t: [1] });
    assert.deepEqual(runWith([{ json: { field: 'j', add_to_root: true } }], { j: '{"a":{"b":1}}', a: { c: 2 } }).doc, { j: '{"a":{"b":1}}', a: { b: 1 } });
    assert.deepEqual(runWith([{ json: { field: 'j', add_to_root: true, add_to_root_conflict_strategy: 'merge' } }], { j: '{"a":{"b":1}}', a: { c: 2 } }).doc.a, { c: 2, b: 1 });
    assert.match(runWith([{ json: { field: 'j' } }], { j: '{bad' }).error!.message, /Unable to parse JSON/);
    assert.match(runWith([{ json: { field: 'j', add_to_root: true } }], { j: '3' }).error!.message, /cannot add non-map fields to root/);
  });

  it('uri_parts and dot_expander', () => {
    const url = runWith([{ uri_parts: { field: 'u' } }], { u: 'https://me:pw@example.com:8443/a/file.tar.gz?q=1#frag' }).doc.url;
    assert.deepEqual(url, { scheme: 'https', domain: 'example.com', port: 8443, path: '/a/file.tar.gz', extension: 'gz', query: 'q=1', fragment: 'frag', user_info: 'me:pw', username: 'me', password: 'pw', original: 'https://me:pw@example.com:8443/a/file.tar.gz?q=1#frag' });
    assert.match(runWith([{ uri_parts: { field: 'u' } }], { u: 'not a uri' }).error!.message, /unable to parse URI/);
    assert.deepEqual(runWith([{ dot_expander: { field: '*' } }], { 'a.b': 1, 'a.c': 2, d: 3 }).doc, { d: 3, a: { b: 1, c: 2 } });
    assert.deepEqual(runWith([{ dot_expander: { field: 'x.y', path: 'p' } }], { p: { 'x.y': 1 } }).doc, { p: { x: { y: 1 } } });
  });
});

describe('enrichment processors', () => {
  it('geoip: ES-shaped public lookup, private IPs add nothing, bad IPs fail', () => {
    const doc = runWith([{ geoip: { field: 'ip' } }], { ip: '81.2.69.142' }).doc as { geoip: Record<string, unknown> };
    assert.equal(doc.geoip.country_iso_code, 'GB');
    assert.equal(doc.geoip.country_name, 'United Kingdom');
    assert.equal(typeof (doc.geoip.location as { lat: number }).lat, 'number');
    assert.deepEqual(runWith([{ geoip: { field: 'ip' } }], { ip: '10.1.2.3' }).doc, { ip: '10.1.2.3' });
    assert.match(runWith([{ geoip: { field: 'ip' } }], { ip: 'nope' }).error!.message, /'nope' is not an IP string literal/);
    assert.deepEqual(runWith([{ geoip: { field: 'ip', target_field: 'g', properties: ['country_iso_code'] } }], { ip: '81.2.69.142' }).doc.g, { country_iso_code: 'GB' });
    assert.equal(runWith([{ geoip: { field: 'ip', ignore_missing: true } }], {}).error, undefined);
  });

  it('geoip uses an injected lookup', () => {
    const geoip = { lookup: (ip: string) => (ip === '1.1.1.1' ? { city_name: 'Testville' } : undefined) };
    assert.deepEqual(runWith([{ geoip: { field: 'ip' } }], { ip: '1.1.1.1' }, { geoip }).doc.geoip, { city_name: 'Testville' });
  });

  it('user_agent: ES output shape', () => {
    const ua = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
    const doc = runWith([{ user_agent: { field: 'agent' } }], { agent: ua }).doc;
    assert.deepEqual(doc.user_agent, { original: ua, name: 'Chrome', version: '120.0.0.0', os: { name: 'Windows', version: '10', full: 'Windows 10' }, device: { name: 'Other' } });
    assert.match(runWith([{ user_agent: { field: 'agent' } }], {}).error!.message, /not present/);
  });

  it('community_id matches the spec test vector and is direction-independent', () => {
    // Vector from the Community ID spec: TCP 128.232.110.120:34855 -> 66.35.250.204:80, seed 0.
    const flow = { source: { ip: '128.232.110.120', port: 34855 }, destination: { ip: '66.35.250.204', port: 80 }, network: { transport: 'tcp' } };
    const reverse = { source: { ip: '66.35.250.204', port: 80 }, destination: { ip: '128.232.110.120', port: 34855 }, network: { transport: 'tcp' } };
    const a = runWith([{ community_id: {} }], flow).doc as { network: { community_id: string } };
    const b = runWith([{ community_id: {} }], reverse).doc as { network: { community_id: string } };
    assert.equal(a.network.community_id, '1:LQU9qZlK+B5F3KDmev6m5PMibrg=');
    assert.equal(b.network.community_id, a.network.community_id);
  });

  it('network_direction classifies flows', () => {
    const dir = (s: string, d: string) => runWith([{ network_direction: { internal_networks: ['private'] } }], { source: { ip: s }, destination: { ip: d } }).doc as { network?: { direction: string } };
    assert.equal(dir('10.0.0.1', '192.168.1.1').network?.direction, 'internal');
    assert.equal(dir('10.0.0.1', '8.8.8.8').network?.direction, 'outbound');
    assert.equal(dir('8.8.8.8', '10.0.0.1').network?.direction, 'inbound');
    assert.equal(dir('8.8.8.8', '1.1.1.1').network?.direction, 'external');
  });

  it('fingerprint is deterministic and order-insensitive over object keys', () => {
    const fp = (doc: Record<string, unknown>) => runWith([{ fingerprint: { fields: ['a', 'b'], method: 'SHA-256' } }], doc).doc.fingerprint;
    assert.equal(fp({ a: { x: 1, y: 2 }, b: 'z' }), fp({ b: 'z', a: { y: 2, x: 1 } }));
    assert.notEqual(fp({ a: 1, b: 'z' }), fp({ a: 2, b: 'z' }));
    assert.match(runWith([{ fingerprint: { fields: ['a'] } }], {}).error!.message, /not present/);
  });
});
