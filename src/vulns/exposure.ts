import { errors, type Client } from '@elastic/elasticsearch';

export interface ListeningSocket {
  port: number;
  transport: string | null;
  process: string | null;
}

/**
 * Listening sockets per host from the shipper's network events (state "listen"; the listener's own port is
 * destination.port) in the last `days`, deduplicated by port, transport and process.
 */
export async function listeningSockets(client: Client, namespace: string, options: { hosts?: string[]; days: number; now?: Date }): Promise<Map<string, ListeningSocket[]>> {
  const out = new Map<string, ListeningSocket[]>();
  const since = new Date((options.now ?? new Date()).getTime() - options.days * 86_400_000).toISOString();
  let res;
  try {
    res = await client.search({
      index: `logs-*-${namespace}`,
      size: 0,
      ignore_unavailable: true,
      allow_no_indices: true,
      query: {
        bool: {
          filter: [{ range: { '@timestamp': { gte: since } } }, ...(options.hosts?.length ? [{ terms: { 'host.name': options.hosts } }] : [])],
          should: [{ term: { state: 'listen' } }, { term: { 'network.state': 'listen' } }, { term: { 'event.action': 'network-listen' } }],
          minimum_should_match: 1,
        },
      },
      aggs: {
        hosts: {
          terms: { field: 'host.name', size: 10_000 },
          // Nested terms, not multi_terms: that one is x-pack (analytics), absent from minimal clusters.
          aggs: {
            ports: {
              terms: { field: 'destination.port', size: 1000 },
              aggs: {
                transports: {
                  terms: { field: 'network.transport', size: 4, missing: '-' },
                  aggs: { processes: { terms: { field: 'process_name', size: 20, missing: '-' } } },
                },
              },
            },
          },
        },
      },
    });
  } catch (err) {
    // No events yet, or no field mapped where the aggregation needs one: no known exposure.
    if (err instanceof errors.ResponseError && (err.statusCode === 404 || err.statusCode === 400)) return out;
    throw err;
  }
  type Buckets<T> = { buckets: Array<{ key: string | number } & T> };
  const hosts = (res.aggregations?.hosts as Buckets<{ ports: Buckets<{ transports: Buckets<{ processes: Buckets<object> }> }> }> | undefined)?.buckets ?? [];
  for (const h of hosts) {
    const sockets: ListeningSocket[] = [];
    for (const p of h.ports.buckets) {
      for (const t of p.transports.buckets) {
        for (const proc of t.processes.buckets) {
          sockets.push({ port: Number(p.key), transport: t.key === '-' ? null : String(t.key), process: proc.key === '-' ? null : String(proc.key) });
        }
      }
    }
    out.set(String(h.key), sockets.sort((a, b) => a.port - b.port));
  }
  return out;
}
