// Entry point of the bundled shipper (nyx-ship.mjs): only `ship` and `agent install`, no cluster code.
import { Command, CommanderError } from 'commander';
import { describeError } from '../errors.ts';
import { registerShipCommands } from '../cli/commands/ship.ts';

const program = new Command('nyx-ship').description('Nyx endpoint shipper').showHelpAfterError().exitOverride();
registerShipCommands(program);
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  process.stderr.write(`nyx-ship: ${describeError(err)}\n`);
  process.exit(1);
}
