// What a Governance instance is built from: its config, the router's registry and pricing, and injectable I/O.
import type { DestinationStream } from 'pino';
import type { Registry } from 'prom-client';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { GovernanceConfig } from '../config/governance.ts';
import type { PricingCatalog } from './cost/pricing.ts';
import type { EmbedderSource, RetrievalEmbedderSettings } from './embedder-source.ts';
import type { KeyStore } from './keys/store.ts';
import type { RedisConnection } from './redis-client.ts';

export interface GovernanceDeps {
  config: GovernanceConfig;
  /** The router's Prometheus registry. */
  registry: Registry;
  pricing: PricingCatalog;
  clock?: () => number;
  logDestination?: DestinationStream;
  spanExporter?: SpanExporter;
  /** Use an existing Redis connection (tests); otherwise one is opened from limits.redisUrl. */
  redis?: RedisConnection;
  keyStore?: KeyStore;
  fetch?: typeof fetch;
  /** The embedder for allowed topics / the semantic cache; default: loaded from `embedder` config (or `retrieval`). */
  embedder?: EmbedderSource;
  /** The router's `retrieval` section: the default embedding model. */
  retrieval?: RetrievalEmbedderSettings;
  /** The pools a router model's route goes through (part of the cache scope); default: the model name alone. */
  routeOf?: (model: string) => string;
}
