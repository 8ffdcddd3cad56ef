// The two governance features that need the embedding model — the allowed-topics guardrail and the semantic cache —
// and their one shared model. Loading starts when Governance is built (`ready`); requests that need the model wait
// for it. If it fails to load, the topic check fails closed (503 naming the cause, never "allow everything"), while
// the semantic cache, an optimisation, is skipped (exact cache only) and the failure is logged once.
import type { Logger } from 'pino';
import type { Embedder } from '../../retrieval/contracts.ts';
import type { ResponseCache, CachedAnswer } from './cache/response-cache.ts';
import { SemanticCache, semanticRequest } from './cache/semantic-cache.ts';
import { topicsConfigured, type GovernanceConfig } from '../config/governance.ts';
import { fromSource, type EmbedderSource } from './embedder-source.ts';
import { GuardrailUnavailableError } from './errors.ts';
import { TopicGuard, type TopicMatch } from './guardrails/topics.ts';

/** What a semantic-cache miss keeps until settle, to index the answer without embedding again. */
export interface SemanticCandidate {
  partition: string;
  vector: Float32Array;
}

export type SemanticLookup =
  | { kind: 'hit'; answer: CachedAnswer; similarity: number }
  | { kind: 'miss'; candidate: SemanticCandidate | undefined };

/** Embeds a text once per request (the topic check and the cache lookup judge the same last user message). */
export type EmbedOnce = (text: string) => Promise<Float32Array>;

export interface SemanticFeaturesDeps {
  config: GovernanceConfig;
  embedder: EmbedderSource;
  logger: Logger;
  clock: () => number;
}

export class SemanticFeatures {
  /** Resolves when the model is loaded, topic examples are embedded and the index exists; rejects with the cause. */
  readonly ready: Promise<void>;
  private embedder: Embedder | undefined;
  private topics: TopicGuard | undefined;
  private cache: SemanticCache | undefined;
  private failure: Error | undefined;
  private readonly ownsEmbedder: boolean;

  constructor(private readonly deps: SemanticFeaturesDeps) {
    this.ownsEmbedder = typeof deps.embedder === 'function';
    this.ready = this.start();
    this.ready.catch((error: unknown) => {
      this.failure = error instanceof Error ? error : new Error(String(error));
      deps.logger.error(
        { err: this.failure.message },
        'governance embedder failed to load: allowed-topics requests fail with 503, the semantic cache is off',
      );
    });
  }

  private async start(): Promise<void> {
    const { config } = this.deps;
    const embedder = await fromSource(this.deps.embedder);
    this.embedder = embedder;
    if (topicsConfigured(config)) {
      this.topics = await TopicGuard.create(config.guardrails.topics, (texts) => embedder.embed(texts, 'query'));
    }
    const semantic = config.cache.semantic;
    if (config.cache.enabled && semantic.enabled) {
      // hnswlib's native module is loaded only when the semantic cache is on.
      const { HnswIndex } = await import('../../retrieval/indexes/hnsw.ts');
      const index = new HnswIndex(embedder.dimensions, {
        space: 'cosine',
        m: semantic.m,
        efConstruction: semantic.efConstruction,
        ef: semantic.ef,
        initialCapacity: Math.min(semantic.maxEntries, 1024),
        // Always hnswlib's filtered search: the exact fallback re-reads every admitted vector (~0.1 ms each).
        exactFilterLimit: 0,
      });
      this.cache = new SemanticCache({
        index,
        threshold: semantic.threshold,
        maxEntries: semantic.maxEntries,
        ttlSeconds: semantic.ttlSeconds ?? config.cache.ttlSeconds,
        clock: this.deps.clock,
      });
    }
  }

  /** A fresh per-request memo over the embedder. */
  embedOnce(): EmbedOnce {
    const memo = new Map<string, Promise<Float32Array>>();
    return (text) => {
      let vector = memo.get(text);
      if (!vector) {
        vector = this.vectorOf(text);
        memo.set(text, vector);
      }
      return vector;
    };
  }

  private async vectorOf(text: string): Promise<Float32Array> {
    if (!this.embedder) await this.ready; // rethrows the load failure
    const embedder = this.embedder;
    if (!embedder) throw new Error('governance embedder not loaded');
    const [vector] = await embedder.embed([text], 'query');
    return vector as Float32Array;
  }

  /** Closest allowed topic of `text`; 503 when the model could not be loaded (fails closed). */
  async matchTopic(text: string, allowed: readonly string[], embed: EmbedOnce): Promise<TopicMatch> {
    await this.ready.catch(() => undefined);
    if (!this.topics) {
      throw new GuardrailUnavailableError(
        `The allowed-topics guardrail is unavailable: its embedding model could not be loaded (${this.failure?.message ?? 'no topics'}).`,
      );
    }
    return this.topics.match(await embed(text), allowed);
  }

  get semanticCacheOn(): boolean {
    return this.deps.config.cache.enabled && this.deps.config.cache.semantic.enabled;
  }

  /** Nearest cached prompt of the same partition (see cache/semantic-cache.ts); a miss keeps what settle indexes. */
  async lookup(
    endpoint: string,
    body: Readonly<Record<string, unknown>>,
    exact: ResponseCache,
    embed: EmbedOnce,
    scope = '',
  ): Promise<SemanticLookup> {
    const request = semanticRequest(endpoint, body, scope);
    if (!request || request.text.length > this.deps.config.cache.semantic.maxChars || request.text.trim() === '') {
      return { kind: 'miss', candidate: undefined };
    }
    await this.ready.catch(() => undefined);
    const cache = this.cache;
    if (!cache) return { kind: 'miss', candidate: undefined };
    const vector = await embed(request.text);
    const match = cache.lookup(request.partition, vector);
    if (match) {
      const answer = exact.get(match.exactKey);
      if (answer) return { kind: 'hit', answer, similarity: match.similarity };
      cache.remove(match.label); // its answer was evicted from the exact cache
    }
    return { kind: 'miss', candidate: { partition: request.partition, vector } };
  }

  /** After the exact cache stored an answer under `exactKey`: index its prompt. */
  remember(candidate: SemanticCandidate, exactKey: string): void {
    this.cache?.add(candidate.partition, candidate.vector, exactKey);
  }

  get entries(): number {
    return this.cache?.size ?? 0;
  }

  async close(): Promise<void> {
    await this.ready.catch(() => undefined);
    if (this.ownsEmbedder) await this.embedder?.dispose();
  }
}
