import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/index.ts';
import { setLogLevel } from '../log/logger.ts';

/** Loads config from the global --config option; every command starts here. */
export function commandConfig(command: Command): LoadedConfig {
  const root = command.optsWithGlobals() as { config?: string };
  const loaded = loadConfig(root.config ? { path: root.config } : {});
  if (!process.env.NYX_LOG_LEVEL) setLogLevel(loaded.config.logging.level);
  return loaded;
}

/** Progress goes to stderr so stdout stays parseable (e.g. `--json`). */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}
