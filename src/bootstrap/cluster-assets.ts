import { errors, type Client } from '@elastic/elasticsearch';
import type { AssetKind } from './desired.ts';

/**
 * Reads, writes and deletes one asset of each kind through the official client's typed APIs.
 * Bodies come from validated asset files, so they are passed through as the request body.
 */

export interface ClusterAsset {
  body: Record<string, unknown>;
  meta: Record<string, unknown> | undefined;
}

function isNotFound(err: unknown): boolean {
  return err instanceof errors.ResponseError && err.statusCode === 404;
}

export async function readClusterAsset(client: Client, kind: AssetKind, name: string): Promise<ClusterAsset | undefined> {
  try {
    switch (kind) {
      case 'component_template': {
        const res = await client.cluster.getComponentTemplate({ name });
        const found = res.component_templates.find((t) => t.name === name);
        if (!found) return undefined;
        const { _meta, ...body } = found.component_template as unknown as Record<string, unknown>;
        return { body, meta: _meta as Record<string, unknown> | undefined };
      }
      case 'index_template': {
        const res = await client.indices.getIndexTemplate({ name });
        const found = res.index_templates.find((t) => t.name === name);
        if (!found) return undefined;
        const { _meta, ...body } = found.index_template as unknown as Record<string, unknown>;
        return { body, meta: _meta as Record<string, unknown> | undefined };
      }
      case 'ingest_pipeline': {
        const res = await client.ingest.getPipeline({ id: name });
        const found = res[name];
        if (!found) return undefined;
        const { _meta, ...body } = found as unknown as Record<string, unknown>;
        return { body, meta: _meta as Record<string, unknown> | undefined };
      }
      case 'ml_job': {
        const res = await client.ml.getJobs({ job_id: name });
        const found = res.jobs[0];
        if (!found) return undefined;
        const { custom_settings, ...body } = found as unknown as Record<string, unknown>;
        return { body, meta: custom_settings as Record<string, unknown> | undefined };
      }
      case 'ml_datafeed': {
        const res = await client.ml.getDatafeeds({ datafeed_id: name });
        const found = res.datafeeds[0];
        if (!found) return undefined;
        return { body: found as unknown as Record<string, unknown>, meta: undefined };
      }
    }
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function writeClusterAsset(client: Client, kind: AssetKind, name: string, body: Record<string, unknown>, meta: Record<string, unknown>): Promise<void> {
  switch (kind) {
    case 'component_template':
      await client.cluster.putComponentTemplate({ name, ...(body as object), _meta: meta } as Parameters<Client['cluster']['putComponentTemplate']>[0]);
      return;
    case 'index_template':
      await client.indices.putIndexTemplate({ name, ...(body as object), _meta: meta } as Parameters<Client['indices']['putIndexTemplate']>[0]);
      await extendExistingIndexMappings(client, body);
      return;
    case 'ingest_pipeline':
      await client.ingest.putPipeline({ id: name, ...(body as object), _meta: meta } as Parameters<Client['ingest']['putPipeline']>[0]);
      return;
    case 'ml_job':
      await client.ml.putJob({ job_id: name, ...(body as object), custom_settings: meta } as Parameters<Client['ml']['putJob']>[0]);
      return;
    case 'ml_datafeed':
      await client.ml.putDatafeed({ datafeed_id: name, ...(body as object) } as Parameters<Client['ml']['putDatafeed']>[0]);
      return;
  }
}

/**
 * A template shapes only indices created after it, so a field added to one of Nyx's own stores (a plain index
 * named exactly by its template, such as nyx-enrollment-tokens) would be refused by the index that already
 * exists (`dynamic: strict`). New fields are added to that index's mapping too; Elasticsearch refuses a
 * change to an existing field, which then fails the bootstrap with its reason. Data streams are left alone.
 */
async function extendExistingIndexMappings(client: Client, body: Record<string, unknown>): Promise<void> {
  const patterns = body.index_patterns;
  const properties = ((body.template as { mappings?: { properties?: Record<string, unknown> } } | undefined)?.mappings)?.properties;
  if (body.data_stream !== undefined || !properties || !Array.isArray(patterns)) return;
  for (const index of patterns) {
    if (typeof index !== 'string' || /[*?,]/.test(index)) continue;
    if (!(await client.indices.exists({ index }))) continue;
    await client.indices.putMapping({ index, properties } as Parameters<Client['indices']['putMapping']>[0]);
  }
}

export async function deleteClusterAsset(client: Client, kind: AssetKind, name: string): Promise<boolean> {
  try {
    switch (kind) {
      case 'component_template':
        await client.cluster.deleteComponentTemplate({ name });
        break;
      case 'index_template':
        await client.indices.deleteIndexTemplate({ name });
        break;
      case 'ingest_pipeline':
        await client.ingest.deletePipeline({ id: name });
        break;
      case 'ml_job':
        await client.ml.deleteJob({ job_id: name, force: true });
        break;
      case 'ml_datafeed':
        await client.ml.deleteDatafeed({ datafeed_id: name, force: true });
        break;
    }
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
