import type { Source } from '../config/index.ts';
import { getLogger } from '../log/logger.ts';

/** Where a batch of documents is in the ingest path, for a hook. */
export interface IngestHookContext {
  namespace: string;
  source: Source;
  dataStream: string;
  agentId: string;
  /**
   * True when the documents are already ECS (the pipeline ran in process). False when Elasticsearch will
   * run the source pipeline itself, so the documents are still as the agent sent them.
   */
  normalised: boolean;
  /** The stored document ids, aligned with the documents passed in the same call (undefined where none). */
  ids?: Array<string | undefined>;
}

/**
 * A plug-in point of the ingest path (the stream matcher, indicator enrichment) that the API does not know.
 * `onEvents` runs before indexing and may enrich the documents in place; `onStored` runs after, with only
 * the documents stored for the first time (not duplicates), so a retried batch never matches twice.
 * A hook that throws is logged and counted; it never costs an event.
 */
export interface IngestHook {
  name: string;
  onEvents?(docs: Array<Record<string, unknown>>, ctx: IngestHookContext): void | Promise<void>;
  onStored?(docs: Array<Record<string, unknown>>, ctx: IngestHookContext): void | Promise<void>;
}

export class IngestHooks {
  private readonly hooks: IngestHook[] = [];
  private readonly log = getLogger('ingest-hooks');

  register(hook: IngestHook): () => void {
    if (this.hooks.some((h) => h.name === hook.name)) throw new Error(`ingest hook ${hook.name} is already registered`);
    this.hooks.push(hook);
    return () => {
      const at = this.hooks.indexOf(hook);
      if (at >= 0) this.hooks.splice(at, 1);
    };
  }

  /** True when some registered hook implements `phase` (the ingest path skips building its input otherwise). */
  has(phase: 'onEvents' | 'onStored'): boolean {
    for (const hook of this.hooks) if (hook[phase]) return true;
    return false;
  }

  get size(): number {
    return this.hooks.length;
  }

  /** Runs every hook's `phase`; returns the names of those that threw (for metrics). */
  async run(phase: 'onEvents' | 'onStored', docs: Array<Record<string, unknown>>, ctx: IngestHookContext): Promise<string[]> {
    const failed: string[] = [];
    if (docs.length === 0) return failed;
    for (const hook of this.hooks) {
      const fn = hook[phase];
      if (!fn) continue;
      try {
        await fn.call(hook, docs, ctx);
      } catch (err) {
        failed.push(hook.name);
        this.log.error({ err, hook: hook.name, phase }, 'ingest hook failed; the events are still stored');
      }
    }
    return failed;
  }
}

/** Hooks every ingest API in this process runs; later capabilities register theirs at start-up. */
export const ingestHooks = new IngestHooks();

export function registerIngestHook(hook: IngestHook): () => void {
  return ingestHooks.register(hook);
}
