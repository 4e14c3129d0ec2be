import type { Command } from 'commander';
import { registerElasticsearchCommands } from './es.ts';
import { registerStackCommands } from './stack.ts';
import { registerUpCommand } from './up.ts';
import { registerShipCommands } from './ship.ts';
import { registerAgentBundleCommand } from './agent-bundle.ts';
import { registerServeCommand } from './serve.ts';
import { registerAgentsCommands } from './agents.ts';
import { registerRulesCommands } from './rules.ts';
import { registerFeedsCommands } from './feeds.ts';
import { registerIntelCommands } from './intel.ts';
import { registerVulnsCommand } from './vulns.ts';
import { registerAlertsCommands } from './alerts.ts';
import { registerWatchCommands } from './watch.ts';
import { registerResponseCommands } from './respond.ts';
import { registerHuntCommands } from './hunt.ts';
import { registerRiskCommands } from './risk.ts';

/**
 * Every command group, in help order. A group is a function that adds its commands to the program.
 * Groups are registered eagerly (names, options, help), but each command imports the capability it runs
 * inside its action (`await import(…)`): a command loads only what it uses, so `nyx ship` does not carry
 * the Elasticsearch client, detection, intel or the ingest server (CLI startup 248 → 100 MB RSS).
 * Keep the imports at the top of these files to light modules (types, constants, config).
 */
export const commandGroups: Array<(program: Command) => void> = [registerUpCommand, registerStackCommands, registerElasticsearchCommands, registerServeCommand, registerAgentsCommands, registerRulesCommands, registerFeedsCommands, registerIntelCommands, registerVulnsCommand, registerAlertsCommands, registerWatchCommands, registerResponseCommands, registerHuntCommands, registerRiskCommands, (p) => registerShipCommands(p, { bundle: registerAgentBundleCommand })];
