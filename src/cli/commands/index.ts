import type { Command } from 'commander';
import { registerElasticsearchCommands } from './es.ts';
import { registerStackCommands } from './stack.ts';

/** Every command group, in help order. A group is a function that adds its commands to the program. */
export const commandGroups: Array<(program: Command) => void> = [registerStackCommands, registerElasticsearchCommands];
