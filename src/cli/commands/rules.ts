import type { Command } from 'commander';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EcsDocument } from '../../detection/sigma/index.ts';
import { commandConfig } from '../context.ts';
import { jsonForTerminal, printLine } from '../terminal.ts';

const RULES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'rules');
const DEFAULT_RULES = join(RULES_DIR, 'sigma');
const MAPPINGS_DIR = join(RULES_DIR, 'mappings');

export function registerRulesCommands(program: Command): void {
  const rules = program.command('rules').description('Sigma detection rules: import, validate, test');

  rules
    .command('import <dir>')
    .description('load a directory of Sigma rules (e.g. SigmaHQ) and report how many compile, and why the others do not')
    .action(async (dir: string) => {
      const { loadFieldMappings, loadSigmaRules } = await import('../../detection/sigma/index.ts');
      const mappings = loadFieldMappings(MAPPINGS_DIR);
      const { rules: loaded, errors } = loadSigmaRules(dir, mappings);
      for (const e of errors) printLine(`skipped ${e.message}`);
      printLine(`${loaded.length} of ${loaded.length + errors.length} rules compile (${errors.length} do not)`);
      if (loaded.length === 0) process.exitCode = 1;
    });

  rules
    .command('validate [paths...]')
    .description('check rules: parse errors, unknown modifiers, dangerous regexes, unmapped fields, missing ATT&CK tags')
    .option('--json', 'print the issues as JSON')
    .action(async (paths: string[], opts: { json?: boolean }) => {
      const { loadFieldMappings, validateRules } = await import('../../detection/sigma/index.ts');
      const result = validateRules(paths.length ? paths : DEFAULT_RULES, loadFieldMappings(MAPPINGS_DIR));
      if (opts.json) console.log(jsonForTerminal(result));
      else {
        for (const i of result.issues) printLine(`${i.severity.padEnd(7)} ${i.file}${i.line ? `:${i.line}` : ''}: ${i.reason}`);
        printLine(`${result.valid} of ${result.files} rules valid`);
      }
      if (result.issues.some((i) => i.severity === 'error')) process.exitCode = 1;
    });

  rules
    .command('test [paths...]')
    .description("evaluate rules over events (--events), one JSON line per match; without --events, run every rule's own positive/negative tests")
    .option('--events <file|dir>', 'ECS documents or Windows event records: JSON, NDJSON, or several JSON objects in one file')
    .action(async (paths: string[], opts: { events?: string }, cmd: Command) => {
      const { loadFieldMappings, runRuleSelfTests, testRules, findRuleFiles } = await import('../../detection/sigma/index.ts');
      const mappings = loadFieldMappings(MAPPINGS_DIR);
      const rulePaths = paths.length ? paths : DEFAULT_RULES;
      if (!opts.events) {
        const result = runRuleSelfTests(rulePaths, mappings);
        for (const f of result.failures) console.log(jsonForTerminal(f));
        printLine(`${result.rules} rules, ${result.events} test events: ${result.failures.length} failures`);
        // Correlation rules: their tests are event sequences (src/detection/correlation).
        const { runCorrelationSelfTests } = await import('../../detection/correlation/index.ts');
        const corr = runCorrelationSelfTests(rulePaths, mappings);
        for (const f of corr.failures) console.log(jsonForTerminal(f));
        if (corr.correlations) printLine(`${corr.correlations} correlation rules, ${corr.sequences} test sequences: ${corr.failures.length} failures`);
        if (result.failures.length || corr.failures.length) process.exitCode = 1;
        return;
      }
      const { config } = commandConfig(cmd);
      const { SourcePipelines } = await import('../../ingest/source-pipelines.ts');
      const pipelines = SourcePipelines.offline(config);
      // Windows event records (Event.System/EventData) are normalised exactly as ingest does it.
      const normalise = (record: EcsDocument): EcsDocument =>
        record && typeof record === 'object' && 'Event' in record ? (pipelines.normalise('endpoint', record as Record<string, unknown>).doc as EcsDocument) : record;
      const { matches, errors } = testRules(rulePaths, opts.events, { mappings, normalise });
      for (const e of errors) process.stderr.write(`nyx: rule not loaded: ${e.message}\n`);
      for (const m of matches) console.log(jsonForTerminal(m));
      process.stderr.write(`${matches.length} matches from ${findRuleFiles(rulePaths).length - errors.length} rules\n`);
    });
}
