import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const NYX = fileURLToPath(new URL('../../bin/nyx.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The clean environment every `nyx` child gets, plus `env`. */
function nyxEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NYX_HOME: process.env.NYX_HOME ?? '', ...env };
}

/**
 * Runs the real `nyx` binary as a user would, with a clean env plus `env`. `wrapper` is a command that runs
 * it (e.g. `unshare -m sh -c '…' …`), given `node bin/nyx.js <args>` as its last arguments.
 */
export function runNyx(args: string[], env: Record<string, string> = {}, cwd?: string, wrapper: string[] = []): Promise<CliResult> {
  const [command, ...commandArgs] = [...wrapper, process.execPath, NYX, ...args] as [string, ...string[]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { cwd: cwd ?? process.cwd(), env: nyxEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** A long-running `nyx` process (`serve`, `ship`) started by a test. */
export interface NyxProcess {
  child: ChildProcess;
  /** The last 64 KiB of its stdout and stderr, for a failure message. */
  output(): string;
  /** Sends `signal` (SIGTERM by default) and resolves once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const OUTPUT_KEEP = 64 * 1024;

/**
 * Starts the real `nyx` binary in the background. Its output is always read: a child whose stderr pipe
 * fills up (a shipper logging every retry while its server is down) would block on its next log line.
 */
export function spawnNyx(args: string[], env: Record<string, string> = {}, cwd?: string): NyxProcess {
  const child = spawn(process.execPath, [NYX, ...args], { cwd: cwd ?? process.cwd(), env: nyxEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer): void => {
    output += d.toString();
    if (output.length > 2 * OUTPUT_KEEP) output = output.slice(-OUTPUT_KEEP);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return {
    child,
    output: () => output.slice(-OUTPUT_KEEP),
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
