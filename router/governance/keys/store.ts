// API keys and spend in SQLite (better-sqlite3). Keys are stored only as an HMAC-SHA256 of the full key (the plain
// key is shown once, at creation); a short hint (`sy-…abcd`) is kept for humans. Spend is aggregated per key, team,
// model and UTC day, written in batches so the request path never waits for the disk.
import { Buffer } from 'node:buffer';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { z } from 'zod';

export const KEY_PREFIX = 'sy-';

export const KeySettings = z.strictObject({
  name: z.string().min(1).max(200),
  owner: z.string().min(1).max(200),
  team: z.string().min(1).max(200).default('default'),
  /** Router model names (or aliases) the key may call; empty = all. */
  allowedModels: z.array(z.string().min(1)).default([]),
  rpm: z.number().int().positive().nullable().default(null),
  tpm: z.number().int().positive().nullable().default(null),
  dailyBudgetUsd: z.number().positive().nullable().default(null),
  monthlyBudgetUsd: z.number().positive().nullable().default(null),
  defaultMaxTokens: z.number().int().positive().nullable().default(null),
  maxMaxTokens: z.number().int().positive().nullable().default(null),
  /** Name of a guardrail profile from the config. */
  guardrailProfile: z.string().min(1).nullable().default(null),
});
export type KeySettingsInput = z.input<typeof KeySettings>;

export interface KeyRecord extends z.infer<typeof KeySettings> {
  readonly id: string;
  /** `sy-…` plus the last 4 characters: enough to recognise a key, useless to an attacker. */
  readonly hint: string;
  readonly disabled: boolean;
  readonly createdAt: string;
}

export interface SpendEntry {
  keyId: string;
  team: string;
  model: string;
  /** UTC day, YYYY-MM-DD. */
  day: string;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  cached: boolean;
}

export type SpendGroup = 'key' | 'team' | 'model' | 'day';

export interface SpendRow {
  group: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  cachedRequests: number;
}

