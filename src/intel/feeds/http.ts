import { createReadStream, statSync } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import axios, { AxiosError, type AxiosResponse } from 'axios';
import { NyxError } from '../../errors.ts';

/** What went wrong with a feed source, as `nyx feeds status` reports it. */
export type FeedFailure =
  | 'unreachable'
  | 'timeout'
  | 'unauthorized'
  | 'payment_required'
  | 'forbidden'
  | 'not_found'
  | 'rate_limited'
  | 'server_error'
  | 'http_error'
  | 'html'
  | 'not_json'
  | 'too_large'
  | 'bad_payload'
  | 'missing_secret';

export class FeedError extends NyxError {
  constructor(
    readonly failure: FeedFailure,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'FeedError';
  }
}

export interface FeedHttpOptions {
  maxBytes: number;
  timeoutMs: number;
  retries: number;
  maxRetryAfterS: number;
  /** Auth and other fixed headers; values never appear in messages. */
  headers?: Record<string, string>;
  /** Names the env var holding the secret, for the 401 hint. */
  authEnv?: string;
  onWait?: (seconds: number, why: string) => void;
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  params?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A URL for messages: origin and path only (query strings may carry keys). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return u.protocol === 'file:' ? u.pathname : `${u.origin}${u.pathname}`;
  } catch {
    return url.split('?')[0] ?? url;
  }
}

function looksLikeHtml(contentType: string | undefined, head: string): boolean {
  return /text\/html/i.test(contentType ?? '') || /^\s*<(!doctype|html|head|body)/i.test(head);
}

