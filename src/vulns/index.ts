/** Vulnerability exposure: installed software matched to CVEs (CPE + version ranges), scored per host. */
import type { NyxService } from '../services/index.ts';
import { registerIngestHook } from '../ingest/hooks.ts';
import { softwareInventoryHook } from './inventory.ts';

export { recordSoftwareInventory, readSoftwareInventory, softwareInventoryHook, inventoryIndex, installedPackageSchema, type InstalledPackage, type InventoryPackage, type InventoryWriteResult } from './inventory.ts';
export { vulnerabilityReport, cpeCandidates, cpeMatchCovers, compareBacklog, type VulnerabilityReport, type HostExposure, type BacklogItem } from './report.ts';
export { listeningSockets, type ListeningSocket } from './exposure.ts';
export { compareDebian, compareRpm, compareGeneric, compareToUpstream, versionInRange, type VersionScheme, type VersionRange } from './version.ts';

/** `nyx up`: records software inventory from events that carry package.* as they are ingested. */
export const softwareInventoryService: NyxService = {
  name: 'software-inventory',
  async start(ctx) {
    const unregister = registerIngestHook(softwareInventoryHook(ctx.client));
    return { describe: 'software inventory: package events → nyx-software-<namespace> (nyx vulns)', stop: async () => unregister() };
  },
};
