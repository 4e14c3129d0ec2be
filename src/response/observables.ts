import { isIP } from 'node:net';
import { readField } from './template.ts';

/**
 * Observables (TheHive/Cortex data types) taken from an alert's ECS fields: IPs, domains, hashes, URLs, users, hosts.
 * TheHive 5 has no "user" type: users go as `other` tagged ecs:user.name.
 */
export interface Observable {
  dataType: string;
  data: string;
  tags: string[];
}

const FIELDS: Array<[string, string]> = [
  ['source.ip', 'ip'],
  ['destination.ip', 'ip'],
  ['client.ip', 'ip'],
  ['server.ip', 'ip'],
  ['host.ip', 'ip'],
  ['related.ip', 'ip'],
  ['destination.domain', 'domain'],
  ['source.domain', 'domain'],
  ['url.domain', 'domain'],
  ['dns.question.name', 'domain'],
  ['url.full', 'url'],
  ['file.hash.md5', 'hash'],
  ['file.hash.sha1', 'hash'],
  ['file.hash.sha256', 'hash'],
  ['process.hash.md5', 'hash'],
  ['process.hash.sha1', 'hash'],
  ['process.hash.sha256', 'hash'],
  ['related.hash', 'hash'],
  ['file.name', 'filename'],
  ['host.name', 'hostname'],
  ['host.hostname', 'hostname'],
  ['user.name', 'other'],
  ['user.target.name', 'other'],
  ['related.user', 'other'],
  ['user.email', 'mail'],
];

export function observablesFromAlert(alert: unknown): Observable[] {
  const seen = new Map<string, Observable>();
  for (const [field, dataType] of FIELDS) {
    const raw = readField(alert, field);
    const values = Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw];
    for (const v of values) {
      if (typeof v !== 'string' && typeof v !== 'number') continue;
      const data = String(v).trim();
      if (!data || (dataType === 'ip' && !isIP(data))) continue;
      const key = `${dataType}\u0000${data}`;
      const existing = seen.get(key);
      if (existing) existing.tags.push(`ecs:${field}`);
      else seen.set(key, { dataType, data, tags: [`ecs:${field}`] });
    }
  }
  return [...seen.values()];
}
