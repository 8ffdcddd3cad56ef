// `switchyard prompts …` (active version, A/B split, rollback, reload), `switchyard traffic …` (pin a model, shift a
// pool's traffic along its route) and `switchyard feedback …`. Prompt edits go to the rollout file, which a running
// router watches (or, with --url, through the router's admin API); traffic and feedback talk to a running router.
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { loadConfigFile } from '../config/load.ts';
import { rolloutFilePath } from '../config/chain.ts';
import { loadRegistry, RolloutFileStore, rolloutEdits, type RolloutState } from './prompt-store.ts';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const consoleIo: CliIo = { out: (line) => console.log(line), err: (line) => console.error(line) };

interface PromptOptions {
  config?: string;
  dir?: string[];
  rolloutFile?: string;
  url?: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Argument parsers: commander prints an InvalidArgumentError as one line and the CLI exits 2, before any request. */
function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`must be a whole number ≥ 0, got "${value}"`);
  return Number(value);
}

function feedbackScore(value: string): number {
  const score = Number(value);
  if (value.trim() === '' || !Number.isFinite(score) || score < -1 || score > 1) {
    throw new InvalidArgumentError(`must be a number from -1 (bad) to 1 (good), got "${value}"`);
  }
  return score;
}

function versionWeight(pair: string, previous: Record<string, number> = {}): Record<string, number> {
  const [version, weight, extra] = pair.split('=');
  const value = Number(weight);
  if (
    !version ||
    weight === undefined ||
    extra !== undefined ||
    weight.trim() === '' ||
    !Number.isFinite(value) ||
    value < 0
  ) {
    throw new InvalidArgumentError(`expected version=weight with a weight ≥ 0 (e.g. 1=90 2=10), got "${pair}"`);
  }
  return { ...previous, [version]: value };
}

async function promptFiles(options: PromptOptions): Promise<{ dirs: string[]; rollout: RolloutFileStore }> {
  const config = options.config === undefined ? undefined : await loadConfigFile(options.config);
  const dirs = [...(config?.prompts.dirs ?? []), ...(options.dir ?? [])].map((dir) => resolve(dir));
  const path =
    options.rolloutFile ?? (config ? rolloutFilePath(config.prompts) : rolloutFilePath({ dirs: [], watch: true }));
  return { dirs, rollout: new RolloutFileStore(resolve(path)) };
}

/** fetch against the router, with the two ways it goes wrong before any answer said in words a user knows. */
async function reach(url: string, path: string, init: RequestInit): Promise<Response> {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    throw new Error(`--url: not an http(s) URL: "${url}"`);
  try {
    return await fetch(`${url.replace(/\/$/, '')}${path}`, init);
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    throw new Error(
      `cannot reach the router at ${url}${cause ? ` (${cause})` : ''}; is it running? (--url or $SWITCHYARD_URL)`,
    );
  }
}

