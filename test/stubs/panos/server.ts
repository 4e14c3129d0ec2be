import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseStringPromise } from 'xml2js';

/**
 * A local PAN-OS XML API stub (POST /api/, form-encoded) for what Nyx uses:
 *   type=user-id  cmd=<uid-message><version>2.0</version><type>update</type><payload>
 *                       <register|unregister><entry ip=".."><tag><member timeout="s">tag</member></tag></entry>…
 *   type=op       cmd=<show><object><registered-ip><ip>..</ip></registered-ip></object></show>
 * Auth: X-PAN-KEY header (or key= parameter); a wrong key gets 403 with code="403".
 * Registering an existing tag / unregistering a missing one answers status="error" with a per-entry
 * message ("… already exists, ignore" / "… does not exist, ignore"), as the firewall does.
 * Tag timeouts expire on the stub's clock.
 */

export interface RecordedPanosRequest {
  method: string;
  path: string;
  panKey: string | undefined;
  contentType: string | undefined;
  form: Record<string, string>;
}

export interface PanosStub {
  url: string;
  requests: RecordedPanosRequest[];
  /** ip → tag → expiry (epoch ms, or Infinity without timeout). */
  registered: Map<string, Map<string, number>>;
  failNext(status: number, body: string): void;
  close(): Promise<void>;
}

type XmlNode = Record<string, unknown>;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
const text = (v: unknown): string => (typeof v === 'string' ? v : v && typeof v === 'object' && '_' in v ? String((v as XmlNode)._) : '');
const attr = (v: unknown, name: string): string | undefined =>
  v && typeof v === 'object' && '$' in v ? ((v as { $: Record<string, string> }).$[name] ?? undefined) : undefined;

export async function startPanosStub(apiKey: string): Promise<PanosStub> {
  const requests: RecordedPanosRequest[] = [];
  const registered = new Map<string, Map<string, number>>();
  const faults: Array<{ status: number; body: string }> = [];

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => resolve(body));
    });

  function liveTags(ip: string): string[] {
    const tags = registered.get(ip);
    if (!tags) return [];
    for (const [tag, expiry] of tags) if (expiry <= Date.now()) tags.delete(tag);
    return [...tags.keys()];
  }

  async function userId(cmd: string, reply: (status: number, xml: string) => void): Promise<void> {
    const doc = (await parseStringPromise(cmd, { explicitArray: true })) as XmlNode;
    const message = arr(doc['uid-message'])[0] as XmlNode | undefined;
    const payload = arr(message?.payload)[0] as XmlNode | undefined;
    if (!message || text(arr(message.version)[0]) !== '2.0' || text(arr(message.type)[0]) !== 'update' || !payload) {
      reply(200, '<response status="error"><msg><line>Invalid uid-message</line></msg></response>');
      return;
    }
    const entryMessages: string[] = [];
    for (const op of ['register', 'unregister'] as const) {
      for (const block of arr(payload[op])) {
        for (const entry of arr((block as XmlNode).entry)) {
          const ip = attr(entry, 'ip');
          if (!ip) continue;
          for (const tagNode of arr((entry as XmlNode).tag)) {
            for (const member of arr((tagNode as XmlNode).member)) {
              const tag = text(member);
              const timeout = Number(attr(member, 'timeout') ?? '0');
              const tags = registered.get(ip) ?? new Map<string, number>();
              registered.set(ip, tags);
              const present = liveTags(ip).includes(tag);
              if (op === 'register') {
                if (present) entryMessages.push(`<entry ip="${ip}" message="tag ${tag} already exists, ignore"/>`.replace('<entry', `<${op}-entry`));
                else tags.set(tag, timeout > 0 ? Date.now() + timeout * 1000 : Infinity);
              } else if (!present) {
                entryMessages.push(`<unregister-entry ip="${ip}" message="tag ${tag} does not exist, ignore"/>`);
              } else tags.delete(tag);
            }
          }
        }
      }
    }
    if (!entryMessages.length) {
      reply(200, '<response status="success"><result><uid-response><version>2.0</version><payload></payload></uid-response></result></response>');
      return;
    }
    const grouped = (op: string) =>
      entryMessages
        .filter((m) => m.startsWith(`<${op}-entry`))
        .map((m) => m.replace(`<${op}-entry`, '<entry'))
        .join('');
    const reg = grouped('register');
    const unreg = grouped('unregister');
    reply(
      200,
      `<response status="error"><msg><line><uid-response><version>2.0</version><payload>${reg ? `<register>${reg}</register>` : ''}${unreg ? `<unregister>${unreg}</unregister>` : ''}</payload></uid-response></line></msg></response>`,
    );
  }

  async function op(cmd: string, reply: (status: number, xml: string) => void): Promise<void> {
    const doc = (await parseStringPromise(cmd, { explicitArray: true })) as XmlNode;
    const regIp = arr((arr((arr(doc.show)[0] as XmlNode | undefined)?.object)[0] as XmlNode | undefined)?.['registered-ip'])[0] as XmlNode | undefined;
    if (!regIp) {
      reply(200, '<response status="error"><msg><line>show -&gt; unexpected here</line></msg></response>');
      return;
    }
    const filter = text(arr(regIp.ip)[0]);
    const ips = filter ? [filter] : [...registered.keys()];
    const entries = ips
      .map((ip) => [ip, liveTags(ip)] as const)
      .filter(([, tags]) => tags.length)
      .map(([ip, tags]) => `<entry ip="${ip}" from_agent="0" persistent="1"><tag>${tags.map((t) => `<member>${t}</member>`).join('')}</tag></entry>`);
    reply(200, `<response status="success"><result>${entries.join('')}<count>${entries.length}</count></result></response>`);
  }

  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://stub');
    const form = Object.fromEntries(new URLSearchParams(body));
    for (const [k, v] of url.searchParams) form[k] ??= v;
    const panKey = typeof req.headers['x-pan-key'] === 'string' ? req.headers['x-pan-key'] : undefined;
    requests.push({ method: req.method ?? '', path: url.pathname, panKey, contentType: req.headers['content-type'], form });
    const reply = (status: number, xml: string) => {
      res.writeHead(status, { 'content-type': 'application/xml; charset=UTF-8' });
      res.end(xml);
    };
    const fault = faults.shift();
    if (fault) return reply(fault.status, fault.body);
    if (url.pathname !== '/api/') return reply(404, '<response status="error"><msg>Not found</msg></response>');
    if ((panKey ?? form.key) !== apiKey) return reply(403, '<response status="error" code="403"><result><msg>Invalid Credential</msg></result></response>');
    try {
      if (form.type === 'user-id' && form.cmd) return await userId(form.cmd, reply);
      if (form.type === 'op' && form.cmd) return await op(form.cmd, reply);
      return reply(200, '<response status="error" code="17"><msg><line>Missing or unsupported type</line></msg></response>');
    } catch {
      return reply(200, '<response status="error" code="17"><msg><line>Malformed XML in cmd</line></msg></response>');
    }
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    registered,
    failNext(status, body) {
      faults.push({ status, body });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
