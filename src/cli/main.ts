import { Command, CommanderError } from 'commander';
import { describeError } from '../errors.ts';
import { commandGroups } from './commands/index.ts';

/** Builds the `nyx` program. Each command group registers itself; this file only wires them. */
export function buildProgram(): Command {
  const program = new Command('nyx')
    .description('Nyx: install, feed, watch and defend an Elastic stack')
    .option('-c, --config <file>', 'config file (default nyx.yml, or NYX_CONFIG)')
    .showHelpAfterError()
    .exitOverride();
  for (const register of commandGroups) register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // `nyx plan | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    // One readable line, no stack trace.
    process.stderr.write(`nyx: ${describeError(err)}\n`);
    process.exit(1);
  }
}