function parseRetryAfter(value: unknown): number | undefined {
  if (typeof value !== 'string' || !value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * HTTP for feeds: bounded size and time on every download, errors classified into one readable line
 * (401/402/403/404/429/5xx, HTML instead of JSON, too large, timeout, unreachable), 429 Retry-After
 * honoured up to a bound, and streams for big files (file:// and paths too) that never buffer whole.
 */
export class FeedHttp {
  constructor(private readonly options: FeedHttpOptions) {}

  /** A JSON answer, parsed; HTML or non-JSON answers fail with the reason. */
  async json(url: string, request: RequestOptions = {}): Promise<unknown> {
    const body = await this.text(url, { ...request, headers: { Accept: 'application/json', ...request.headers } });
    if (looksLikeHtml(undefined, body.slice(0, 200))) throw new FeedError('html', `${describeUrl(url)} answered an HTML page instead of JSON`);
    try {
      return JSON.parse(body) as unknown;
    } catch (err) {
      throw new FeedError('not_json', `${describeUrl(url)} answered something that is not JSON: ${(err as Error).message.slice(0, 120)}`);
    }
  }

  /** A whole (bounded) text answer. */
  async text(url: string, request: RequestOptions = {}): Promise<string> {
    if (isLocal(url)) {
      const path = localPath(url);
      const size = safeSize(path);
      if (size > this.options.maxBytes) throw new FeedError('too_large', `${path} is ${size} bytes, over the limit of ${this.options.maxBytes}`);
      const chunks: Buffer[] = [];
      for await (const c of await this.stream(url)) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    }
    const res = await this.request(url, request, 'text');
    const data = typeof res.data === 'string' ? res.data : String(res.data ?? '');
    if (looksLikeHtml(String(res.headers['content-type'] ?? ''), data.slice(0, 200)) && !/xml|rss|atom/i.test(String(res.headers['content-type'] ?? ''))) {
      throw new FeedError('html', `${describeUrl(url)} answered an HTML page (status ${res.status})`);
    }
    return data;
  }

  /**
   * A byte stream of the body, limited to maxBytes and to timeoutMs without data; gunzipped when the
   * name ends in .gz. Local files (file:// or a path) stream the same way.
   */
  async stream(url: string, request: RequestOptions = {}): Promise<Readable> {
    let source: Readable;
    const where = describeUrl(url);
    if (isLocal(url)) {
      const path = localPath(url);
      safeSize(path);
      source = createReadStream(path, { highWaterMark: 256 * 1024 });
    } else {
      const res = await this.request(url, request, 'stream');
      const type = String(res.headers['content-type'] ?? '');
      if (/text\/html/i.test(type)) {
        (res.data as Readable).destroy();
        throw new FeedError('html', `${where} answered an HTML page (status ${res.status})`);
      }
      source = res.data as Readable;
      // From here the byte-limit stream's idle clock applies (it pauses under backpressure; a socket timeout would not).
      (res.request as { setTimeout?: (ms: number) => void } | undefined)?.setTimeout?.(0);
    }
    const limited = source.pipe(byteLimit(this.options.maxBytes, this.options.timeoutMs, where));
    source.on('error', (err) => limited.destroy(err));
    if (!/\.gz($|\?)/.test(url)) return limited;
    const gunzip = createGunzip();
    limited.on('error', (err) => gunzip.destroy(err));
    return limited.pipe(gunzip);
  }

  private async request(url: string, request: RequestOptions, responseType: 'text' | 'stream'): Promise<AxiosResponse> {
    const where = describeUrl(url);
    for (let attempt = 0; ; attempt++) {
      let res: AxiosResponse;
      try {
        res = await axios.request({
          url,
          method: request.method ?? 'GET',
          params: request.params,
          data: request.body,
          headers: { 'User-Agent': 'nyx-feeds', ...this.options.headers, ...request.headers },
          responseType,
          transformResponse: (d: unknown) => d,
          timeout: this.options.timeoutMs,
          signal: responseType === 'text' ? AbortSignal.timeout(this.options.timeoutMs) : undefined,
          maxContentLength: this.options.maxBytes,
          maxBodyLength: 10 * 1024 * 1024,
          maxRedirects: 3,
          validateStatus: () => true,
          decompress: true,
        });
      } catch (err) {
        throw classifyTransportError(err, where, this.options);
      }
      if (res.status >= 200 && res.status < 300) return res;
      if (responseType === 'stream') (res.data as Readable).destroy();
      const retryAfter = parseRetryAfter(res.headers['retry-after']);
      const retryable = res.status === 429 || res.status === 503;
      if (retryable && attempt < this.options.retries && (retryAfter ?? 1) <= this.options.maxRetryAfterS) {
        const wait = retryAfter ?? Math.min(2 ** attempt, this.options.maxRetryAfterS);
        this.options.onWait?.(wait, `${where} answered ${res.status}`);
        await sleep(wait * 1000);
        continue;
      }
      throw statusError(res.status, where, retryAfter, this.options.authEnv);
    }
  }
}

function statusError(status: number, where: string, retryAfter: number | undefined, authEnv?: string): FeedError {
  const hint = authEnv ? ` (check the key in ${authEnv})` : '';
  if (status === 401) return new FeedError('unauthorized', `${where} rejected the credentials (401)${hint}`);
  if (status === 402) return new FeedError('payment_required', `${where} answered 402 Payment Required (quota or subscription)`);
  if (status === 403) return new FeedError('forbidden', `${where} refused access (403)${hint}`);
  if (status === 404) return new FeedError('not_found', `${where} not found (404)`);
  if (status === 429) return new FeedError('rate_limited', `${where} is rate limiting (429${retryAfter !== undefined ? `, retry after ${retryAfter}s` : ''})`, retryAfter);
  if (status >= 500) return new FeedError('server_error', `${where} failed (${status})`, retryAfter);
  return new FeedError('http_error', `${where} answered ${status}`);
}

function classifyTransportError(err: unknown, where: string, options: FeedHttpOptions): FeedError {
  if (err instanceof AxiosError) {
    if (err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT' || err.code === 'ERR_CANCELED' || /timeout|aborted/i.test(err.message)) {
      return new FeedError('timeout', `${where} did not answer within ${options.timeoutMs} ms`);
    }
    if (err.code === 'ERR_BAD_RESPONSE' && /maxContentLength/i.test(err.message)) return new FeedError('too_large', `${where} sent more than ${options.maxBytes} bytes`);
    if (/maxContentLength/i.test(err.message)) return new FeedError('too_large', `${where} sent more than ${options.maxBytes} bytes`);
    return new FeedError('unreachable', `cannot reach ${where}: ${err.code ?? err.message}`);
  }
  if ((err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError') return new FeedError('timeout', `${where} did not answer within ${options.timeoutMs} ms`);
  return new FeedError('unreachable', `cannot reach ${where}: ${(err as Error)?.message ?? String(err)}`);
}

/**
 * Counts bytes (failing past maxBytes) and fails when the source sends nothing for idleMs while we are
 * waiting for it. The idle clock runs only while downstream asks for data, so a slow consumer
 * (backpressure while Elasticsearch indexes a batch) never looks like a silent server.
 */
function byteLimit(maxBytes: number, idleMs: number, where: string): Transform {
  let seen = 0;
  let timer: NodeJS.Timeout | undefined;
  const disarm = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  const t: Transform = new Transform({
    transform(chunk: Buffer, _enc, done) {
      disarm();
      seen += chunk.length;
      if (seen > maxBytes) return done(new FeedError('too_large', `${where} sent more than ${maxBytes} bytes`));
      done(null, chunk);
    },
    flush(done) {
      disarm();
      done();
    },
    destroy(err, done) {
      disarm();
      done(err);
    },
  });
  const read = t._read.bind(t);
  t._read = (size: number) => {
    disarm();
    timer = setTimeout(() => t.destroy(new FeedError('timeout', `${where} sent nothing for ${idleMs} ms`)), idleMs);
    timer.unref();
    read(size);
  };
  t.on('end', disarm);
  return t;
}

function isLocal(url: string): boolean {
  return url.startsWith('file:') || url.startsWith('/') || url.startsWith('./') || url.startsWith('../');
}

function localPath(url: string): string {
  return url.startsWith('file:') ? fileURLToPath(url) : url;
}

function safeSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    throw new FeedError('not_found', `${path}: no such file`);
  }
}