interface KeyRow {
  id: string;
  hash: string;
  hint: string;
  name: string;
  owner: string;
  team: string;
  allowed_models: string;
  rpm: number | null;
  tpm: number | null;
  daily_budget_usd: number | null;
  monthly_budget_usd: number | null;
  default_max_tokens: number | null;
  max_max_tokens: number | null;
  guardrail_profile: string | null;
  disabled: number;
  created_at: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  hint TEXT NOT NULL,
  name TEXT NOT NULL,
  owner TEXT NOT NULL,
  team TEXT NOT NULL,
  allowed_models TEXT NOT NULL DEFAULT '[]',
  rpm INTEGER, tpm INTEGER,
  daily_budget_usd REAL, monthly_budget_usd REAL,
  default_max_tokens INTEGER, max_max_tokens INTEGER,
  guardrail_profile TEXT,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS spend (
  key_id TEXT NOT NULL,
  team TEXT NOT NULL,
  model TEXT NOT NULL,
  day TEXT NOT NULL,
  requests INTEGER NOT NULL DEFAULT 0,
  cached_requests INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  cost_usd REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (key_id, model, day)
);
CREATE INDEX IF NOT EXISTS spend_day ON spend(day);
`;

export interface KeyStoreOptions {
  /** SQLite file or ':memory:'. */
  path: string;
  /** HMAC secret mixed into every key hash (SWITCHYARD_KEY_PEPPER); a leaked database alone then proves nothing. */
  pepper?: string;
  cacheMs?: number;
  clock?: () => number;
}

export class KeyStore {
  private readonly db: Database.Database;
  private readonly pepper: string;
  private readonly cacheMs: number;
  private readonly clock: () => number;
  private readonly cache = new Map<string, { record: KeyRecord | undefined; until: number }>();
  private pending = new Map<string, SpendEntry & { requests: number; cachedRequests: number }>();
  private readonly statements;

  constructor(options: KeyStoreOptions) {
    // The default file lives under .switchyard/, which a fresh checkout does not have yet.
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    // better-sqlite3 loads with the first store (keys on), not with every router.
    const SQLite = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
    this.db = new SQLite(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.pepper = options.pepper ?? process.env['SWITCHYARD_KEY_PEPPER'] ?? 'switchyard';
    this.cacheMs = options.cacheMs ?? 2_000;
    this.clock = options.clock ?? Date.now;
    this.statements = {
      insert: this.db.prepare(`INSERT INTO api_keys (id, hash, hint, name, owner, team, allowed_models, rpm, tpm,
        daily_budget_usd, monthly_budget_usd, default_max_tokens, max_max_tokens, guardrail_profile, disabled, created_at)
        VALUES (@id, @hash, @hint, @name, @owner, @team, @allowed_models, @rpm, @tpm, @daily_budget_usd,
        @monthly_budget_usd, @default_max_tokens, @max_max_tokens, @guardrail_profile, 0, @created_at)`),
      byHash: this.db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE hash = ?'),
      byId: this.db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE id = ?'),
      all: this.db.prepare<[], KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id'),
      setDisabled: this.db.prepare<[number, string]>('UPDATE api_keys SET disabled = ? WHERE id = ?'),
      upsertSpend: this.db.prepare(`INSERT INTO spend (key_id, team, model, day, requests, cached_requests,
        prompt_tokens, completion_tokens, cost_usd)
        VALUES (@keyId, @team, @model, @day, @requests, @cachedRequests, @promptTokens, @completionTokens, @costUsd)
        ON CONFLICT (key_id, model, day) DO UPDATE SET requests = requests + excluded.requests,
        cached_requests = cached_requests + excluded.cached_requests,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens, cost_usd = cost_usd + excluded.cost_usd`),
      periodSpend: this.db.prepare<[string, string, string], { cost: number | null }>(
        'SELECT SUM(cost_usd) AS cost FROM spend WHERE key_id = ? AND day >= ? AND day <= ?',
      ),
    };
  }

  hash(key: string): string {
    return createHmac('sha256', this.pepper).update(key).digest('hex');
  }

  /** Creates a key; the plain key is returned only here. */
  create(input: KeySettingsInput): { key: string; record: KeyRecord } {
    const settings = KeySettings.parse(input);
    const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const id = `key_${randomBytes(6).toString('hex')}`;
    this.statements.insert.run({
      id,
      hash: this.hash(key),
      hint: `${KEY_PREFIX}…${key.slice(-4)}`,
      name: settings.name,
      owner: settings.owner,
      team: settings.team,
      allowed_models: JSON.stringify(settings.allowedModels),
      rpm: settings.rpm,
      tpm: settings.tpm,
      daily_budget_usd: settings.dailyBudgetUsd,
      monthly_budget_usd: settings.monthlyBudgetUsd,
      default_max_tokens: settings.defaultMaxTokens,
      max_max_tokens: settings.maxMaxTokens,
      guardrail_profile: settings.guardrailProfile,
      created_at: new Date(this.clock()).toISOString(),
    });
    const record = this.get(id);
    if (!record) throw new Error('key vanished after insert');
    return { key, record };
  }

  /** The key record for a presented key, or undefined. Cached for `cacheMs` (misses too, against key guessing). */
  authenticate(presented: string): KeyRecord | undefined {
    const now = this.clock();
    const hash = this.hash(presented);
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) return cached.record;
    const row = this.statements.byHash.get(hash);
    // The lookup is by hash already; the constant-time compare guards against a future non-unique lookup.
    const record =
      row && timingSafeEqual(Buffer.from(row.hash, 'hex'), Buffer.from(hash, 'hex')) ? toRecord(row) : undefined;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { record, until: now + this.cacheMs });
    return record;
  }

  get(id: string): KeyRecord | undefined {
    const row = this.statements.byId.get(id);
    return row ? toRecord(row) : undefined;
  }

  list(): KeyRecord[] {
    return this.statements.all.all().map(toRecord);
  }

  setDisabled(id: string, disabled: boolean): boolean {
    const changed = this.statements.setDisabled.run(disabled ? 1 : 0, id).changes > 0;
    this.cache.clear();
    return changed;
  }

  /** Queues one request's spend; written by `flush()` (called on a timer by Governance, and on close). */
  recordSpend(entry: SpendEntry): void {
    const id = `${entry.keyId}\u0000${entry.model}\u0000${entry.day}`;
    const row = this.pending.get(id);
    if (row) {
      row.requests++;
      row.cachedRequests += entry.cached ? 1 : 0;
      row.promptTokens += entry.promptTokens;
      row.completionTokens += entry.completionTokens;
      row.costUsd += entry.costUsd;
    } else {
      this.pending.set(id, { ...entry, requests: 1, cachedRequests: entry.cached ? 1 : 0 });
    }
  }

  flush(): void {
    if (this.pending.size === 0) return;
    const rows = [...this.pending.values()];
    this.pending = new Map();
    this.db.transaction(() => {
      for (const row of rows) {
        this.statements.upsertSpend.run({
          keyId: row.keyId,
          team: row.team,
          model: row.model,
          day: row.day,
          requests: row.requests,
          cachedRequests: row.cachedRequests,
          promptTokens: row.promptTokens,
          completionTokens: row.completionTokens,
          costUsd: row.costUsd,
        });
      }
    })();
  }

  /** Spend grouped by key, team, model or day, optionally within [from, to] (UTC days) and for one key/team. */
  spend(group: SpendGroup, filter: { from?: string; to?: string; keyId?: string; team?: string } = {}): SpendRow[] {
    this.flush();
    const column = { key: 'key_id', team: 'team', model: 'model', day: 'day' }[group];
    const where: string[] = [];
    const params: string[] = [];
    const conditions: Array<[string, string | undefined]> = [
      ['day >= ?', filter.from],
      ['day <= ?', filter.to],
      ['key_id = ?', filter.keyId],
      ['team = ?', filter.team],
    ];
    for (const [condition, value] of conditions) {
      if (value === undefined) continue;
      where.push(condition);
      params.push(value);
    }
    const sql = `SELECT ${column} AS "group", SUM(requests) AS requests, SUM(prompt_tokens) AS promptTokens,
      SUM(completion_tokens) AS completionTokens, SUM(cost_usd) AS costUsd, SUM(cached_requests) AS cachedRequests
      FROM spend ${where.length ? `WHERE ${where.join(' AND ')}` : ''} GROUP BY ${column} ORDER BY ${column}`;
    return this.db.prepare<string[], SpendRow>(sql).all(...params);
  }

  /** $ spent by a key between two UTC days (inclusive), for seeding the in-memory budget ledger at start-up. */
  spentBetween(keyId: string, from: string, to: string): number {
    this.flush();
    return this.statements.periodSpend.get(keyId, from, to)?.cost ?? 0;
  }

  /** Raw rows, for tests that check nothing is stored in plain text. */
  rawKeyRows(): Array<Record<string, unknown>> {
    return this.db.prepare('SELECT * FROM api_keys').all() as Array<Record<string, unknown>>;
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}

function toRecord(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    hint: row.hint,
    name: row.name,
    owner: row.owner,
    team: row.team,
    allowedModels: JSON.parse(row.allowed_models) as string[],
    rpm: row.rpm,
    tpm: row.tpm,
    dailyBudgetUsd: row.daily_budget_usd,
    monthlyBudgetUsd: row.monthly_budget_usd,
    defaultMaxTokens: row.default_max_tokens,
    maxMaxTokens: row.max_max_tokens,
    guardrailProfile: row.guardrail_profile,
    disabled: row.disabled === 1,
    createdAt: row.created_at,
  };
}

/** UTC day and month strings for a timestamp. */
const DAY_MS = 86_400_000;
/** The UTC day last asked for: every request asks, and the answer changes once a day. */
let lastPeriods: { dayIndex: number; periods: { day: string; month: string } } | undefined;

export function periodsOf(timeMs: number): { day: string; month: string } {
  const dayIndex = Math.floor(timeMs / DAY_MS);
  if (lastPeriods?.dayIndex !== dayIndex) {
    const iso = new Date(timeMs).toISOString();
    lastPeriods = { dayIndex, periods: Object.freeze({ day: iso.slice(0, 10), month: iso.slice(0, 7) }) };
  }
  return lastPeriods.periods;
}
