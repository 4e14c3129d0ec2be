import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { runNyx } from '../support/cli.ts';
import { testElasticUrl } from '../support/elastic.ts';
import { postJson, startTestApi, type TestApi } from '../ingest-api/support.ts';
import { escapeForTerminal, formatTable, jsonForTerminal } from '../../src/cli/terminal.ts';

const env = { ELASTICSEARCH_URL: testElasticUrl() };
let api: TestApi | undefined;
after(() => api?.close());

// Anything a terminal would obey: C0 (ESC, BEL, CR, LF), DEL, C1 (CSI U+009B), bidi overrides and isolates.
const TERMINAL_CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

test('an agent that names itself with terminal escapes and a newline is listed as inert text, in one row', async () => {
  api = await startTestApi();
  const marker = randomBytes(6).toString('hex');
  const hostname = `evil\u001b]0;pwned\u0007\nFAKE ROW ${marker}`;
  const os = `\u202elinux\u009b31m ${marker}`;
  const { token } = await api.registry.createToken({ namespace: api.namespace, ttlMs: 3_600_000 });
  const res = await postJson(`${api.url}/api/agents/enroll`, { token, hostname, os, ip: '10.0.0.66', version: '0.1.0' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const agentId = (res.body as { agent_id: string }).agent_id;

  const list = await runNyx(['agents', 'list'], env);
  assert.equal(list.code, 0, list.stderr);
  assert.doesNotMatch(list.stdout, TERMINAL_CONTROLS, 'no control character reaches the terminal');
  const lines = list.stdout.split('\n');
  assert.equal(lines.filter((l) => l.includes(marker)).length, 1, 'the agent is one row, not two');
  assert.ok(!lines.some((l) => l.startsWith('FAKE ROW')), 'no forged row');
  const row = lines.find((l) => l.startsWith(agentId)) ?? '';
  assert.ok(row.includes(`evil\\x1b]0;pwned\\x07\\x0aFAKE ROW ${marker}`), row);
  assert.ok(row.includes(`\\u{202e}linux\\x9b31m ${marker}`), row);

  // --json keeps the exact values (valid JSON) and is as inert in a terminal.
  const json = await runNyx(['agents', 'list', '--json'], env);
  assert.doesNotMatch(json.stdout.trimEnd(), TERMINAL_CONTROLS);
  const mine = (JSON.parse(json.stdout) as Array<{ agent_id: string; hostname: string; os: string }>).find((a) => a.agent_id === agentId);
  assert.deepEqual(mine && { hostname: mine.hostname, os: mine.os }, { hostname, os });
});

test('escapeForTerminal shows every control as an escape and leaves other text alone', () => {
  assert.equal(escapeForTerminal('a\tb\r\nc\u007f\u0085\u200f\u2066d'), 'a\\x09b\\x0d\\x0ac\\x7f\\x85\\u{200f}\\u{2066}d');
  assert.equal(escapeForTerminal('DOMAIN\\alice — ünïcödé 日本 🙂'), 'DOMAIN\\alice — ünïcödé 日本 🙂');
  assert.equal(formatTable([['A', 'B'], ['x\ny', 'z']]), 'A       B\nx\\x0ay  z');
  const value = { s: '\u009b\u202e\u001b' };
  assert.deepEqual(JSON.parse(jsonForTerminal(value)), value);
  assert.doesNotMatch(jsonForTerminal(value), TERMINAL_CONTROLS);
  // Indented JSON keeps its line breaks (structure, not data) and parses back.
  assert.deepEqual(JSON.parse(jsonForTerminal({ a: ['x\ny'] }, 2)), { a: ['x\ny'] });
  assert.equal(jsonForTerminal({ a: 1 }, 2), '{\n  "a": 1\n}');
});
