// The fuzz targets of issue 19: each pairs a generator with the invariants one generated case must keep.
// Pure targets call the functions directly; `api` drives a real in-process ingest API over the real cluster.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import type { Client } from '@elastic/elasticsearch';
import { configSchema, SOURCES, type Source } from '../../src/config/index.ts';
import { BodyError, decodeBody, parseEvents } from '../../src/ingest/api/body.ts';
import { validateEvent } from '../../src/ingest/event-contract.ts';
import { routeEvent } from '../../src/ingest/agent-events.ts';
import { prepareSourceEvents } from '../../src/ingest/bulk-writer.ts';
import { SourcePipelines } from '../../src/ingest/source-pipelines.ts';
import { loadFieldMappings, loadSigmaRules, readField, SigmaRuleSet, type EcsDocument } from '../../src/detection/sigma/index.ts';
import {
  adversarialJson,
  anyEvent,
  EVENT_TEMPLATES,
  bodyBytes,
  eventBytes,
  eventsInBody,
  jsonText,
  ownObject,
  pollutionText,
  requestBody,
  RawJson,
  deepValue,
  wideValue,
  adversarialString,
  edgeNumber,
  reservedKey,
  type BodyCase,
  type EventCase,
  type FuzzLimits,
  type Substitutions,
} from './arbitraries.ts';
import { brief, describeThrown, foreignPrototypePath, invariant, InvariantError, serialisable, withGlobalsWatched, withGlobalsWatchedSync } from './invariants.ts';

export const TARGETS = ['body', 'contract', 'pipelines', 'sigma', 'api'] as const;
export type TargetName = (typeof TARGETS)[number];

/** One fuzz target, opened: its generator, the check of one case, and what to release afterwards. */
export interface FuzzTarget {
  name: TargetName;
  arbitrary: fc.Arbitrary<unknown>;
  /** Throws (InvariantError for a broken invariant) when the case breaks the target's contract. */
  check(value: unknown): Promise<void>;
  close(): Promise<void>;
}

const ROOT = new URL('../../', import.meta.url).pathname;
/** The pure targets' body limit: large enough that only a real bomb meets it. */
const PURE_BODY_LIMIT = 64 * 1024 * 1024;
const FUZZ_NAMESPACE = 'fuzz_tenant';
const FUZZ_AGENT = { agentId: 'fuzz-agent-0001', namespace: FUZZ_NAMESPACE, hostname: 'fuzz-host' };

/** Placeholders for the pure targets: a fixed canary and a counter of their own. */
function fixedSubstitutions(): Substitutions {
  let seq = 0;
  return { canaryNamespace: 'canary_tenant', canaryAgentId: 'canary-agent-0001', nextSeq: () => ++seq };
}

