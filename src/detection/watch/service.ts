import type { NyxService } from '../../services/index.ts';
import { getLogger } from '../../log/logger.ts';
import { loadDetectionSetup } from '../stream/index.ts';
import { RuleWatcher, type RuleRunReport } from './watcher.ts';

/** `nyx up` runs the watcher; `nyx watch` runs it alone (many replicas share the rules through leases). */
export const watchService: NyxService = {
  name: 'rule watcher',
  async start(ctx, loaded) {
    const { config } = loaded;
    const setup = loadDetectionSetup(config);
    const log = getLogger('watch');
    for (const e of setup.errors) log.warn(`rule not loaded: ${e.message}`);
    const watcher = new RuleWatcher({ client: ctx.client, rules: setup.rules, correlations: setup.correlations, policy: setup.policy, settings: config.watch, defaultNamespace: config.namespace });
    watcher.start((reports: RuleRunReport[]) => {
      const created = reports.reduce((n, r) => n + r.created, 0);
      if (created) log.info({ created }, `watch: ${created} new alerts`);
    });
    return {
      describe: `rule watcher: ${setup.rules.length} rules and ${watcher.correlations.length} correlations every ${config.watch.interval_seconds}s as ${watcher.holder} (group ${config.watch.group}, ${config.watch.shards} shards)`,
      stop: () => watcher.stop(),
    };
  },
};
