import type { ResponseConfig } from './config.ts';
import { registerActionDriver } from './drivers/index.ts';
import { createWebhookDriver, createWebhookSender } from './drivers/webhook.ts';
import { createSightingDriver, webhookSightingSink } from './drivers/sighting.ts';
import { createDisableAccountDriver, type CommandRunner } from './drivers/disable-account.ts';
import { TheHiveClient, createTheHiveAlertDriver, createTheHiveLogDriver } from './drivers/thehive.ts';
import { createCortexDriver } from './drivers/cortex.ts';
import { registerFirewallDrivers } from './drivers/block-ip.ts';
import { registerEc2IsolationDriver } from './drivers/ec2.ts';

/**
 * Registers every shipped driver, configured from `response:` (secrets from env): TheHive, Cortex, webhook, sighting,
 * disable_account here, and the firewall (block_ip) and EC2 (isolate_endpoint) drivers through their own register
 * functions. The engine sees all of them only through the registry.
 */
export function registerBuiltinDrivers(config: ResponseConfig, env: NodeJS.ProcessEnv = process.env, runner?: CommandRunner): void {
  const sender = createWebhookSender(config.webhooks, env);
  registerActionDriver(createWebhookDriver(sender));
  registerActionDriver(createSightingDriver(config.sighting ? webhookSightingSink(sender, config.sighting.webhook) : undefined));
  registerActionDriver(createDisableAccountDriver(config.disable_account, sender, ...(runner ? [runner] : [])));
  if (config.thehive) {
    const client = new TheHiveClient(config.thehive, env[config.thehive.api_key_env]);
    registerActionDriver(createTheHiveAlertDriver(client));
    registerActionDriver(createTheHiveLogDriver(client));
  }
  if (config.cortex) registerActionDriver(createCortexDriver(config.cortex, env[config.cortex.api_key_env]));
  registerFirewallDrivers(config.drivers, env);
  registerEc2IsolationDriver(config.drivers.ec2, env);
}
