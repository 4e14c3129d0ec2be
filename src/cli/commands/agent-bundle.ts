import { resolve } from 'node:path';
import type { Command } from 'commander';
import { NyxError } from '../../errors.ts';
import { buildAgentBundle, type BundlePlatform } from '../../shipper/bundle.ts';
import { progress } from '../context.ts';

/** `nyx agent bundle linux|windows`: a preconfigured shipper archive with a fresh enrollment token. */
export function registerAgentBundleCommand(agent: Command): void {
  agent
    .command('bundle')
    .description('build a preconfigured shipper bundle (.tar.gz for linux, .zip for windows) and print its SHA-256')
    .argument('<platform>', 'linux or windows')
    .requiredOption('--namespace <tenant>', 'the tenant the agents enroll into')
    .requiredOption('--server <url>', 'the ingest API URL the agents ship to')
    .option('--token <token>', 'the enrollment token to embed (create one with `nyx agents token create --namespace <tenant> --ttl 24h`)')
    .option('--out <file>', 'where to write the archive')
    .action(async (platform: string, opts: { namespace: string; server: string; token?: string; out?: string }) => {
      if (platform !== 'linux' && platform !== 'windows') throw new NyxError(`platform: expected linux or windows, got ${platform}`);
      if (!/^[a-z0-9_]{1,100}$/.test(opts.namespace)) throw new NyxError('--namespace: expected lowercase letters, digits and _');
      try {
        new URL(opts.server);
      } catch {
        throw new NyxError(`--server: not a URL: ${opts.server}`);
      }
      const token = opts.token ?? process.env.NYX_ENROLLMENT_TOKEN;
      if (!token) throw new NyxError('no enrollment token', 'pass --token (from `nyx agents token create --namespace <tenant> --ttl 24h`) or set NYX_ENROLLMENT_TOKEN');
      const out = resolve(opts.out ?? `nyx-agent-${platform}-${opts.namespace}.${platform === 'linux' ? 'tar.gz' : 'zip'}`);
      progress(`building the ${platform} shipper bundle for ${opts.namespace}…`);
      const r = await buildAgentBundle({ platform: platform as BundlePlatform, namespace: opts.namespace, server: opts.server, token, out });
      progress(`wrote ${r.path} (${(r.bytes / 1024).toFixed(0)} KiB): ${r.files.join(', ')}`);
      console.log(`${r.sha256}  ${r.path}`);
    });
}
