import type { LoadedConfig } from '../config/index.ts';
import type { ElasticContext } from '../elastic/connect.ts';
import { ingestApiService } from '../ingest/api/server.ts';

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

/** Services `nyx up` starts, in order. Capabilities add theirs here. */
export const services: NyxService[] = [ingestApiService];
