import { Builder, parseStringPromise } from 'xml2js';
import { z } from 'zod';
import { NyxError } from '../../errors.ts';
import type { ActionCall, ActionDriver, ActionOutcome, DriverContext } from '../driver.ts';
import {
  blockIpParamsSchema,
  clip,
  errorText,
  failedOutcome,
  guardrailRefusal,
  auditedHttpRequest,
  normaliseIp,
  parseParams,
  parseUndo,
  readEnvSecret,
  redactUrl,
  type BlockIpParams,
} from './common.ts';
import { panosSettingsSchema, type PanosSettings } from './settings.ts';

/**
 * block_ip on a PAN-OS firewall: the address is registered with a tag (User-ID XML API,
 * `type=user-id`, a uid-message `register` entry whose tag member carries a timeout), and a
 * dynamic address group matching the tag is used in a deny rule. The firewall expires the tag
 * itself; undo unregisters it early. The API key comes from NYX_PANOS_API_KEY and travels in the
 * X-PAN-KEY header, never in the URL. Answers are XML, parsed with xml2js and validated with zod.
 */

export const PANOS_BLOCK_TYPE = 'block_ip_panos';
export const PANOS_KEY_ENV = 'NYX_PANOS_API_KEY';

const undoSchema = z.object({
  backend: z.literal('panos'),
  ip: z.string().min(1),
  tag: z.string().regex(/^[A-Za-z0-9_.-]{1,127}$/),
  vsys: z.string().regex(/^vsys\d{1,3}$/).optional(),
  expires_at: z.string().optional(),
});

// <response status="success|error" code="…"> with <result> or <msg>; xml2js with explicitArray.
const xmlResponseSchema = z.object({
  response: z
    .object({
      $: z.object({ status: z.enum(['success', 'error']), code: z.string().optional() }).loose(),
      result: z.array(z.unknown()).optional(),
      msg: z.array(z.unknown()).optional(),
    })
    .loose(),
});
const memberSchema = z.union([z.string(), z.object({ _: z.string() }).loose()]);
const registeredEntrySchema = z
  .object({
    $: z.object({ ip: z.string() }).loose(),
    tag: z.array(z.union([z.object({ member: z.array(memberSchema).optional() }).loose(), z.string()])).optional(),
  })
  .loose();
const registeredResultSchema = z.object({ entry: z.array(registeredEntrySchema).optional() }).loose();

type PanosAnswer = z.infer<typeof xmlResponseSchema>['response'];

/** Per-entry messages PAN-OS returns when the requested state already holds: success for idempotent calls. */
const ALREADY_DONE = /already exists|does not exist|not registered|not exist/i;

const xml = new Builder({ headless: true, renderOpts: { pretty: false } });

export function registerMessage(ip: string, tag: string, timeoutSeconds: number): string {
  return xml.buildObject({
    'uid-message': {
      version: '2.0',
      type: 'update',
      payload: { register: { entry: { $: { ip }, tag: { member: { $: { timeout: String(timeoutSeconds) }, _: tag } } } } },
    },
  });
}

export function unregisterMessage(ip: string, tag: string): string {
  return xml.buildObject({
    'uid-message': { version: '2.0', type: 'update', payload: { unregister: { entry: { $: { ip }, tag: { member: tag } } } } },
  });
}

export function showRegisteredIpCommand(ip: string): string {
  return xml.buildObject({ show: { object: { 'registered-ip': { ip } } } });
}

/** Every text and `message` attribute under a node: PAN-OS nests its error text in several shapes. */
function collectMessages(node: unknown, out: string[] = []): string[] {
  if (typeof node === 'string') {
    if (node.trim()) out.push(node.trim());
  } else if (Array.isArray(node)) {
    for (const child of node) collectMessages(child, out);
  } else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$') {
        const message = (value as Record<string, unknown>).message;
        if (typeof message === 'string') out.push(message);
      } else if (key !== 'version') collectMessages(value, out); // uid-response echoes <version>
    }
  }
  return out;
}

export interface PanosDriverOptions {
  env?: NodeJS.ProcessEnv;
  type?: string;
}