async function admin(url: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const token = process.env['SWITCHYARD_ADMIN_TOKEN'];
  const response = await reach(url, path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (!response.ok) {
    const error = json['error'] as { message?: string } | undefined;
    throw new Error(error?.message ?? `HTTP ${response.status}`);
  }
  return json;
}

function describe(state: RolloutState, registry: ReturnType<typeof loadRegistry>): string[] {
  return registry.list().map(({ name, versions }) => {
    const entry = state[name];
    const active = entry?.active ?? versions.at(-1) ?? '?';
    const split = entry?.weights
      ? ` split ${Object.entries(entry.weights)
          .map(([version, weight]) => `${version}=${weight}`)
          .join(',')}`
      : '';
    const history = entry?.history.length ? ` (before: ${entry.history.join(' → ')})` : '';
    return `${name}: versions ${versions.join(', ')}; active ${active}${split}${history}`;
  });
}

/** Runs one prompt edit in file mode or through the admin API; returns the exit code. */
async function editPrompts(
  options: PromptOptions,
  io: CliIo,
  file: (state: RolloutState, registry: ReturnType<typeof loadRegistry>) => { state: RolloutState; message: string },
  api: { path: string; body: unknown; message: (json: Record<string, unknown>) => string },
): Promise<number> {
  try {
    if (options.url !== undefined) {
      io.out(api.message(await admin(options.url, api.path, api.body)));
      return 0;
    }
    const { dirs, rollout } = await promptFiles(options);
    const registry = loadRegistry(dirs);
    const result = file(rollout.read(), registry);
    rollout.write(result.state);
    io.out(`${result.message} (${rollout.path}; a running router reloads it)`);
    return 0;
  } catch (error) {
    io.err(`switchyard prompts: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
}

function promptOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'router config (its prompts.dirs and prompts.rolloutFile)')
    .option('--dir <dir>', 'extra prompt folder (repeatable)', collect)
    .option(
      '--rollout-file <file>',
      'rollout file (default $SWITCHYARD_PROMPT_ROLLOUT or .switchyard/prompt-rollout.yaml)',
    )
    .option('--url <url>', "a running router's base URL: edit through its admin API instead of the file");
}

export function registerPromptCommands(program: Command, io: CliIo = consoleIo): void {
  const prompts = program
    .command('prompts')
    .description('prompt versions in production: list, activate, split (A/B), rollback, reload');
  promptOptions(
    prompts.command('list').description('prompts, versions, the active one, splits and rollback history'),
  ).action(async (options: PromptOptions) => {
    try {
      if (options.url !== undefined) {
        const json = await admin(options.url, '/admin/prompts');
        for (const entry of json['data'] as Array<Record<string, unknown>>) io.out(JSON.stringify(entry));
        return;
      }
      const { dirs, rollout } = await promptFiles(options);
      for (const line of describe(rollout.read(), loadRegistry(dirs))) io.out(line);
    } catch (error) {
      io.err(`switchyard prompts: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 2;
    }
  });
  promptOptions(prompts.command('activate').description('make VERSION the active version of NAME (clears a split)'))
    .argument('<name>')
    .argument('<version>')
    .action(async (name: string, version: string, options: PromptOptions) => {
      process.exitCode = await editPrompts(
        options,
        io,
        (state, registry) => ({
          state: rolloutEdits.activate(state, registry, name, version),
          message: `${name}: active ${version}`,
        }),
        {
          path: `/admin/prompts/${encodeURIComponent(name)}/activate`,
          body: { version },
          message: () => `${name}: active ${version}`,
        },
      );
    });
  promptOptions(
    prompts
      .command('split')
      .description('weighted A/B between versions, sticky per user/session: split NAME 1=90 2=10'),
  )
    .argument('<name>')
    .argument('<weights...>', 'version=weight pairs', versionWeight)
    .action(async (name: string, weights: Record<string, number>, options: PromptOptions) => {
      const message = `${name}: split ${Object.entries(weights)
        .map(([version, weight]) => `${version}=${weight}`)
        .join(' ')}`;
      process.exitCode = await editPrompts(
        options,
        io,
        (state, registry) => ({ state: rolloutEdits.split(state, registry, name, weights), message }),
        {
          path: `/admin/prompts/${encodeURIComponent(name)}/split`,
          body: { weights },
          message: () => message,
        },
      );
    });
  promptOptions(
    prompts.command('rollback').description('back to the previously active version of NAME (drops a split)'),
  )
    .argument('<name>')
    .action(async (name: string, options: PromptOptions) => {
      process.exitCode = await editPrompts(
        options,
        io,
        (state, registry) => {
          const result = rolloutEdits.rollback(state, registry, name);
          return { state: result.state, message: `${name}: rolled back ${result.from} → ${result.to}` };
        },
        {
          path: `/admin/prompts/${encodeURIComponent(name)}/rollback`,
          body: {},
          message: (json) => {
            const moved = json['rolled_back'] as { from: string; to: string };
            return `${name}: rolled back ${moved.from} → ${moved.to}`;
          },
        },
      );
    });
  prompts
    .command('reload')
    .description('make a running router re-read its prompt folders and rollout file now')
    .option(
      '--url <url>',
      "router's base URL",
      (process.env['SWITCHYARD_URL'] ?? 'http://127.0.0.1:8080').replace(/\/v1\/?$/, ''),
    )
    .action(async (options: { url: string }) => {
      try {
        const json = await admin(options.url, '/admin/prompts/reload', {});
        io.out(`reloaded: ${(json['data'] as unknown[]).length} prompts`);
      } catch (error) {
        io.err(`switchyard prompts: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 2;
      }
    });

  const traffic = program
    .command('traffic')
    .description("a running router's traffic overrides: pin a model, shift a pool's traffic away");
  const run = async (url: string, path: string, body?: unknown): Promise<void> => {
    try {
      io.out(JSON.stringify(await admin(url, path, body)));
    } catch (error) {
      io.err(`switchyard traffic: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 2;
    }
  };
  const url = '--url <url>';
  // $SWITCHYARD_URL as evals use it (with or without /v1), else the default listen address.
  const defaultUrl = (process.env['SWITCHYARD_URL'] ?? 'http://127.0.0.1:8080').replace(/\/v1\/?$/, '');
  traffic
    .command('status')
    .option(url, "router's base URL", defaultUrl)
    .action((options: { url: string }) => run(options.url, '/admin/traffic'));
  traffic
    .command('pin')
    .description('serve requests for MODEL (a model, alias or auto) with TARGET until unpinned')
    .argument('<model>')
    .argument('<target>')
    .option(url, "router's base URL", defaultUrl)
    .action((model: string, target: string, options: { url: string }) =>
      run(options.url, '/admin/traffic/pin', { model, target }),
    );
  traffic
    .command('scale')
    .description('set the serving replicas of a simulator-driven pool (real fleets: switchyard deploy scale)')
    .argument('<pool>')
    .argument('<replicas>', 'serving replicas', wholeNumber)
    .option(url, "router's base URL", defaultUrl)
    .action((pool: string, replicas: number, options: { url: string }) =>
      run(options.url, '/admin/traffic/scale', { pool, replicas }),
    );
  traffic
    .command('unpin')
    .argument('<model>')
    .option(url, "router's base URL", defaultUrl)
    .action((model: string, options: { url: string }) => run(options.url, '/admin/traffic/unpin', { model }));
  traffic
    .command('shift')
    .description("send a vLLM pool's new requests along their route (to the hosted tier); --back to undo")
    .argument('<pool>')
    .option('--back', 'take traffic again')
    .option(url, "router's base URL", defaultUrl)
    .action((pool: string, options: { url: string; back?: boolean }) =>
      run(options.url, '/admin/traffic/shift', { pool, on: options.back !== true }),
    );

  program
    .command('feedback')
    .description('record user feedback on a logged request (POST /v1/feedback)')
    .argument('<request-id>')
    .argument('<score>', '-1 (bad) … 1 (good)', feedbackScore)
    .option('--comment <text>')
    .option('--tag <tag>', 'tag (repeatable)', collect)
    .option(url, "router's base URL", defaultUrl)
    .action(async (requestId: string, score: number, options: { url: string; comment?: string; tag?: string[] }) => {
      const apiKey = process.env['SWITCHYARD_API_KEY'];
      const response = await reach(options.url, '/v1/feedback', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
        body: JSON.stringify({
          request_id: requestId,
          score,
          ...(options.comment ? { comment: options.comment } : {}),
          ...(options.tag ? { tags: options.tag } : {}),
        }),
      });
      const text = await response.text();
      if (response.ok) io.out(text);
      else {
        io.err(`switchyard feedback: ${text}`);
        process.exitCode = 2;
      }
    });
}
