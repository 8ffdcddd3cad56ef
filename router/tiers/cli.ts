// `switchyard calibrate`: set the complexity thresholds from a sample of prompts and target tier shares.
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { CalibrationInputError, calibrateFromFile, parseShares } from './calibrate.ts';
import type { CalibrationResult } from './calibrate.ts';

export function formatCalibration(result: CalibrationResult): string {
  const rows = result.targetShares.map(
    (target, tier) =>
      `  tier ${tier}: target ${(target * 100).toFixed(1)}%  achieved ${((result.achievedShares[tier] ?? 0) * 100).toFixed(1)}%`,
  );
  const yaml = stringify({
    auto: { classifier: { thresholds: result.thresholds.map((value) => Number(value.toFixed(6))) } },
  });
  return [`calibrated on ${result.sampleSize} prompts`, ...rows, '', '# paste into switchyard.yaml:', yaml].join('\n');
}

export function registerTierCommands(program: Command): void {
  program
    .command('calibrate')
    .description('set the `auto` complexity thresholds from sample prompts and a target share per tier')
    .requiredOption('--input <file>', 'JSONL: one prompt per line (string, {"prompt"}, {"text"} or {"messages"})')
    .requiredOption('--shares <list>', 'target share per tier, simplest first, summing to 1 (e.g. 0.6,0.3,0.1)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { input: string; shares: string; json?: boolean }) => {
      try {
        const result = await calibrateFromFile(options.input, parseShares(options.shares));
        console.log(options.json ? JSON.stringify(result, null, 2) : formatCalibration(result));
      } catch (error) {
        if (!(error instanceof CalibrationInputError)) throw error;
        program.error(`calibrate: ${error.message}`, { exitCode: 2 });
      }
    });
}
