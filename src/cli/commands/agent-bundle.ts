import { resolve } from 'node:path';
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { NyxError } from '../../errors.ts';
import type { BundlePlatform } from '../../shipper/bundle.ts';
import { commandConfig, commandElastic, progress } from '../context.ts';

/** `nyx agent bundle linux|windows`: a preconfigured shipper archive with a fresh 24 h enrollment token. */
export function registerAgentBundleCommand(agent: Command): void {
  agent
    .command('bundle')
    .description('build a preconfigured shipper bundle (.tar.gz for linux, .zip for windows) with a fresh 24 h enrollment token; prints its SHA-256 and path')
    .argument('<platform>', 'linux or windows')
    .requiredOption('--namespace <tenant>', 'the tenant the agents enroll into')
    .option('--server <url>', 'the ingest API URL the agents ship to (default: http://<serve.host>:<serve.port> from config)')
    .option('--token <token>', 'embed this enrollment token instead of creating one (or set NYX_ENROLLMENT_TOKEN)')
    .option('--out <file>', 'where to write the archive (default: nyx-agent-<platform>-<tenant>.tar.gz|zip)')
    .action(async (platform: string, opts: { namespace: string; server?: string; token?: string; out?: string }, cmd: Command) => {
      if (platform !== 'linux' && platform !== 'windows') throw new NyxError(`platform: expected linux or windows, got ${platform}`);
      if (!/^[a-z0-9_]{1,100}$/.test(opts.namespace)) throw new NyxError('--namespace: expected lowercase letters, digits and _');
      const { bundleFilename, issueAgentBundle } = await import('../../shipper/bundle.ts');
      const { config } = commandConfig(cmd);
      const server = opts.server ?? `http://${config.serve.host.includes(':') ? `[${config.serve.host}]` : config.serve.host}:${config.serve.port}`;
      try {
        const url = new URL(server);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
      } catch {
        throw new NyxError(`--server: not an http(s) URL: ${server}`);
      }
      if (!opts.server) progress(`no --server given: agents will ship to ${server} (serve.host/serve.port)`);
      const given = opts.token ?? process.env.NYX_ENROLLMENT_TOKEN;
      const out = resolve(opts.out ?? bundleFilename(platform, opts.namespace));
      progress(`building the ${platform} shipper bundle for ${opts.namespace}…`);
      let bundle;
      if (given) bundle = await issueAgentBundle(undefined, { platform: platform as BundlePlatform, namespace: opts.namespace, server, token: given });
      else {
        const { createAgentRegistry } = await import('../../agents/index.ts');
        const { loaded, ctx } = await commandElastic(cmd);
        try {
          bundle = await issueAgentBundle(createAgentRegistry(ctx.client, loaded.config), { platform: platform as BundlePlatform, namespace: opts.namespace, server, description: `agent bundle (${platform}) from the CLI` });
        } finally {
          await ctx.client.close();
        }
        progress(`enrollment token ${bundle.tokenId} for ${opts.namespace}, expires ${bundle.tokenExpiresAt}`);
      }
      // Mode 0600: the archive carries a live enrollment token.
      writeFileSync(out, bundle.data, { mode: 0o600 });
      progress(`wrote ${out} (${(bundle.data.length / 1024).toFixed(0)} KiB): ${bundle.files.join(', ')}`);
      console.log(`${bundle.sha256}  ${out}`);
    });
}
