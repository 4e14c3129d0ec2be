// Shared fixtures: detection snippets with events they must / must not match. Used by the
// matcher unit tests and by the differential test (each case becomes a rule run over all events).
import { buildFieldMappings, parseFieldMapping, type FieldMappings } from '../../src/detection/sigma/index.ts';
import { loadFieldMappings } from '../../src/detection/sigma/index.ts';

export const TEST_MAPPING_YAML = `
name: unit
logsources:
  - match: { product: unittest }
    indices: [sigma-diff-*]
fallback: '{field}'
keyword_fields: [message]
field_types: { src: ip, port: number }
placeholders:
  Administrators: ['admin*', root]
`;

export function testMappings(withPack = false): FieldMappings {
  const unit = parseFieldMapping(TEST_MAPPING_YAML, 'unit.yml');
  const pack = withPack ? loadFieldMappings(new URL('../../rules/mappings', import.meta.url).pathname).files : [];
  return buildFieldMappings([...pack, unit]);
}

export function ruleYaml(detection: string, title = 'case'): string {
  const body = detection
    .trim()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
  return `title: '${title.replace(/'/g, "''")}'\nlogsource:\n  product: unittest\ndetection:\n${body}\n`;
}

export interface MatchCase {
  name: string;
  detection: string;
  match: Record<string, unknown>[];
  noMatch: Record<string, unknown>[];
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const b64u16 = (s: string): string => Buffer.from(s, 'utf16le').toString('base64');

export const MATCH_CASES: MatchCase[] = [
  { name: 'plain value is case-insensitive equality', detection: "sel:\n  Image: 'C:\\Windows\\cmd.exe'\ncondition: sel", match: [{ Image: 'c:\\windows\\CMD.EXE' }], noMatch: [{ Image: 'C:\\Windows\\cmd.exe2' }, {}] },
  { name: 'cased is case-sensitive', detection: "sel:\n  Image|cased: 'CMD.exe'\ncondition: sel", match: [{ Image: 'CMD.exe' }], noMatch: [{ Image: 'cmd.exe' }] },
  { name: 'cased with contains', detection: "sel:\n  Image|contains|cased: 'Evil'\ncondition: sel", match: [{ Image: 'xEvilx' }], noMatch: [{ Image: 'xevilx' }] },
  { name: 'contains', detection: "sel:\n  CommandLine|contains: mimikatz\ncondition: sel", match: [{ CommandLine: 'run MimiKatz now' }], noMatch: [{ CommandLine: 'mimi katz' }] },
  { name: 'startswith', detection: "sel:\n  CommandLine|startswith: 'net user'\ncondition: sel", match: [{ CommandLine: 'NET USER bob /add' }], noMatch: [{ CommandLine: 'cmd /c net user' }] },
  { name: 'endswith', detection: "sel:\n  Image|endswith: '\\rundll32.exe'\ncondition: sel", match: [{ Image: 'C:\\Windows\\System32\\RUNDLL32.exe' }], noMatch: [{ Image: 'C:\\rundll32.exe.bak' }] },
  { name: 'list of values is OR', detection: "sel:\n  User:\n    - alice\n    - bob\ncondition: sel", match: [{ User: 'BOB' }], noMatch: [{ User: 'carol' }] },
  { name: 'all makes a list AND', detection: "sel:\n  CommandLine|contains|all:\n    - ' -a'\n    - ' -b'\ncondition: sel", match: [{ CommandLine: 'x -b -a' }], noMatch: [{ CommandLine: 'x -a' }] },
  { name: 'map is AND', detection: "sel:\n  User: alice\n  Host: ws1\ncondition: sel", match: [{ User: 'alice', Host: 'WS1' }], noMatch: [{ User: 'alice', Host: 'ws2' }] },
  { name: 'list of maps is OR', detection: "sel:\n  - User: alice\n  - Host: ws9\ncondition: sel", match: [{ User: 'alice' }, { Host: 'ws9' }], noMatch: [{ User: 'x', Host: 'y' }] },
  { name: 'wildcards * and ?', detection: "sel:\n  Image: 'C:\\\\*\\cmd?.exe'\ncondition: sel", match: [{ Image: 'C:\\a\\b\\cmd1.exe' }], noMatch: [{ Image: 'C:\\cmd.exe' }, { Image: 'C:\\a\\cmd12.exe' }] },
  { name: 'escaped ? and * are literal', detection: "sel:\n  Title:\n    - 'what\\?'\n    - 'star\\*'\ncondition: sel", match: [{ Title: 'WHAT?' }, { Title: 'star*' }], noMatch: [{ Title: 'whatx' }, { Title: 'starxx' }] },
  { name: 'escaped backslash before a wildcard', detection: "sel:\n  Path: 'C:\\\\*'\ncondition: sel", match: [{ Path: 'C:\\foo' }], noMatch: [{ Path: 'D:\\foo' }, { Path: 'C:foo' }] },
  { name: 'windash', detection: "sel:\n  CommandLine|windash|contains: ' -nop '\ncondition: sel", match: [{ CommandLine: 'ps /nop x' }, { CommandLine: 'ps \u2013nop x' }, { CommandLine: 'ps -NOP x' }], noMatch: [{ CommandLine: 'ps nop x' }] },
  { name: 'base64', detection: "sel:\n  Data|base64: hello\ncondition: sel", match: [{ Data: b64('hello') }], noMatch: [{ Data: 'hello' }] },
  { name: 'base64offset|contains', detection: "sel:\n  CommandLine|base64offset|contains: 'http://'\ncondition: sel", match: [{ CommandLine: b64('http://x') }, { CommandLine: b64('a http://x') }, { CommandLine: b64('ab http://x') }], noMatch: [{ CommandLine: b64('https://x') }] },
  { name: 'utf16le|base64offset|contains (PowerShell -enc)', detection: "sel:\n  CommandLine|utf16le|base64offset|contains: 'iex'\ncondition: sel", match: [{ CommandLine: `powershell -enc ${b64u16('foo;iex(x)')}` }, { CommandLine: b64u16('xiex') }], noMatch: [{ CommandLine: b64('foo;iex(x)') }] },
  { name: 'wide is utf16le', detection: "sel:\n  CommandLine|wide|base64: 'ab'\ncondition: sel", match: [{ CommandLine: b64u16('ab') }], noMatch: [{ CommandLine: b64('ab') }] },
  { name: 'utf16be and utf16 (BOM)', detection: "be:\n  CommandLine|utf16be|base64: 'ab'\nbom:\n  CommandLine|utf16|base64: 'ab'\ncondition: 1 of them", match: [{ CommandLine: Buffer.from([0, 0x61, 0, 0x62]).toString('base64') }, { CommandLine: Buffer.from([0xff, 0xfe, 0x61, 0, 0x62, 0]).toString('base64') }], noMatch: [{ CommandLine: b64u16('ab') }] },
  { name: 're is case-sensitive by default', detection: "sel:\n  CommandLine|re: 'a[0-9]+z'\ncondition: sel", match: [{ CommandLine: 'xa123zx' }], noMatch: [{ CommandLine: 'az' }, { CommandLine: 'A1Z' }] },
  { name: 're|i', detection: "sel:\n  CommandLine|re|i: '^a[0-9]+z$'\ncondition: sel", match: [{ CommandLine: 'A12Z' }], noMatch: [{ CommandLine: 'xa12z' }] },
  { name: 're|s lets dot match newline', detection: "sel:\n  CommandLine|re|s: 'begin.+end'\ncondition: sel", match: [{ CommandLine: 'begin\nend' }], noMatch: [{ CommandLine: 'begin\nen' }] },
  { name: 're without s: dot stops at newline', detection: "sel:\n  CommandLine|re: 'begin.+end'\ncondition: sel", match: [{ CommandLine: 'begin-end' }], noMatch: [{ CommandLine: 'begin\nend' }] },
  { name: 're|m anchors at lines', detection: "sel:\n  CommandLine|re|m: '^foo$'\ncondition: sel", match: [{ CommandLine: 'x\nfoo\ny' }], noMatch: [{ CommandLine: 'x foo y' }] },
  { name: 'cidr IPv4', detection: "sel:\n  src|cidr: 10.0.0.0/8\ncondition: sel", match: [{ src: '10.1.2.3' }], noMatch: [{ src: '11.0.0.1' }, { src: 'not-an-ip' }] },
  { name: 'cidr IPv6', detection: "sel:\n  src|cidr: 'fd00::/8'\ncondition: sel", match: [{ src: 'fd12::1' }], noMatch: [{ src: '2001:db8::1' }, { src: '10.0.0.1' }] },
  { name: 'startswith on an ip field becomes a CIDR', detection: "sel:\n  src|startswith: '192.168.'\ncondition: sel", match: [{ src: '192.168.4.2' }], noMatch: [{ src: '192.169.0.1' }] },
  { name: 'ip equality compares addresses', detection: "sel:\n  src: '::1'\ncondition: sel", match: [{ src: '0:0:0:0:0:0:0:1' }], noMatch: [{ src: '::2' }] },
  { name: 'lt/lte/gt/gte', detection: "low:\n  port|lt: 10\nedge:\n  port|lte: 22\nhigh:\n  port|gt: 60000\nhighedge:\n  port|gte: 8080\ncondition: 1 of them", match: [{ port: 5 }, { port: 22 }, { port: 60001 }, { port: 8080 }], noMatch: [{ port: 23 }, { port: 8079 }] },
  { name: 'null means absent', detection: "sel:\n  Image: x.exe\nfilter:\n  User: null\ncondition: sel and filter", match: [{ Image: 'x.exe' }, { Image: 'x.exe', User: null }], noMatch: [{ Image: 'x.exe', User: 'bob' }] },
  { name: 'null inside a value list', detection: "sel:\n  User:\n    - null\n    - guest\ncondition: sel", match: [{ Other: 1 }, { User: 'Guest' }], noMatch: [{ User: 'bob' }] },
  { name: 'exists true/false', detection: "sel:\n  User|exists: true\n  Proxy|exists: false\ncondition: sel", match: [{ User: 'a' }, { User: '' }], noMatch: [{ User: 'a', Proxy: 'p' }, { Proxy: 'p' }] },
  { name: 'fieldref (case-insensitive)', detection: "sel:\n  a|fieldref: b\ncondition: sel", match: [{ a: 'X', b: 'x' }], noMatch: [{ a: 'x', b: 'y' }, { a: 'x' }] },
  { name: 'fieldref cased', detection: "sel:\n  a|fieldref|cased: b\ncondition: sel", match: [{ a: 'x', b: 'x' }], noMatch: [{ a: 'X', b: 'x' }] },
  { name: 'neq', detection: "sel:\n  Image: x.exe\n  User|neq: root\ncondition: sel", match: [{ Image: 'x.exe', User: 'bob' }, { Image: 'x.exe' }], noMatch: [{ Image: 'x.exe', User: 'ROOT' }] },
  { name: 'expand with configured placeholders', detection: "sel:\n  User|expand: '%Administrators%'\ncondition: sel", match: [{ User: 'Admin-Bob' }, { User: 'root' }], noMatch: [{ User: 'bob' }] },
  { name: 'keyword search is a case-insensitive substring of message', detection: "keywords:\n  - 'evil.com'\n  - 'bad*thing'\ncondition: keywords", match: [{ message: 'visit EVIL.com now' }, { message: 'a bad, bad thing' }], noMatch: [{ message: 'good' }, { link: 'evil.com' }] },
  { name: 'keyword |all', detection: "keywords:\n  '|all':\n    - a1\n    - b2\ncondition: keywords", match: [{ message: 'x b2 y a1' }], noMatch: [{ message: 'a1 only' }] },
  { name: 'numbers compare as text', detection: "sel:\n  EventID: 4688\ncondition: sel", match: [{ EventID: 4688 }, { EventID: '4688' }], noMatch: [{ EventID: 46880 }] },
  { name: 'booleans', detection: "sel:\n  Signed: false\ncondition: sel", match: [{ Signed: false }, { Signed: 'false' }], noMatch: [{ Signed: true }] },
  { name: 'multi-valued fields match on any value', detection: "sel:\n  tags: beta\ncondition: sel", match: [{ tags: ['alpha', 'BETA'] }], noMatch: [{ tags: ['alpha'] }] },
  { name: 'nested and dotted keys', detection: "sel:\n  process.name|endswith: '.exe'\n  process.parent.name: explorer.exe\ncondition: sel", match: [{ process: { name: 'a.exe', parent: { name: 'explorer.exe' } } }, { 'process.name': 'a.exe', 'process.parent.name': 'Explorer.exe' }, { process: { name: 'a.exe', 'parent.name': 'explorer.exe' } }], noMatch: [{ process: { name: 'a.exe' } }] },
  { name: 'empty string', detection: "sel:\n  User: ''\ncondition: sel", match: [{ User: '' }], noMatch: [{ User: 'x' }, {}] },
  { name: 'condition: 1 of x*', detection: "sel_a:\n  A: '1'\nsel_b:\n  B: '1'\nother:\n  C: '1'\ncondition: 1 of sel_*", match: [{ A: '1' }, { B: '1' }], noMatch: [{ C: '1' }] },
  { name: 'condition: all of x*', detection: "sel_a:\n  A: '1'\nsel_b:\n  B: '1'\ncondition: all of sel_*", match: [{ A: '1', B: '1' }], noMatch: [{ A: '1' }] },
  { name: 'condition: 1 of them (underscore excluded)', detection: "a:\n  A: '1'\nb:\n  B: '1'\n_hidden:\n  H: '1'\ncondition: 1 of them", match: [{ B: '1' }], noMatch: [{ H: '1' }] },
  { name: 'condition: all of them', detection: "a:\n  A: '1'\nb:\n  B: '1'\ncondition: all of them", match: [{ A: '1', B: '1' }], noMatch: [{ B: '1' }] },
  { name: 'condition: not, and, or, parentheses, precedence', detection: "x:\n  X: '1'\ny:\n  Y: '1'\nz:\n  Z: '1'\ncondition: x and not (y or z) or z and y", match: [{ X: '1' }, { Y: '1', Z: '1' }], noMatch: [{ X: '1', Y: '1' }, { Z: '1' }] },
  { name: 'condition list is OR', detection: "x:\n  X: '1'\ny:\n  Y: '1'\ncondition:\n  - x\n  - y", match: [{ Y: '1' }], noMatch: [{ Z: '1' }] },
  { name: 'not of missing field', detection: "sel:\n  Image: a\nfilter:\n  User|startswith: adm\ncondition: sel and not filter", match: [{ Image: 'a' }, { Image: 'a', User: 'bob' }], noMatch: [{ Image: 'a', User: 'Admin' }] },
];
