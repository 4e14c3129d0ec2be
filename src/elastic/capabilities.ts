import { errors, type Client } from '@elastic/elasticsearch';
import { NyxError } from '../errors.ts';
import { explainElasticError } from './client.ts';

/** What the connected cluster can do. Assets that need more than this are skipped with a reason. */
export interface ClusterCapabilities {
  version: string;
  major: number;
  buildFlavor: string;
  license: { type: string; status: string } | null;
  modules: string[];
  ingestProcessors: string[];
  ml: { available: boolean; reason?: string };
  /** _data_stream APIs (list/delete) and lifecycle enforcement live in the data-streams module. */
  dataStreamApi: boolean;
  percolator: boolean;
  painless: boolean;
  /**
   * The constant_keyword mapper (x-pack module constant-keyword): data_stream.type/dataset/namespace are mapped with
   * it where present, so a backing index holds one value and refuses a document naming another tenant.
   */
  constantKeyword: boolean;
}

export const SUPPORTED_MAJOR = 9;

interface NodesInfoBody {
  nodes?: Record<string, { version?: string; build_flavor?: string; modules?: Array<{ name: string }>; ingest?: { processors?: Array<{ type: string }> } }>;
}

export async function detectCapabilities(client: Client, target: string): Promise<ClusterCapabilities> {
  let info: NodesInfoBody;
  try {
    // GET / needs the rest-root module, which minimal distributions lack; nodes info is always there.
    info = (await client.nodes.info({ node_id: '_local', metric: ['ingest', 'plugins'], filter_path: 'nodes.*.version,nodes.*.build_flavor,nodes.*.modules.name,nodes.*.ingest' })) as NodesInfoBody;
  } catch (err) {
    throw explainElasticError(err, target, 'reading cluster capabilities');
  }
  const node = Object.values(info.nodes ?? {})[0];
  if (!node?.version) throw new NyxError(`${target} did not report a node version`);
  const major = Number(node.version.split('.')[0]);
  if (major !== SUPPORTED_MAJOR) {
    throw new NyxError(`Elasticsearch ${node.version} at ${target} is not supported: Nyx needs ${SUPPORTED_MAJOR}.x`);
  }
  const modules = (node.modules ?? []).map((m) => m.name).sort();
  let license: ClusterCapabilities['license'] = null;
  try {
    const res = await client.license.get();
    license = { type: res.license.type, status: res.license.status };
  } catch (err) {
    if (!(err instanceof errors.ResponseError)) throw explainElasticError(err, target, 'reading the license');
  }
  const hasMlModule = modules.includes('x-pack-ml');
  let ml: ClusterCapabilities['ml'];
  if (!hasMlModule) ml = { available: false, reason: 'the cluster has no machine-learning module (x-pack-ml)' };
  else if (license && !['trial', 'platinum', 'enterprise'].includes(license.type)) {
    ml = { available: false, reason: `anomaly detection needs a platinum/enterprise/trial license; the cluster has ${license.type}` };
  } else ml = { available: true };
  return {
    version: node.version,
    major,
    buildFlavor: node.build_flavor ?? 'unknown',
    license,
    modules,
    ingestProcessors: (node.ingest?.processors ?? []).map((p) => p.type).sort(),
    ml,
    dataStreamApi: modules.includes('data-streams'),
    percolator: modules.includes('percolator'),
    painless: modules.includes('lang-painless'),
    constantKeyword: modules.includes('constant-keyword'),
  };
}

/** The processors a pipeline needs that the cluster lacks (empty: Elasticsearch can run it). */
export function missingProcessors(caps: ClusterCapabilities, needed: Iterable<string>): string[] {
  const have = new Set(caps.ingestProcessors);
  return [...new Set(needed)].filter((p) => !have.has(p)).sort();
}
