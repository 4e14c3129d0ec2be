import type { LoadedConfig } from '../config/index.ts';
import type { ElasticContext } from '../elastic/connect.ts';
import { ingestApiService } from '../ingest/api/server.ts';
import { feedsService } from '../intel/feeds/service.ts';
import { indicatorEnrichmentService } from '../intel/enrichment/index.ts';
import { softwareInventoryService } from '../vulns/index.ts';
import { streamDetectionService } from '../detection/stream/index.ts';
import { watchService } from '../detection/watch/index.ts';
import { responseService } from '../response/worker.ts';

/** A long-running part of Nyx that `nyx up` runs in one process (and that also runs alone, e.g. `nyx serve`). */
export interface NyxService {
  name: string;
  start(ctx: ElasticContext, loaded: LoadedConfig): Promise<RunningService>;
}

export interface RunningService {
  /** Where it is, for the `nyx up` banner, e.g. "ingest API on http://127.0.0.1:8080". */
  describe: string;
  stop(): Promise<void>;
}

/** The plug-ins of the ingest path: `nyx serve` starts these before it takes its first event. */
export const ingestPathServices: NyxService[] = [streamDetectionService, indicatorEnrichmentService, softwareInventoryService];

/** Services `nyx up` starts, in order. Capabilities add theirs here. */
export const services: NyxService[] = [streamDetectionService, ingestApiService, indicatorEnrichmentService, softwareInventoryService, watchService, responseService, feedsService];
