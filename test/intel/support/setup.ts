import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { loadAssetCatalog } from '../../../src/assets/catalog.ts';
import { writeClusterAsset } from '../../../src/bootstrap/cluster-assets.ts';
import { NYX_VERSION } from '../../../src/bootstrap/index.ts';
import { metaFor } from '../../../src/bootstrap/plan.ts';
import { configSchema } from '../../../src/config/index.ts';
import { feedDefinitionSchema, loadWarningLists, type FeedDefinition, type FeedRuntime } from '../../../src/intel/index.ts';
import { testClient, uniqueNamespace } from '../../support/elastic.ts';

const TEMPLATES = ['nyx-ti-indicators', 'nyx-ti-latest', 'nyx-cves', 'nyx-advisories', 'nyx-state', 'nyx-leases'];
let installed: Promise<void> | undefined;

/** Installs the templates intel uses exactly as `nyx bootstrap` writes them (same _meta, so no drift; once per process). */
export function installIntelTemplates(client: Client): Promise<void> {
  installed ??= (async () => {
    for (const asset of loadAssetCatalog().system.filter((a) => TEMPLATES.includes(a.name) && a.kind === 'index_template')) {
      const desired = { kind: 'index_template' as const, name: asset.name, version: asset.version, body: asset.body };
      await writeClusterAsset(client, 'index_template', asset.name, asset.body, metaFor(desired, NYX_VERSION));
    }
  })();
  return installed;
}

export const FEEDS_DIR = join(import.meta.dirname, '..', '..', '..', 'feeds');

export interface IntelTestEnv {
  client: Client;
  namespace: string;
  rt: FeedRuntime;
  tmp: string;
  feed(def: Record<string, unknown>): FeedDefinition;
}

/** A runtime with its own namespace and its own CVE/advisory indices, so tests never see each other. */
export async function intelTestEnv(env: NodeJS.ProcessEnv = {}): Promise<IntelTestEnv> {
  const client = testClient();
  await installIntelTemplates(client);
  const namespace = uniqueNamespace('ti');
  const intel = configSchema.parse({}).intel;
  return {
    client,
    namespace,
    tmp: mkdtempSync(join(tmpdir(), 'nyx-intel-')),
    rt: {
      client,
      namespace,
      intel: { ...intel, lease_ttl_ms: 30_000 },
      warnings: loadWarningLists(FEEDS_DIR, { addresses: ['198.18.0.0/15', '203.0.113.250'], domains: ['our-company.test'] }),
      env,
      holder: `test-${namespace}`,
      cveIndex: `nyx-cves-${namespace}`,
      advisoryIndex: `nyx-advisories-${namespace}`,
    },
    // Tests run fast: no waiting out rate limits unless a test asks; fixtures are dated, so long expiry.
    feed: (def) => feedDefinitionSchema.parse({ limits: { timeout_ms: 3000, retries: 0, max_retry_after_s: 0 }, expiry_days: 3650, ...def }),
  };
}
