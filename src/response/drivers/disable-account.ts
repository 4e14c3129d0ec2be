import { execFile } from 'node:child_process';
import { z } from 'zod';
import { NyxError } from '../../errors.ts';
import type { ActionCall, ActionDriver, ActionOutcome } from '../driver.ts';
import type { ResponseConfig } from '../config.ts';
import { HttpCallError } from '../http.ts';
import type { WebhookSender } from './webhook.ts';
import { guardrailRefusal } from './common.ts';

/**
 * `disable_account`: locks an account.
 * - linux: runs the configured argv (default `usermod -L`) with the user name appended, through execFile: no shell,
 *   and the name must match a strict POSIX user-name pattern first. Undo runs the unlock argv (`usermod -U`).
 * - directory: POSTs {action: disable|enable, user} to the configured directory-service webhook (AD, LDAP, IdP).
 */
export const LINUX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const DIRECTORY_USER = /^[A-Za-z0-9._-]{1,64}(@[A-Za-z0-9.-]{1,253})?$/;

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}
export type CommandRunner = (file: string, args: string[], options: { timeoutMs: number; signal?: AbortSignal }) => Promise<CommandResult>;

/** execFile with argv: the arguments reach the program as they are, never through a shell. */
export const execFileRunner: CommandRunner = (file, args, options) =>
  new Promise((resolve) => {
    execFile(file, args, { timeout: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}), windowsHide: true }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? ((err as unknown as { code: number }).code) : 127) : 0;
      resolve({ code, stdout: String(stdout), stderr: err && !stderr ? err.message : String(stderr) });
    });
  });

const paramsSchema = z
  .object({
    user: z.string().min(1),
    method: z.enum(['linux', 'directory']).default('linux'),
    reason: z.string().optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const ok = p.method === 'linux' ? LINUX_USER.test(p.user) : DIRECTORY_USER.test(p.user);
    if (!ok) ctx.addIssue({ code: 'custom', path: ['user'], message: `"${p.user.slice(0, 80)}" is not a valid ${p.method === 'linux' ? 'Linux user name' : 'directory account name'}` });
  });
type DisableAccountParams = z.infer<typeof paramsSchema>;

export function createDisableAccountDriver(settings: ResponseConfig['disable_account'], sender: WebhookSender, runner: CommandRunner = execFileRunner): ActionDriver<DisableAccountParams> {
  const run = async (argv: string[], user: string, calls: ActionCall[], signal?: AbortSignal): Promise<CommandResult> => {
    const [file, ...args] = argv as [string, ...string[]];
    const call: ActionCall = { description: [...argv, user].join(' '), request: { argv: [...argv, user] } };
    calls.push(call);
    const result = await runner(file, [...args, user], { timeoutMs: settings.timeout_ms, ...(signal ? { signal } : {}) });
    call.status = result.code;
    call.result = (result.stderr || result.stdout).trim().slice(0, 500);
    return result;
  };
  const directory = async (params: DisableAccountParams, action: 'disable' | 'enable', signal?: AbortSignal): Promise<ActionOutcome> => {
    const calls: ActionCall[] = [];
    const target = settings.directory_webhook;
    if (!target) return { ok: false, calls, summary: 'no directory-service webhook configured (response.disable_account.directory_webhook)', error: 'not configured' };
    try {
      await sender.post(target, { event: 'account', action, user: params.user, ...(params.reason ? { reason: params.reason } : {}) }, calls, signal);
      return { ok: true, calls, summary: `directory account ${params.user} ${action}d` };
    } catch (err) {
      if (err instanceof HttpCallError || err instanceof NyxError) return { ok: false, calls, summary: `directory webhook: ${err.message}`, error: err.message };
      throw err;
    }
  };
  const linux = async (params: DisableAccountParams, argv: string[], verb: string, signal?: AbortSignal): Promise<ActionOutcome> => {
    const calls: ActionCall[] = [];
    const result = await run(argv, params.user, calls, signal);
    if (result.code !== 0) return { ok: false, calls, summary: `${argv.join(' ')} ${params.user} exited ${result.code}: ${(result.stderr || result.stdout).trim().slice(0, 200)}`, error: `exit ${result.code}` };
    return { ok: true, calls, summary: `account ${params.user} ${verb}`, undo: { user: params.user, method: 'linux' } };
  };
  return {
    type: 'disable_account',
    parse: (params) => paramsSchema.parse(params),
    dryRun: (params) =>
      params.method === 'linux'
        ? [{ description: [...settings.lock_command, params.user].join(' '), request: { argv: [...settings.lock_command, params.user] } }]
        : [{ description: settings.directory_webhook ? sender.describe(settings.directory_webhook) : 'directory webhook (not configured)', request: { event: 'account', action: 'disable', user: params.user } }],
    apply: async (ctx, params) =>
      guardrailRefusal(ctx, { kind: 'account', value: params.user }) ??
      (params.method === 'linux' ? linux(params, settings.lock_command, 'locked', ctx.signal) : directory(params, 'disable', ctx.signal)),
    undo: (ctx, params) => (params.method === 'linux' ? linux(params, settings.unlock_command, 'unlocked', ctx.signal) : directory(params, 'enable', ctx.signal)),
    async status(_ctx, params) {
      if (params.method !== 'linux' || !settings.status_command) return { active: true, detail: 'no status check configured' };
      const result = await run(settings.status_command, params.user, []);
      return { active: result.code === 0, detail: result.code === 0 ? `${params.user} is locked` : `${params.user} is not locked` };
    },
  };
}
