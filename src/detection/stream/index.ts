/** The stream (fast) detection path: the Sigma rule set as an ingest hook of `nyx serve` / `nyx up`. */
export { createStreamDetector, type StreamDetector, type StreamDetectorOptions, type StreamDetectorStats } from './hook.ts';
export { streamDetectionService } from './service.ts';
export { loadDetectionSetup, indexMatches, type DetectionSetup } from './setup.ts';
