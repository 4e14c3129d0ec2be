import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { Client } from '@elastic/elasticsearch';
import { alertIndex, type AlertDocument } from '../../src/alerts/index.ts';
import type { ActionDriver, ActionOutcome } from '../../src/response/driver.ts';
import { responseSchema, type ResponseConfig } from '../../src/response/config.ts';
import { ResponseEngine } from '../../src/response/engine.ts';
import { parsePlaybook, type Playbook } from '../../src/response/playbook.ts';
import { registerActionDriver } from '../../src/response/drivers/index.ts';
import { z } from 'zod';
import { uniqueNamespace } from '../support/elastic.ts';

/** Puts this capability's store templates (pipelines/system/nyx-response-*.yml) on the test cluster. */
export async function installResponseTemplates(client: Client): Promise<void> {
  for (const name of ['nyx-response-actions', 'nyx-response-audit']) {
    const file = fileURLToPath(new URL(`../../pipelines/system/${name}.yml`, import.meta.url));
    const asset = parseYaml(readFileSync(file, 'utf8')) as { name: string; body: Record<string, unknown> };
    await client.indices.putIndexTemplate({ name: asset.name, ...asset.body });
  }
}

export function sampleAlert(namespace: string, over: { ip?: string; user?: string; rule?: string; severity?: number; risk?: number; at?: string; instance?: string } = {}): AlertDocument {
  const at = over.at ?? new Date().toISOString();
  return {
    '@timestamp': at,
    event: { kind: 'alert', severity: over.severity ?? 73, risk_score: over.risk ?? 81, created: at },
    rule: { id: over.rule ?? 'c86d317c-6495-4cd8-99e3-2fff070b3058', name: 'SSH Brute Force From One Source' },
    threat: { framework: 'MITRE ATT&CK', technique: { id: ['T1110.001'], name: ['Password Guessing'] } },
    ...(over.ip !== undefined ? { source: { ip: over.ip } } : {}),
    user: { name: over.user ?? 'alice' },
    host: { name: 'bastion' },
    ...(over.instance ? { cloud: { instance: { id: over.instance } } } : {}),
    nyx: { alert: { status: 'open', reason: 'SSH brute force', entity: over.ip ?? 'none', entity_type: 'ip', bucket_start: at, namespace, evidence: { event_ids: ['e1'], indices: [`logs-syslog-${namespace}`] } } },
  } as AlertDocument;
}

export async function putAlert(client: Client, namespace: string, id: string, alert: AlertDocument): Promise<void> {
  await client.index({ index: alertIndex(namespace), id, document: alert, refresh: 'wait_for' });
}

/** An in-memory block_ip stand-in (until the nftables driver lands): a set of blocked IPs, calls recorded. */
export class FakeFirewall {
  readonly blocked = new Set<string>();
  readonly applied: string[] = [];
  failNext = 0;
  fail = false;
  driver(type = 'block_ip'): ActionDriver<{ ip: string; ttl_seconds?: number }> {
    const schema = z.object({ ip: z.string().min(1), ttl_seconds: z.number().optional(), alert_id: z.string().optional(), reason: z.string().optional() }).strict();
    return {
      type,
      parse: (p) => schema.parse(p),
      dryRun: (p) => [{ description: `fake-fw add ${p.ip}`, request: { ip: p.ip } }],
      apply: async (_ctx, p): Promise<ActionOutcome> => {
        if (this.fail || this.failNext > 0) {
          this.failNext = Math.max(0, this.failNext - 1);
          return { ok: false, calls: [{ description: `fake-fw add ${p.ip}`, status: 'error', result: 'firewall unreachable' }], summary: 'fake firewall unreachable', error: 'unreachable' };
        }
        this.blocked.add(p.ip);
        this.applied.push(p.ip);
        return { ok: true, calls: [{ description: `fake-fw add ${p.ip}`, status: 0, result: 'added' }], summary: `blocked ${p.ip}`, undo: { ip: p.ip } };
      },
      undo: async (_ctx, p): Promise<ActionOutcome> => {
        this.blocked.delete(p.ip);
        return { ok: true, calls: [{ description: `fake-fw delete ${p.ip}`, status: 0 }], summary: `unblocked ${p.ip}` };
      },
      status: async (_ctx, p) => ({ active: this.blocked.has(p.ip), detail: this.blocked.has(p.ip) ? 'blocked' : 'not blocked' }),
    };
  }
  register(type = 'block_ip'): this {
    registerActionDriver(this.driver(type));
    return this;
  }
}

export function playbook(yaml: string): Playbook {
  return parsePlaybook(yaml, 'test-playbook.yml');
}

export function responseConfig(over: Record<string, unknown> = {}): ResponseConfig {
  return responseSchema.parse(over);
}

/** A settable clock: TTLs and approval expiries end when the test says, not after a wait. */
export class TestClock {
  constructor(public t = Date.now()) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export function engine(client: Client, namespace: string, playbooks: Playbook[], config: ResponseConfig, extra: { holder?: string; clock?: TestClock; leaseIndex?: string; guardrailsOff?: boolean; extraProtectedIps?: string[] } = {}): ResponseEngine {
  return new ResponseEngine({
    client,
    namespace,
    config,
    playbooks,
    holder: extra.holder ?? 'test',
    refresh: 'wait_for',
    ...(extra.clock ? { now: extra.clock.now } : {}),
    ...(extra.leaseIndex ? { leaseIndex: extra.leaseIndex } : {}),
    ...(extra.guardrailsOff ? { guardrailsOff: true } : {}),
    ...(extra.extraProtectedIps ? { extraProtectedIps: extra.extraProtectedIps } : {}),
  });
}

const created: string[] = [];

/** A namespace of the test's own, whose indices `dropTestNamespaces` deletes (the shared dev cluster has a shard cap). */
export function testNamespace(prefix: string): string {
  const ns = uniqueNamespace(prefix);
  created.push(ns);
  return ns;
}

export async function dropTestNamespaces(client: Client): Promise<void> {
  const indices = created.splice(0).flatMap((ns) => [alertIndex(ns), `nyx-response-actions-${ns}`, `nyx-response-audit-${ns}`]);
  for (let i = 0; i < indices.length; i += 30) {
    await client.indices.delete({ index: indices.slice(i, i + 30), ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
  }
}