/** The event's JSON value as the API would hand it on (undefined for a line that is no JSON). */
function parsedEvent(event: EventCase, subst: Substitutions): { value: unknown } | undefined {
  if (event.kind === 'garbage') return undefined;
  try {
    return { value: JSON.parse(eventBytes(event, subst).toString('utf8')) as unknown };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// body: decodeBody + parseEvents.

function bodyTarget(limits: FuzzLimits): FuzzTarget {
  const subst = fixedSubstitutions();
  return {
    name: 'body',
    arbitrary: requestBody(limits),
    async check(value) {
      const body = value as BodyCase;
      const bytes = bodyBytes(body, subst);
      await withGlobalsWatched('parseEvents', async () => {
        let decoded: Buffer;
        try {
          decoded = await decodeBody(body.gzip ? gzipSync(bytes) : bytes, body.gzip ? 'gzip' : undefined, PURE_BODY_LIMIT);
        } catch (err) {
          invariant(err instanceof BodyError, 'decodeBody throws only BodyError', () => `it threw ${describeThrown(err)}`);
          invariant(err.statusCode === 413 && bytes.length > PURE_BODY_LIMIT, 'decodeBody undoes its own gzip', () => `refused ${bytes.length} bytes: ${err.statusCode} ${err.message}`);
          return;
        }
        invariant(decoded.equals(bytes), 'decodeBody undoes its own gzip', () => `${bytes.length} bytes came back as ${decoded.length}`);
        let items: ReturnType<typeof parseEvents>;
        try {
          items = parseEvents(decoded);
        } catch (err) {
          invariant(err instanceof BodyError, 'parseEvents throws only BodyError', () => `it threw ${describeThrown(err)}`);
          const wholeRefusalAllowed = body.events.length === 1 || body.events.every((e) => e.kind === 'garbage');
          invariant(wholeRefusalAllowed, 'one event never costs its neighbours', () => `the whole body of ${body.events.length} events was refused (${err.statusCode}: ${brief(err.message)})`);
          return;
        }
        const sentCount = eventsInBody(body);
        invariant(items.length === sentCount, 'one result per event sent', () => `${sentCount} events sent, ${items.length} parsed`);
        if (body.form === 'single') return;
        items.forEach((item, i) => {
          if ('parseError' in item) invariant(typeof item.parseError === 'string' && item.parseError.length > 0, 'a rejected line says why', () => `line ${i} has an empty parse error`);
          else invariant(body.events[i]!.kind !== 'garbage', 'a line that is no JSON is rejected', () => `line ${i} (${body.events[i]!.summary}) parsed as ${brief(item.value)}`);
        });
      });
    },
    close: async () => undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// contract: validateEvent.

function contractTarget(limits: FuzzLimits): FuzzTarget {
  const subst = fixedSubstitutions();
  return {
    name: 'contract',
    arbitrary: anyEvent(limits),
    async check(value) {
      const parsed = parsedEvent(value as EventCase, subst);
      if (!parsed) return;
      const result = withGlobalsWatchedSync('validateEvent', () => {
        try {
          return validateEvent(parsed.value);
        } catch (err) {
          throw new InvariantError('validateEvent never throws', `it threw ${describeThrown(err)}`);
        }
      });
      if (!result.ok) {
        invariant(typeof result.field === 'string' && result.field.length > 0, 'a rejection names the field', () => `field is ${brief(result.field)} (reason ${brief(result.reason)})`);
        invariant(typeof result.reason === 'string' && result.reason.length > 0, 'a rejection gives the reason', () => `reason is ${brief(result.reason)} (field ${result.field})`);
        return;
      }
      const foreign = foreignPrototypePath(result.event);
      invariant(foreign === undefined, 'no key becomes a prototype', () => `the validated event has ${foreign}`);
    },
    close: async () => undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// pipelines: every source pipeline in process, alone and behind the agent routing.

type PipelineCase =
  | { mode: 'agent'; event: EventCase; [fc.toStringMethod](): string }
  | { mode: 'source'; source: Source; doc: unknown; summary: string; [fc.toStringMethod](): string };

/** Fixture documents per source, as each source's shipper would send them. */
function sourceFixtures(): Record<Source, Record<string, unknown>[]> {
  const out = {} as Record<Source, Record<string, unknown>[]>;
  for (const source of SOURCES) {
    const dir = join(ROOT, 'test/fixtures', source);
    const docs: Record<string, unknown>[] = [];
    for (const file of readdirSync(dir).sort()) {
      const lines = readFileSync(join(dir, file), 'utf8').split('\n').filter((l) => l.trim() !== '');
      for (const line of lines) {
        if (!file.endsWith('.ndjson')) docs.push({ message: line });
        else {
          try {
            const doc = JSON.parse(line) as unknown;
            if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) docs.push(doc as Record<string, unknown>);
          } catch {
            docs.push({ message: line });
          }
        }
      }
    }
    out[source] = docs.length ? docs : [{ message: 'x' }];
  }
  return out;
}

function sourceDocCase(fixtures: Record<Source, Record<string, unknown>[]>, limits: FuzzLimits): fc.Arbitrary<PipelineCase> {
  const leaf = fc.oneof(adversarialString(limits), edgeNumber, deepValue(limits), wideValue(limits), adversarialJson(limits), pollutionText);
  return fc
    .record({
      source: fc.constantFrom(...SOURCES),
      pick: fc.nat(),
      edits: fc.array(fc.tuple(fc.oneof(reservedKey, fc.constantFrom('message', 'event', 'log', 'host', 'source', 'winlog', 'netflow', 'eventid', 'raw')), leaf), { maxLength: 3 }),
    })
    .map(({ source, pick, edits }) => {
      const docs = fixtures[source];
      const base = docs[pick % docs.length]!;
      const doc = ownObject([...Object.entries(base), ...edits]);
      const summary = `${source} fixture #${pick % docs.length}${edits.length ? ` with ${edits.map(([k, v]) => `${JSON.stringify(k)} = ${v instanceof RawJson ? v.label : brief(fc.stringify(v), 120)}`).join('; ')}` : ''}`;
      return { mode: 'source' as const, source, doc, summary, [fc.toStringMethod]: () => summary };
    });
}

/** A server-owned field read in every spelling (nested, dotted, mixed): each value must be the server's. */
function ownedFieldProblem(doc: Record<string, unknown>, path: string, expected: string): string | undefined {
  const values = readField(doc as EcsDocument, path);
  const wrong = values.filter((v) => v !== expected);
  return wrong.length ? `${path} holds ${brief(wrong, 120)} besides the server's ${JSON.stringify(expected)}` : undefined;
}

function checkRoutedDocument(doc: Record<string, unknown>, source: Source): void {
  const problems = [
    ownedFieldProblem(doc, 'data_stream.namespace', FUZZ_NAMESPACE),
    ownedFieldProblem(doc, 'data_stream.dataset', source),
    ownedFieldProblem(doc, 'data_stream.type', 'logs'),
    ownedFieldProblem(doc, 'agent.id', FUZZ_AGENT.agentId),
  ].filter((p) => p !== undefined);
  invariant(problems.length === 0, 'server-owned fields are the server\'s in every spelling', () => problems.join('; '));
  // Offline there are no indicators: an ioc: tag or a threat indicator can only have come from the agent.
  const iocTags = readField(doc as EcsDocument, 'tags').filter((t) => t.startsWith('ioc:'));
  invariant(iocTags.length === 0, 'ioc:* tags are the server\'s', () => `the agent's tags ${brief(iocTags)} were kept`);
  const threat = [...readField(doc as EcsDocument, 'threat.indicator.ip'), ...readField(doc as EcsDocument, 'threat.enrichments')];
  invariant(threat.length === 0, 'threat.* enrichment is the server\'s', () => `the agent's ${brief(threat)} was kept`);
}

/** An agent event's `ts` is its document's @timestamp, the same instant (unless the pipeline flagged the document as failed). */
function checkTimestamp(doc: Record<string, unknown>, ts: string): void {
  const sent = Date.parse(ts);
  invariant(Number.isFinite(sent), 'an accepted ts is a real instant', () => `the contract accepted ts ${JSON.stringify(ts)}, which is no instant`);
  if (readField(doc as EcsDocument, 'error.message').length) return;
  const stored = doc['@timestamp'];
  invariant(typeof stored === 'string' && Date.parse(stored) === sent, 'the stored @timestamp is the instant the agent sent', () => `ts ${JSON.stringify(ts)} became @timestamp ${JSON.stringify(stored)}`);
}

function pipelinesTarget(limits: FuzzLimits): FuzzTarget {
  const config = configSchema.parse({ elasticsearch: { url: 'http://127.0.0.1:9' } });
  const pipelines = SourcePipelines.offline(config);
  const fixtures = sourceFixtures();
  const subst = fixedSubstitutions();
  const agentCase = anyEvent(limits).map((event): PipelineCase => ({ mode: 'agent', event, [fc.toStringMethod]: () => `through the agent route: ${event.summary}` }));
  return {
    name: 'pipelines',
    arbitrary: fc.oneof(agentCase, sourceDocCase(fixtures, limits)),
    async check(value) {
      const c = value as PipelineCase;
      if (c.mode === 'source') {
        const doc = JSON.parse(jsonText(c.doc)) as Record<string, unknown>;
        const result = withGlobalsWatchedSync(`the ${c.source} pipeline`, () => {
          try {
            return pipelines.normalise(c.source, doc, { _index: `logs-${c.source}-${FUZZ_NAMESPACE}`, _id: 'fuzz-id' });
          } catch (err) {
            throw new InvariantError('a pipeline never throws for a bad document', `${c.source}: ${describeThrown(err)}`);
          }
        });
        const foreign = foreignPrototypePath(result.doc);
        invariant(foreign === undefined, 'no key becomes a prototype', () => `the ${c.source} pipeline's output has ${foreign}`);
        return;
      }
      const parsed = parsedEvent(c.event, subst);
      if (!parsed) return;
      withGlobalsWatchedSync('validate → route → source pipeline', () => {
        const checked = validateEvent(parsed.value);
        if (!checked.ok) return;
        const routed = routeEvent(FUZZ_AGENT, checked.event);
        if (!routed.ok) return;
        let prepared: ReturnType<typeof prepareSourceEvents>;
        try {
          prepared = prepareSourceEvents(pipelines, { source: routed.source, namespace: FUZZ_NAMESPACE, events: [{ doc: routed.doc, id: routed.id }] });
        } catch (err) {
          throw new InvariantError('preparing an event never throws', `${routed.source}: ${describeThrown(err)}`);
        }
        for (const { doc } of prepared.docs) {
          if (routed.source === 'endpoint' && checked.event.category !== 'windows_event') checkTimestamp(doc, checked.event.ts);
          const json = serialisable(doc);
          invariant(json.ok, 'every stored document serialises', () => `the ${routed.source} document cannot be sent: ${json.ok ? '' : json.error}`);
          const foreign = foreignPrototypePath(doc);
          invariant(foreign === undefined, 'no key becomes a prototype', () => `the ${routed.source} document has ${foreign}`);
          checkRoutedDocument(doc, routed.source);
        }
      });
    },
    close: async () => undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// sigma: the stream matcher over the rule pack.

type SigmaCase = { doc: unknown; spelling: 'as-is' | 'dotted'; summary: string; [fc.toStringMethod](): string };

/** The rule pack's own test events (rules/tests), the ones every rule is known to fire on or not. */
function ruleTestEvents(): Record<string, unknown>[] {
  const dir = join(ROOT, 'rules/tests');
  const out: Record<string, unknown>[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!/\.ya?ml$/.test(file)) continue;
    const parsed = parseYaml(readFileSync(join(dir, file), 'utf8')) as { positive?: unknown[]; negative?: unknown[] } | null;
    for (const e of [...(parsed?.positive ?? []), ...(parsed?.negative ?? [])]) if (e !== null && typeof e === 'object' && !Array.isArray(e)) out.push(e as Record<string, unknown>);
  }
  return out;
}

/** The same document with every nested object spelled as dotted keys (arrays kept as they are). */
function dotted(value: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(value)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) dotted(v as Record<string, unknown>, `${prefix}${k}.`, out);
    else Object.defineProperty(out, `${prefix}${k}`, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function sigmaTarget(limits: FuzzLimits): FuzzTarget {
  const rulesDir = join(ROOT, 'rules');
  const { rules } = loadSigmaRules(rulesDir, loadFieldMappings(join(rulesDir, 'mappings')));
  const ruleSet = new SigmaRuleSet(rules);
  const events = ruleTestEvents();
  const leaf = fc.oneof(adversarialString(limits), edgeNumber, deepValue(limits), wideValue(limits), adversarialJson(limits));
  const mutated = fc
    .record({ pick: fc.nat(), edits: fc.array(fc.tuple(fc.oneof(reservedKey, fc.constantFrom('process.command_line', 'process.executable', 'event.action', 'source.ip', 'user.name', 'winlog.event_id', 'event.code')), leaf), { maxLength: 3 }) })
    .map(({ pick, edits }): SigmaCase => {
      const doc = ownObject([...Object.entries(events[pick % events.length]!), ...edits]);
      const summary = `rule test event #${pick % events.length}${edits.length ? ` with ${edits.map(([k, v]) => `${JSON.stringify(k)} = ${v instanceof RawJson ? v.label : brief(fc.stringify(v), 120)}`).join('; ')}` : ''}`;
      return { doc, spelling: 'as-is', summary, [fc.toStringMethod]: () => summary };
    });
  const respelled = fc.nat().map((pick): SigmaCase => {
    const summary = `rule test event #${pick % events.length} spelled with dotted keys`;
    return { doc: events[pick % events.length], spelling: 'dotted', summary, [fc.toStringMethod]: () => summary };
  });
  const arbitrary = adversarialJson(limits).map((v): SigmaCase => {
    const summary = `arbitrary document ${v instanceof RawJson ? v.label : brief(fc.stringify(v), 160)}`;
    return { doc: v, spelling: 'as-is', summary, [fc.toStringMethod]: () => summary };
  });
  return {
    name: 'sigma',
    arbitrary: fc.oneof({ weight: 3, arbitrary: mutated }, { weight: 1, arbitrary: respelled }, { weight: 2, arbitrary: arbitrary }),
    async check(value) {
      const c = value as SigmaCase;
      const parsed = JSON.parse(jsonText(c.doc)) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return;
      const doc = parsed as EcsDocument;
      // A document near V8's stack limit may serialise at one depth of the stack and not at another: compare only
      // when both sides serialise (the matcher's own depth safety is what the "never throws" invariant checks).
      const before = serialisable(doc).ok ? stringifyOrUndefined(doc) : undefined;
      const matches = withGlobalsWatchedSync('SigmaRuleSet.match', () => {
        try {
          return ruleSet.match(doc);
        } catch (err) {
          throw new InvariantError('the matcher never throws', describeThrown(err));
        }
      });
      invariant(Array.isArray(matches), 'the matcher answers a list', () => `it answered ${brief(matches)}`);
      const after = before === undefined ? undefined : stringifyOrUndefined(doc);
      if (before !== undefined && after !== undefined) invariant(after === before, 'the matcher does not change the event', () => 'the document changed while matched');
      if (c.spelling === 'dotted') {
        const ids = (m: ReturnType<SigmaRuleSet['match']>) => m.map((x) => x.ruleId).sort();
        const again = ruleSet.match(dotted(doc as Record<string, unknown>));
        invariant(JSON.stringify(ids(again)) === JSON.stringify(ids(matches)), 'nested and dotted spellings match the same rules', () => `nested: ${brief(ids(matches))}; dotted: ${brief(ids(again))}`);
      }
    },
    close: async () => undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// api: the real HTTP ingest API over the real Elasticsearch, with a canary tenant beside the fuzzed one.

interface IngestAnswer {
  stored: number;
  duplicates: number;
  dropped?: number;
  rejected: number;
  retry: number;
  results: Array<{ index: number; status: string; field?: string; reason?: string }>;
}

const API_BODY_LIMIT = 32 * 1024 * 1024;
const RESULT_STATUSES = new Set(['stored', 'duplicate', 'dropped', 'rejected', 'retry']);

async function apiTarget(limits: FuzzLimits): Promise<FuzzTarget> {
  // Imported here: the test support reads ELASTICSEARCH_URL, which only this target needs.
  const { startTestApi, postJson, postRaw, agentEvent } = await import('../ingest-api/support.ts');
  const { testClient, uniqueNamespace } = await import('../support/elastic.ts');
  const api = await startTestApi({ body_limit_bytes: API_BODY_LIMIT, rate_limit: { requests_per_second: 100_000, burst: 100_000 } });
  const es: Client = testClient();
  const fuzzed = await api.enroll('fuzz-agent');
  const canaryNamespace = uniqueNamespace('canary');
  const { token } = await api.registry.createToken({ namespace: canaryNamespace, ttlMs: 3_600_000 });
  const enrolled = await postJson(`${api.url}/api/agents/enroll`, { token, hostname: 'canary', os: 'linux 6.1', ip: '10.0.0.9', version: '0.1.0' });
  if (enrolled.status !== 201) throw new Error(`canary enrollment failed: ${enrolled.status} ${brief(enrolled.body)}`);
  const canary = enrolled.body as { agent_id: string; agent_key: string };
  let seq = Date.now() * 100;
  const subst: Substitutions = { canaryNamespace, canaryAgentId: canary.agent_id, nextSeq: () => ++seq };
  const count = async (index: string, query: Record<string, unknown> = { match_all: {} }): Promise<number> => {
    await es.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
    return (await es.count({ index, query, ignore_unavailable: true, allow_no_indices: true })).count;
  };

  // Every data stream a case can reach exists before the first case (creating one takes seconds), created side by
  // side: one valid event of each category (endpoint, syslog, cowrie), one rejected event, one canary event.
  const warmUps = [
    ...Object.values(EVENT_TEMPLATES).map((t) => [fuzzed.key, { ...t, seq: subst.nextSeq() }, 200] as const),
    [fuzzed.key, { category: 'none' }, 422] as const,
    [canary.agent_key, agentEvent({ cmd: 'canary', seq: subst.nextSeq() }), 200] as const,
  ];
  await Promise.all(
    warmUps.map(async ([key, event, status]) => {
      const res = await postJson(`${api.url}/api/ingest`, event, { 'x-agent-key': key });
      if (res.status !== status) throw new Error(`warm-up ingest answered ${res.status}, not ${status}: ${brief(res.body)}`);
    }),
  );
  const totals = {
    stored: await count(`logs-*-${api.namespace}`),
    rejected: await count(`nyx-dead-letter-${api.namespace}`),
    canaryStored: await count(`logs-*-${canaryNamespace}`),
    /** Documents of the fuzzed tenant naming the canary in a server-owned field (each case must add none). */
    claiming: 0,
  };
  const countClaiming = (): Promise<number> =>
    count(`logs-*-${api.namespace}`, {
      bool: { should: [{ term: { 'data_stream.namespace': canaryNamespace } }, { term: { 'agent.id': canary.agent_id } }], minimum_should_match: 1 },
    });

  const target: FuzzTarget = {
    name: 'api',
    arbitrary: requestBody(limits),
    async check(value) {
      try {
        await checkBody(value as BodyCase);
      } catch (err) {
        // A failed case may have stored what it did not report: recount, so shrinking meets the same failure, not this one's echo.
        totals.stored = await count(`logs-*-${api.namespace}`);
        totals.canaryStored = await count(`logs-*-${canaryNamespace}`);
        totals.rejected = Math.max(totals.rejected, await count(`nyx-dead-letter-${api.namespace}`));
        totals.claiming = await countClaiming();
        throw err;
      }
    },
    async close() {
      await api.close();
      await es.close();
    },
  };

  return target;

  async function checkBody(body: BodyCase): Promise<void> {
    const bytes = bodyBytes(body, subst);
    const sent = body.gzip ? gzipSync(bytes) : bytes;
    const headers: Record<string, string> = {
      'x-agent-key': fuzzed.key,
      'content-type': body.form === 'ndjson' ? 'application/x-ndjson' : 'application/json',
      ...(body.gzip ? { 'content-encoding': 'gzip' } : {}),
    };
    const res = await withGlobalsWatched('POST /api/ingest', () => postRaw(`${api.url}/api/ingest`, sent, headers));
    const n = eventsInBody(body);
    invariant(res.status !== 500, 'the server never answers 500', () => `POST /api/ingest answered 500 ${brief(res.body)} (the server's log has the stack; npm run fuzz shows it with NYX_LOG_LEVEL=error)`);
    invariant([200, 400, 413, 415, 422, 503].includes(res.status), 'the server answers a documented status', () => `POST /api/ingest answered ${res.status} ${brief(res.body)}`);
    if (res.status === 503) invariant(res.headers.get('retry-after'), 'a 503 says when to retry', () => `503 without Retry-After: ${brief(res.body)}`);
    if (res.status === 400 || res.status === 413 || res.status === 415) {
      const error = (res.body as { error?: unknown }).error;
      invariant(typeof error === 'string' && error.length > 0, 'a refusal says why', () => `${res.status} with body ${brief(res.body)}`);
      const tooBig = res.status === 413 && bytes.length > API_BODY_LIMIT;
      const wholeRefusalAllowed = tooBig || body.events.length === 1 || body.events.every((e) => e.kind === 'garbage');
      invariant(wholeRefusalAllowed, 'one event never costs its neighbours', () => `the whole body of ${n} events was refused: ${res.status} ${brief(error)}`);
    }
    if (res.status === 200 || res.status === 422 || (res.status === 503 && (res.body as { results?: unknown }).results)) {
      const answer = res.body as IngestAnswer;
      invariant(Array.isArray(answer.results) && answer.results.length === n, 'one result per event sent', () => `${n} events sent, ${Array.isArray(answer.results) ? answer.results.length : 'no'} results`);
      answer.results.forEach((r, i) => {
        invariant(r.index === i && RESULT_STATUSES.has(r.status), 'each result has its index and a known status', () => `result ${i}: ${brief(r)}`);
        if (r.status === 'rejected') {
          invariant(typeof r.field === 'string' && r.field.length > 0 && typeof r.reason === 'string' && r.reason.length > 0, 'a rejected event names the field and the reason', () => `result ${i}: ${brief(r)}`);
        }
      });
      const sum = answer.stored + answer.duplicates + (answer.dropped ?? 0) + answer.rejected + answer.retry;
      invariant(sum === n, 'the counts add up to the events sent', () => `stored ${answer.stored} + duplicates ${answer.duplicates} + dropped ${answer.dropped ?? 0} + rejected ${answer.rejected} + retry ${answer.retry} ≠ ${n}`);
      totals.stored += answer.stored;
      totals.rejected += answer.rejected;
    }

    // The neighbour: another tenant's agent ingests right after, and is answered as if nothing happened.
    const canaryRes = await postJson(`${api.url}/api/ingest`, agentEvent({ cmd: 'canary', seq: subst.nextSeq() }), { 'x-agent-key': canary.agent_key });
    invariant(canaryRes.status === 200 && (canaryRes.body as IngestAnswer).stored === 1, 'other agents keep being served', () => `after the batch, the canary tenant's ingest answered ${canaryRes.status} ${brief(canaryRes.body)}`);
    totals.canaryStored++;

    // What Elasticsearch holds agrees with what the API answered, and nothing crossed into the canary tenant.
    const inCanary = await count(`logs-*-${canaryNamespace}`);
    invariant(inCanary === totals.canaryStored, 'no event crosses into another tenant', () => `logs-*-${canaryNamespace} holds ${inCanary} documents, the canary sent ${totals.canaryStored}`);
    const inFuzzed = await count(`logs-*-${api.namespace}`);
    invariant(inFuzzed === totals.stored, 'every stored event is in Elasticsearch, once', () => `the API reported ${totals.stored} stored so far, logs-*-${api.namespace} holds ${inFuzzed}`);
    const claiming = await countClaiming();
    invariant(claiming === totals.claiming, 'no stored document names another tenant in a server-owned field', () => `${claiming - totals.claiming} document(s) of ${api.namespace} stored by this case carry data_stream.namespace ${canaryNamespace} or the canary's agent.id`);
    if (totals.rejected > 0) {
      const letters = await count(`nyx-dead-letter-${api.namespace}`);
      // Identical rejected originals share one dead letter (its id is their hash): at least one, at most one each.
      invariant(letters > 0 && letters <= totals.rejected, 'every rejected event is dead-lettered', () => `${totals.rejected} rejected so far, ${letters} dead letters`);
    }
  }
}

/** Opens one target (loads rules, compiles pipelines, starts the API) ready for checking cases. */
export async function openTarget(name: TargetName, limits: FuzzLimits): Promise<FuzzTarget> {
  switch (name) {
    case 'body':
      return bodyTarget(limits);
    case 'contract':
      return contractTarget(limits);
    case 'pipelines':
      return pipelinesTarget(limits);
    case 'sigma':
      return sigmaTarget(limits);
    case 'api':
      return apiTarget(limits);
  }
}

/** JSON text of a value, or undefined when the stack runs out on the way (a value nested thousands deep). */
function stringifyOrUndefined(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}
