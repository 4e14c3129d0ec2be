/**
 * The ingest API's Prometheus metrics: a few counters, one histogram and gauges, rendered in the text
 * exposition format. Small enough that a client library would add more than it saves.
 */
type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return '';
  // Label values are escaped as the exposition format asks: backslash, quote, newline.
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

class Counter {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    if (by === 0) return;
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`, ...[...this.values].map(([k, v]) => `${this.name}${k} ${v}`)];
  }
}

class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(readonly name: string, readonly help: string, private readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    this.buckets.forEach((b, i) => {
      if (value <= b) this.counts[i] = (this.counts[i] ?? 0) + 1;
    });
  }
  render(): string[] {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} histogram`,
      ...this.buckets.map((b, i) => `${this.name}_bucket{le="${b}"} ${this.counts[i] ?? 0}`),
      `${this.name}_bucket{le="+Inf"} ${this.count}`,
      `${this.name}_sum ${this.sum}`,
      `${this.name}_count ${this.count}`,
    ];
  }
}

export type RejectionReason = 'body_too_large' | 'invalid_body' | 'too_many_events' | 'unauthorized' | 'rate_limited' | 'backpressure';

export class IngestMetrics {
  readonly events = new Counter('nyx_ingest_events_total', 'Events by namespace and outcome (stored, duplicate, dropped, rejected, retry, dead_lettered).');
  readonly requests = new Counter('nyx_ingest_requests_total', 'Ingest API requests by route and HTTP status.');
  readonly rejections = new Counter('nyx_ingest_request_rejections_total', 'Whole requests refused, by reason.');
  readonly hookFailures = new Counter('nyx_ingest_hook_failures_total', 'Ingest hook calls that threw, by hook.');
  readonly authLookups = new Counter('nyx_auth_lookups_total', 'Elasticsearch reads of agent keys and enrollment tokens, by what and whether it was found.');
  readonly bulkLatency = new Histogram('nyx_ingest_bulk_duration_seconds', 'Elasticsearch bulk request duration.', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  queueDepth = 0;

  render(): string {
    return [
      ...this.events.render(),
      ...this.requests.render(),
      ...this.rejections.render(),
      ...this.hookFailures.render(),
      ...this.authLookups.render(),
      ...this.bulkLatency.render(),
      '# HELP nyx_ingest_queue_events Events accepted by the API and waiting for Elasticsearch.',
      '# TYPE nyx_ingest_queue_events gauge',
      `nyx_ingest_queue_events ${this.queueDepth}`,
      '',
    ].join('\n');
  }
}
