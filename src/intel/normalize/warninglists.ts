import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { NyxError } from '../../errors.ts';
import { ipToRange, parseCidr, rangesOverlap, type IpRange } from './net.ts';
import { refuseReservedKeys } from '../../reserved-keys.ts';

/**
 * Warning lists: values that must never flag (private and reserved ranges, our own addresses,
 * well-known benign domains). Data files under feeds/warninglists/*.yml, plus intel.own_* config.
 */
export const warningListFileSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    type: z.enum(['cidr', 'domain']),
    entries: z.array(z.string().min(1)).min(1),
  })
  .strict();
export type WarningListFile = z.infer<typeof warningListFileSchema>;

export class WarningLists {
  private readonly ranges: Array<IpRange & { list: string }> = [];
  private readonly domains = new Map<string, string>();

  constructor(lists: WarningListFile[]) {
    for (const list of lists) {
      for (const entry of list.entries) {
        if (list.type === 'cidr') {
          const r = entry.includes('/') ? parseCidr(entry) : ipToRange(entry);
          if (!r) throw new NyxError(`warning list ${list.name}: ${entry} is not an IP or CIDR`);
          this.ranges.push({ ...r, list: list.name });
        } else this.domains.set(entry.toLowerCase().replace(/\.$/, ''), list.name);
      }
    }
  }

  /** The list an IP or CIDR falls in (or overlaps), if any. */
  ipListed(value: string): string | undefined {
    const r = value.includes('/') ? parseCidr(value) : ipToRange(value);
    if (!r) return undefined;
    return this.ranges.find((w) => rangesOverlap(w, r))?.list;
  }

  /** The list a domain (or any parent domain) is on, if any. */
  domainListed(domain: string): string | undefined {
    let d = domain.toLowerCase();
    for (;;) {
      const hit = this.domains.get(d);
      if (hit) return hit;
      const dot = d.indexOf('.');
      if (dot < 0) return undefined;
      d = d.slice(dot + 1);
    }
  }

  get size(): number {
    return this.ranges.length + this.domains.size;
  }
}

export function loadWarningLists(feedsDir: string, own: { addresses: string[]; domains: string[] }): WarningLists {
  const dir = join(feedsDir, 'warninglists');
  const lists: WarningListFile[] = [];
  if (existsSync(dir)) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yml')).sort()) {
      const path = join(dir, file);
      const raw: unknown = parseYaml(readFileSync(path, 'utf8'));
      refuseReservedKeys(raw, path);
      const parsed = warningListFileSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new NyxError(`${path}: ${issue?.path.map(String).join('.') || '(top level)'}: ${issue?.message ?? 'invalid'}`);
      }
      lists.push(parsed.data);
    }
  }
  if (own.addresses.length) lists.push({ name: 'own-addresses', type: 'cidr', entries: own.addresses });
  if (own.domains.length) lists.push({ name: 'own-domains', type: 'domain', entries: own.domains });
  return new WarningLists(lists);
}
