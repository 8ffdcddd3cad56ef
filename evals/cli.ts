// `switchyard eval …`: run | metrics | baseline save | add-case | review sample|agreement | retrieval. Thin wrappers over
// evals/commands; each sets the exit code (0 ok, 1 gate / agreement check failed, 2 bad input).
import { Option, type Command } from 'commander';
import {
  evalAddCase,
  evalBaselineSave,
  evalConvertCacm,
  evalRetrieval,
  evalReviewAgreement,
  evalReviewSample,
} from './commands/other.ts';
import { evalRun, type RunCommandOptions } from './commands/run.ts';
import { METRICS } from './metrics/registry.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerEvalCommands(program: Command): void {
  const evalCommand = program
    .command('eval')
    .description('evaluation pipeline: suites, judge, baselines, retrieval metrics');

  evalCommand
    .command('run')
    .description('run a suite against a target through deterministic, semantic, judge and retrieval metrics')
    .requiredOption('--suite <file>', 'suite file (.yaml/.json) or cases (.jsonl)')
    .requiredOption('--target <url|model>', 'router base URL (with --model) or a model name on the default router')
    .option('--model <name>', 'model to call when --target is a URL')
    .option('--router-url <url>', 'router for bare model targets (default $SWITCHYARD_URL or http://127.0.0.1:8080/v1)')
    .option('--api-key <key>', 'API key (default $SWITCHYARD_API_KEY or $OPENAI_API_KEY)')
    .option('--judge-model <name>', 'judge model (enables pairwise and rubric metrics)')
    .option('--judge-url <url>', 'judge base URL (default: the target router)')
    .addOption(
      new Option('--judge-format <format>', 'how JSON is requested from the judge').choices([
        'json_schema',
        'json_object',
        'none',
      ]),
    )
    .option('--judge-retries <n>', 'judge re-asks after invalid JSON (default 2)')
    .option('--compare-model <name>', 'second model for pairwise `against: compare-target`')
    .option('--compare-target <url>', 'base URL of the compare model (default: the target router)')
    .option('--concurrency <n>', 'cases evaluated at once (default 4)')
    .option('--retries <n>', 'SDK retries of a failed model call (429, 5xx, connection; default 2)')
    .option('--timeout-ms <ms>', 'per model call (default 120000)')
    .option('--repeat <n>', 'repeat each case N times for flakiness statistics (default 1)')
    .option('--cache-dir <dir>', 'response cache directory (default .switchyard/eval-cache)')
    .option('--no-cache', 'call every model, read and write no cache')
    .option('--out <dir>', 'where report.json and report.html go (default eval-results)')
    .option(
      '--baseline <file>',
      'gate against this baseline (exit 1 when a gated metric drops below baseline − tolerance)',
    )
    .option('--tolerance <x>', 'allowed drop below the baseline (default 0.03)')
    .addOption(new Option('--gate-on <measure>', 'what the gate compares').choices(['pass-rate', 'score', 'both']))
    .option('--min-pass-rate <x>', 'threshold mode: every gated metric must reach this pass rate')
    .option('--gate-metrics <ids>', 'comma-separated metric ids to gate (default: all with gate ≠ false)')
    .option('--review-share <x>', 'share of non-flagged cases sampled for human review (flagged cases always are)')
    .option('--review-out <file>', 'review file (.csv or .jsonl; default <out>/review.csv)')
    .option('--seed <text>', 'seed of the review sample (default switchyard)')
    .option('--no-progress', 'no progress bar')
    .addOption(
      new Option(
        '--embedder <choice>',
        'semantic-stage embedder (default auto: retrieval, else hashed fallback)',
      ).choices(['auto', 'retrieval', 'hashed']),
    )
    .option('--embedding-model <id|dir>', "retrieval embedder to load, offline (default: retrieval's default model)")
    .option(
      '--prompt <name@version>',
      "registry prompt version to evaluate (overrides the suite's `prompt`); its eval_baseline gates",
    )
    .option('--prompt-dir <dir>', 'prompt folder besides the shipped chain prompts (repeatable)', collect)
    .option('--rollout-file <file>', 'rollout file for the active version of a bare prompt name')
    .option('--push-to <url>', 'router to report the pass rate to (switchyard_prompt_version_eval_pass_rate)')
    .action(async (options: RunCommandOptions) => {
      process.exitCode = await evalRun(options);
    });

  evalCommand
    .command('metrics')
    .description('list the metrics an assertion `type` can name')
    .action(() => {
      for (const metric of Object.values(METRICS)) {
        console.log(`${metric.name.padEnd(22)} ${metric.stage.padEnd(13)} ${metric.description}`);
      }
    });

  evalCommand
    .command('baseline')
    .description('baselines for the CI gate')
    .command('save')
    .description('save the per-metric rates of a run report as a baseline')
    .requiredOption('--report <file>', 'report.json of a run')
    .requiredOption('--out <file>', 'baseline file to write')
    .action(async (options: { report: string; out: string }) => {
      process.exitCode = await evalBaselineSave(options);
    });

  evalCommand
    .command('add-case')
    .description('turn a logged production request into an eval case (appended to a cases JSONL)')
    .requiredOption('--from-request <id>', 'request id in the request log')
    .requiredOption('--suite <cases.jsonl>', 'cases file to append to')
    .option('--log <file>', 'request log (JSONL; default $SWITCHYARD_REQUEST_LOG or .switchyard/requests.jsonl)')
    .option('--id <caseId>', 'case id (default req-<request id>)')
    .option('--tag <tag>', 'extra tag (repeatable)', collect)
    .option('--reference-from-response', 'use the logged answer as the reference (only if it was right)')
    .action(
      async (options: {
        fromRequest: string;
        suite: string;
        log?: string;
        id?: string;
        tag?: string[];
        referenceFromResponse?: boolean;
      }) => {
        process.exitCode = await evalAddCase({
          ...options,
          log: options.log ?? process.env['SWITCHYARD_REQUEST_LOG'] ?? '.switchyard/requests.jsonl',
        });
      },
    );

  const review = evalCommand.command('review').description('human review: sample cases, measure annotator agreement');
  review
    .command('sample')
    .description('write flagged cases plus a random share of the rest of a run to a review file')
    .requiredOption('--report <file>', 'report.json of a run')
    .requiredOption('--out <file>', 'review file (.csv or .jsonl)')
    .option('--share <x>', 'share of non-flagged cases', '0.1')
    .option('--seed <text>', 'sampling seed', 'switchyard')
    .action(async (options: { report: string; out: string; share: string; seed: string }) => {
      process.exitCode = await evalReviewSample(options);
    });
  review
    .command('agreement')
    .description("Cohen's kappa (2 annotators) or Fleiss' kappa (3+) of annotated review files; exit 1 below 0.7")
    .argument('<files...>', 'annotated review files (.csv/.jsonl), one per annotator or with an annotator column')
    .option('--include-automated', "count the run's pass/fail verdict as one more annotator (human vs pipeline)")
    .action(async (files: string[], options: { includeAutomated?: boolean }) => {
      process.exitCode = await evalReviewAgreement(files, undefined, options);
    });

  evalCommand
    .command('convert-cacm')
    .description(
      'turn the CACM test collection (cacm.all, query.text, qrels.text) into JSONL documents, JSONL queries and TREC qrels',
    )
    .argument('<folder>', 'folder holding the collection as published')
    .option('--out <dir>', 'where documents.jsonl, queries.jsonl and qrels.txt go', '.switchyard/cacm')
    .action(async (folder: string, options: { out: string }) => {
      process.exitCode = await evalConvertCacm(folder, options.out);
    });

  evalCommand
    .command('retrieval')
    .description('recall@k, precision@k, MRR, MAP, nDCG@k (trec_eval definitions) per search mode; TREC run files out')
    .requiredOption('--qrels <file>', 'TREC qrels (qid iter docno rel)')
    .option('--index <name>', 'retrieval index to query (a name under --index-dir, or a path)')
    .option('--index-dir <dir>', "root of named indexes (default: retrieval's)")
    .option('--queries <file>', 'JSONL queries {id, text}')
    .option('--run <file>', 'score an existing TREC run file instead of querying an index')
    .option('--mode <modes>', 'comma-separated: lexical,lexical-prf,vector,hybrid,rerank (default all but rerank)')
    .option('--k <n>', 'largest cutoff (default 10; R@100 is always reported)')
    .option('--depth <n>', 'documents per query in the run (default 1000, as trec_eval runs; at most 1000)')
    .option('--relevance-level <n>', 'minimum grade that counts as relevant (default 1)')
    .option('--complete', 'score judged queries missing from the run as 0 (trec_eval -c)')
    .option('--run-out <file>', 'write the TREC run (one file per mode: FILE.<mode>)')
    .option('--tag <tag>', 'run tag prefix (default switchyard)')
    .option('--json', 'print JSON instead of a table')
    .action(async (options: Parameters<typeof evalRetrieval>[0]) => {
      process.exitCode = await evalRetrieval(options);
    });
}