export function createPanosDriver(input: PanosSettings | z.input<typeof panosSettingsSchema>, options: PanosDriverOptions = {}): ActionDriver<BlockIpParams> {
  const settings = panosSettingsSchema.parse(input);
  const type = options.type ?? PANOS_BLOCK_TYPE;
  const env = options.env ?? process.env;
  const endpoint = `${settings.url.replace(/\/+$/, '')}/api/`;

  function apiKey(): string {
    const key = readEnvSecret(env, PANOS_KEY_ENV);
    if (!key) throw new NyxError('PAN-OS API key missing', `set ${PANOS_KEY_ENV}`);
    return key;
  }

  async function call(ctx: DriverContext, calls: ActionCall[], requestType: 'user-id' | 'op', cmd: string, vsys: string | undefined): Promise<PanosAnswer> {
    const form = new URLSearchParams({ type: requestType, cmd, ...(vsys ? { vsys } : {}) });
    const audit: ActionCall = { description: `POST ${redactUrl(endpoint)} type=${requestType}`, request: { type: requestType, cmd, ...(vsys ? { vsys } : {}) } };
    const response = await auditedHttpRequest(ctx, calls, audit, settings, {
      method: 'POST',
      url: endpoint,
      headers: { 'x-pan-key': apiKey(), 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    let parsedXml: unknown;
    try {
      parsedXml = await parseStringPromise(response.body, { explicitArray: true });
    } catch {
      throw new NyxError(`PAN-OS ${requestType}: HTTP ${response.status}, answer is not XML: ${clip(response.body, 200)}`);
    }
    const parsed = xmlResponseSchema.safeParse(parsedXml);
    if (!parsed.success) throw new NyxError(`PAN-OS ${requestType}: HTTP ${response.status}, unexpected answer: ${clip(response.body, 200)}`);
    const answer = parsed.data.response;
    if (response.status === 401 || response.status === 403 || answer.$.code === '403') {
      throw new NyxError(`PAN-OS ${requestType}: API key rejected (${collectMessages(answer.result ?? answer.msg).join('; ') || response.status})`);
    }
    return answer;
  }

  /** A user-id update answer: success, or an error whose every entry says the state already holds. */
  function judgeUpdate(answer: PanosAnswer, what: string): { ok: boolean; note?: string } {
    if (answer.$.status === 'success') return { ok: true };
    const messages = collectMessages(answer.msg ?? answer.result);
    if (messages.length && messages.every((m) => ALREADY_DONE.test(m))) return { ok: true, note: messages.join('; ') };
    throw new NyxError(`PAN-OS ${what} failed: ${messages.join('; ') || 'status="error"'}`);
  }

  async function registeredTags(ctx: DriverContext, calls: ActionCall[], ip: string, vsys: string | undefined): Promise<string[]> {
    const answer = await call(ctx, calls, 'op', showRegisteredIpCommand(ip), vsys);
    if (answer.$.status !== 'success') throw new NyxError(`PAN-OS show registered-ip failed: ${collectMessages(answer.msg ?? answer.result).join('; ')}`);
    const tags: string[] = [];
    for (const raw of answer.result ?? []) {
      const result = registeredResultSchema.safeParse(raw);
      if (!result.success) continue;
      for (const entry of result.data.entry ?? []) {
        if (normaliseIp(entry.$.ip).address !== ip) continue;
        for (const tag of entry.tag ?? []) {
          if (typeof tag === 'string') continue;
          for (const member of tag.member ?? []) tags.push(typeof member === 'string' ? member : member._);
        }
      }
    }
    return tags;
  }

  return {
    type,

    parse(params: unknown): BlockIpParams {
      return parseParams(blockIpParamsSchema, params, type);
    },

    dryRun(params: BlockIpParams): ActionCall[] {
      const ip = normaliseIp(params.ip).address;
      return [
        {
          description: `POST ${redactUrl(endpoint)} type=user-id`,
          request: { type: 'user-id', cmd: registerMessage(ip, settings.tag, params.ttl_seconds), ...(settings.vsys ? { vsys: settings.vsys } : {}) },
        },
      ];
    },

    async apply(ctx: DriverContext, params: BlockIpParams): Promise<ActionOutcome> {
      const calls: ActionCall[] = [];
      const refused = guardrailRefusal(ctx, { kind: 'ip', value: params.ip }, calls);
      if (refused) return refused;
      const ip = normaliseIp(params.ip).address;
      const undo = {
        backend: 'panos',
        ip,
        tag: settings.tag,
        ...(settings.vsys ? { vsys: settings.vsys } : {}),
        expires_at: new Date(Date.now() + params.ttl_seconds * 1000).toISOString(),
        // The tag's timeout expires the registration on the firewall itself.
        expiry_managed_by: 'firewall',
      };
      try {
        const verdict = judgeUpdate(await call(ctx, calls, 'user-id', registerMessage(ip, settings.tag, params.ttl_seconds), settings.vsys), 'register');
        return {
          ok: true,
          calls,
          undo,
          summary: `PAN-OS: ${ip} registered with tag ${settings.tag} for ${params.ttl_seconds}s${verdict.note ? ` (firewall: ${verdict.note})` : ''}`,
        };
      } catch (err) {
        return failedOutcome(calls, `PAN-OS: could not block ${ip}`, errorText(err));
      }
    },

    async undo(ctx: DriverContext, _params: BlockIpParams, undoData: Record<string, unknown>): Promise<ActionOutcome> {
      const calls: ActionCall[] = [];
      const recorded = parseUndo(undoSchema, undoData, type);
      const ip = normaliseIp(recorded.ip).address;
      try {
        const verdict = judgeUpdate(await call(ctx, calls, 'user-id', unregisterMessage(ip, recorded.tag), recorded.vsys), 'unregister');
        return { ok: true, calls, summary: `PAN-OS: tag ${recorded.tag} removed from ${ip}${verdict.note ? ` (firewall: ${verdict.note})` : ''}` };
      } catch (err) {
        return failedOutcome(calls, `PAN-OS: could not unblock ${ip}`, errorText(err));
      }
    },

    async status(ctx: DriverContext, _params: BlockIpParams, undoData: Record<string, unknown>): Promise<{ active: boolean; detail: string }> {
      const recorded = parseUndo(undoSchema, undoData, type);
      const ip = normaliseIp(recorded.ip).address;
      const tags = await registeredTags(ctx, [], ip, recorded.vsys);
      const active = tags.includes(recorded.tag);
      return { active, detail: `${ip} ${active ? 'is' : 'is not'} registered with tag ${recorded.tag}${tags.length ? ` (tags: ${tags.join(', ')})` : ''}` };
    },
  };
}
