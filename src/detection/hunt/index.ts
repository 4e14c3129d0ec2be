/** Hunting over the logs-* data streams (`nyx hunt`, `nyx hunt pivot`). */
export { hunt, pivot, toRow, type Facet, type HuntResult, type HuntRow, type PivotAlert, type PivotReport, type PivotRequest } from './hunt.ts';
export { compileHunt, huntQuerySchema, checkIp, TEXT_FIELDS, type CompiledHunt, type HuntQuery } from './query.ts';
