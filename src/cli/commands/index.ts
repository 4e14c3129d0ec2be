import type { Command } from 'commander';
import { registerElasticsearchCommands } from './es.ts';
import { registerStackCommands } from './stack.ts';
import { registerUpCommand } from './up.ts';
import { registerShipCommands } from './ship.ts';
import { registerAgentBundleCommand } from './agent-bundle.ts';
import { registerServeCommand } from './serve.ts';
import { registerAgentsCommands } from './agents.ts';
import { registerRulesCommands } from './rules.ts';

/** Every command group, in help order. A group is a function that adds its commands to the program. */
export const commandGroups: Array<(program: Command) => void> = [registerUpCommand, registerStackCommands, registerElasticsearchCommands, registerServeCommand, registerAgentsCommands, registerRulesCommands, (p) => registerShipCommands(p, { bundle: registerAgentBundleCommand })];
