// `switchyard keys create|list|disable|enable|spend`: admin commands on the governance SQLite database (the same file
// the router's `governance.keys.database` names). The plain key is printed once, at creation, and never stored.
import type { Command } from 'commander';
import { CliError, InvalidRequestError } from '../../core/errors.ts';
import { KeyStore, type KeyRecord } from './keys/store.ts';
import { formatTable } from '../../core/text-table.ts';
import { unknownProfileMessage } from './guardrails/profiles.ts';

const DEFAULT_DB = process.env['SWITCHYARD_GOVERNANCE_DB'] ?? '.switchyard/governance.sqlite';

interface CreateOptions {
  db: string;
  name: string;
  owner: string;
  team: string;
  models?: string;
  rpm?: string;
  tpm?: string;
  dailyBudget?: string;
  monthlyBudget?: string;
  defaultMaxTokens?: string;
  maxTokens?: string;
  guardrailProfile?: string;
  config?: string;
  json?: boolean;
}

/**
 * Refuses a --guardrail-profile the router's config does not define (exit 2, listing the ones it does): a key naming
 * an unknown profile would be refused on every request. The config is only read when a profile is given.
 */
async function checkGuardrailProfile(name: string, configFile: string | undefined): Promise<void> {
  const { loadConfigFile, validateConfig } = await import('../config/load.ts');
  const { embeddedDefaultConfig } = await import('../config/default.ts');
  const config = configFile
    ? await loadConfigFile(configFile)
    : validateConfig(embeddedDefaultConfig(), '(embedded default)');
  const source = configFile ?? 'the embedded default config';
  const unknown = unknownProfileMessage(config.governance.guardrails, name, source);
  if (unknown === undefined) return;
  const hint = configFile ? '' : "; pass --config with the router's switchyard.yaml";
  throw new CliError(`--guardrail-profile: ${unknown}${hint}`, { exitCode: 2 });
}

function positive(text: string | undefined, flag: string, integer = true): number | null {
  if (text === undefined) return null;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new InvalidRequestError(`${flag} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"`);
  }
  return value;
}

function describeKey(record: KeyRecord): string {
  const limits = [
    record.rpm ? `rpm=${record.rpm}` : '',
    record.tpm ? `tpm=${record.tpm}` : '',
    record.dailyBudgetUsd ? `daily=$${record.dailyBudgetUsd}` : '',
    record.monthlyBudgetUsd ? `monthly=$${record.monthlyBudgetUsd}` : '',
    record.allowedModels.length ? `models=${record.allowedModels.join(',')}` : '',
  ].filter(Boolean);
  return `${record.id}  ${record.hint}  ${record.disabled ? 'DISABLED' : 'active  '}  ${record.owner}/${record.team}  ${record.name}  ${limits.join(' ')}`;
}

function withStore<T>(db: string, action: (store: KeyStore) => T): T {
  const store = new KeyStore({ path: db, cacheMs: 0 });
  try {
    return action(store);
  } finally {
    store.close();
  }
}

