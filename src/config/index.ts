export { loadConfig, readEnvSecret, type LoadedConfig, type LoadConfigOptions } from './load.ts';
export { configSchema, sourceSettings, SOURCES, type NyxConfig, type Secrets, type Source, type SourceSettings } from './schema.ts';