export function registerGovernanceCommands(program: Command): void {
  const keys = program.command('keys').description('manage router API keys and see spend (governance database)');
  keys
    .command('create')
    .description('create an API key (printed once; only its hash is stored)')
    .requiredOption('--name <name>', 'what the key is for')
    .requiredOption('--owner <owner>', 'person or service owning the key')
    .option('--team <team>', 'team the spend is attributed to', 'default')
    .option('--models <list>', 'comma-separated router models the key may use (default: all)')
    .option('--rpm <n>', 'requests per minute')
    .option('--tpm <n>', 'tokens per minute')
    .option('--daily-budget <usd>', 'daily budget in $')
    .option('--monthly-budget <usd>', 'monthly budget in $')
    .option('--default-max-tokens <n>', 'max_tokens when a request sets none')
    .option('--max-tokens <n>', 'upper bound for max_tokens')
    .option('--guardrail-profile <name>', 'guardrail profile from the config')
    .option('--config <file>', 'switchyard.yaml defining the guardrail profiles (default: the embedded setup)')
    .option('--db <file>', 'governance SQLite file', DEFAULT_DB)
    .option('--json', 'print JSON')
    .action(async (options: CreateOptions) => {
      if (options.guardrailProfile !== undefined) await checkGuardrailProfile(options.guardrailProfile, options.config);
      const created = withStore(options.db, (store) =>
        store.create({
          name: options.name,
          owner: options.owner,
          team: options.team,
          allowedModels: options.models
            ? options.models
                .split(',')
                .map((model) => model.trim())
                .filter(Boolean)
            : [],
          rpm: positive(options.rpm, '--rpm'),
          tpm: positive(options.tpm, '--tpm'),
          dailyBudgetUsd: positive(options.dailyBudget, '--daily-budget', false),
          monthlyBudgetUsd: positive(options.monthlyBudget, '--monthly-budget', false),
          defaultMaxTokens: positive(options.defaultMaxTokens, '--default-max-tokens'),
          maxMaxTokens: positive(options.maxTokens, '--max-tokens'),
          guardrailProfile: options.guardrailProfile ?? null,
        }),
      );
      if (options.json) console.log(JSON.stringify({ key: created.key, ...created.record }, null, 2));
      else console.log(`${describeKey(created.record)}\n\nkey (shown once, store it now): ${created.key}`);
    });
  keys
    .command('list')
    .description('list keys (hints only, never the keys)')
    .option('--db <file>', 'governance SQLite file', DEFAULT_DB)
    .option('--json', 'print JSON')
    .action((options: { db: string; json?: boolean }) => {
      const records = withStore(options.db, (store) => store.list());
      if (options.json) console.log(JSON.stringify(records, null, 2));
      else console.log(records.length ? records.map(describeKey).join('\n') : '(no keys)');
    });
  for (const action of ['disable', 'enable'] as const) {
    keys
      .command(`${action} <id>`)
      .description(`${action} a key (routers notice within governance.keys.cacheMs)`)
      .option('--db <file>', 'governance SQLite file', DEFAULT_DB)
      .action((id: string, options: { db: string }) => {
        const changed = withStore(options.db, (store) => store.setDisabled(id, action === 'disable'));
        // An id that is not there is the caller's mistake: one line, exit 2.
        if (!changed) throw new InvalidRequestError(`no key with id ${id} (see \`switchyard keys list\`)`);
        console.log(`${id} ${action}d`);
      });
  }
  keys
    .command('spend')
    .description('spend grouped by key, team, model or day')
    .option('--group <group>', 'key | team | model | day', 'key')
    .option('--from <day>', 'first UTC day (YYYY-MM-DD)')
    .option('--to <day>', 'last UTC day (YYYY-MM-DD)')
    .option('--db <file>', 'governance SQLite file', DEFAULT_DB)
    .option('--json', 'print JSON')
    .action((options: { group: string; from?: string; to?: string; db: string; json?: boolean }) => {
      if (!['key', 'team', 'model', 'day'].includes(options.group)) {
        throw new InvalidRequestError(`--group must be key, team, model or day (got "${options.group}")`);
      }
      for (const [name, day] of [
        ['from', options.from],
        ['to', options.to],
      ] as const) {
        if (day !== undefined && !isUtcDay(day))
          throw new InvalidRequestError(`--${name} must be a day as YYYY-MM-DD, got "${day}"`);
      }
      const rows = withStore(options.db, (store) =>
        store.spend(options.group as 'key', {
          ...(options.from ? { from: options.from } : {}),
          ...(options.to ? { to: options.to } : {}),
        }),
      );
      if (options.json) {
        console.log(JSON.stringify(rows, null, 2));
        return;
      }
      const names =
        options.group === 'key'
          ? withStore(options.db, (store) => new Map(store.list().map((record) => [record.id, record.name])))
          : undefined;
      const table = formatTable(
        [
          options.group,
          ...(names ? ['name'] : []),
          'requests',
          'cached',
          'prompt tokens',
          'completion tokens',
          'cost $',
        ],
        rows.map((row) => [
          row.group,
          ...(names ? [names.get(row.group) ?? ''] : []),
          row.requests,
          row.cachedRequests,
          row.promptTokens,
          row.completionTokens,
          row.costUsd.toFixed(6),
        ]),
      );
      console.log(rows.length > 0 ? table : `no spend recorded in ${options.db}`);
    });
}

/** A real calendar day written YYYY-MM-DD (2026-02-30 is not one). */
function isUtcDay(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
}
