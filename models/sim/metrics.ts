// vLLM's Prometheus exposition, per replica (its own prom-client Registry), with the metric names, label names
// (`model_name`, `engine`) and histogram buckets of vLLM v1's PrometheusStatLogger (vllm/v1/metrics/loggers.py).
// `current` emits the names of vLLM ≥ 0.10; `legacy` the older generation (gpu_cache_usage_perc,
// gpu_prefix_cache_queries/hits, time_per_output_token_seconds) so routers can be tested against both.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineObserver, EngineStats, RequestTimings } from './engine.ts';
import type { FinishReason } from './output.ts';

export type MetricsGeneration = 'current' | 'legacy';

const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0,
  640.0, 2560.0,
];
const ITL_BUCKETS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
];
const REQUEST_LATENCY_BUCKETS = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0,
  7680.0,
];
const ITERATION_TOKEN_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];

/** vLLM's build_1_2_5_buckets: 1, 2, 5, 10, 20, 50 … up to `max`. */
export function oneTwoFiveBuckets(max: number): number[] {
  const buckets: number[] = [];
  for (let exponent = 0; ; exponent++) {
    for (const mantissa of [1, 2, 5]) {
      const value = mantissa * 10 ** exponent;
      if (value > max) return buckets;
      buckets.push(value);
    }
  }
}

export interface CacheConfigInfo {
  blockSize: number;
  numGpuBlocks: number;
  gpuMemoryUtilization: number;
  enablePrefixCaching: boolean;
}

export interface SimMetricsOptions {
  modelName: string;
  generation: MetricsGeneration;
  maxModelLen: number;
  cacheConfig: CacheConfigInfo;
  /** Read at scrape time for the gauges. */
  stats: () => EngineStats;
  /** With LoRA: `--max-loras`, exported as the `max_lora` label of vllm:lora_requests_info. */
  maxLoras?: number;
}

/** Label sets of vllm:lora_requests_info kept (vLLM keeps every one it ever set; a bound keeps the page small). */
const LORA_INFO_SERIES = 16;

const LABELS = ['model_name', 'engine'] as const;

export class SimMetrics implements EngineObserver {
  readonly registry = new Registry();
  private readonly labels: { model_name: string; engine: string };
  private readonly prefixQueries: Counter<'model_name' | 'engine'>;
  private readonly prefixHits: Counter<'model_name' | 'engine'>;
  private readonly preemptions: Counter<'model_name' | 'engine'>;
  private readonly promptTokens: Counter<'model_name' | 'engine'>;
  private readonly generationTokens: Counter<'model_name' | 'engine'>;
  private readonly requestSuccess: Counter<'model_name' | 'engine' | 'finished_reason'>;
  private readonly requestPromptTokens: Histogram<'model_name' | 'engine'>;
  private readonly requestGenerationTokens: Histogram<'model_name' | 'engine'>;
  private readonly iterationTokens: Histogram<'model_name' | 'engine'>;
  private readonly maxTokensParam: Histogram<'model_name' | 'engine'>;
  private readonly nParam: Histogram<'model_name' | 'engine'>;
  private readonly ttft: Histogram<'model_name' | 'engine'>;
  private readonly interToken: Histogram<'model_name' | 'engine'>;
  private readonly requestTimePerToken: Histogram<'model_name' | 'engine'> | undefined;
  private readonly e2e: Histogram<'model_name' | 'engine'>;
  private readonly queueTime: Histogram<'model_name' | 'engine'>;
  private readonly inferenceTime: Histogram<'model_name' | 'engine'>;
  private readonly prefillTime: Histogram<'model_name' | 'engine'>;
  private readonly decodeTime: Histogram<'model_name' | 'engine'>;

  constructor(options: SimMetricsOptions) {
    const registers = [this.registry];
    const labelNames = [...LABELS];
    this.labels = { model_name: options.modelName, engine: '0' };
    const legacy = options.generation === 'legacy';
    const labels = this.labels;

    new Gauge({
      name: 'vllm:num_requests_running',
      help: 'Number of requests in model execution batches.',
      labelNames,
      registers,
      collect() {
        this.set(labels, options.stats().running);
      },
    });
    new Gauge({
      name: 'vllm:num_requests_waiting',
      help: 'Number of requests waiting to be processed.',
      labelNames,
      registers,
      collect() {
        this.set(labels, options.stats().waiting);
      },
    });
    new Gauge({
      name: legacy ? 'vllm:gpu_cache_usage_perc' : 'vllm:kv_cache_usage_perc',
      help: legacy ? 'GPU KV-cache usage. 1 means 100 percent usage.' : 'KV-cache usage. 1 means 100 percent usage.',
      labelNames,
      registers,
      collect() {
        this.set(labels, options.stats().kvUsage);
      },
    });
    if (legacy) {
      // vLLM v0 also exported swap state; the simulator never swaps.
      for (const [name, help] of [
        ['vllm:num_requests_swapped', 'Number of requests swapped to CPU.'],
        ['vllm:cpu_cache_usage_perc', 'CPU KV-cache usage. 1 means 100 percent usage.'],
      ] as const) {
        new Gauge({ name, help, labelNames, registers }).set(labels, 0);
      }
    }
    const prefix = legacy ? 'vllm:gpu_prefix_cache' : 'vllm:prefix_cache';
    this.prefixQueries = new Counter({
      name: `${prefix}_queries_total`,
      help: 'Prefix cache queries, in terms of number of queried tokens.',
      labelNames,
      registers,
    });
    this.prefixHits = new Counter({
      name: `${prefix}_hits_total`,
      help: 'Prefix cache hits, in terms of number of cached tokens.',
      labelNames,
      registers,
    });
    this.preemptions = new Counter({
      name: 'vllm:num_preemptions_total',
      help: 'Cumulative number of preemption from the engine.',
      labelNames,
      registers,
    });
    this.promptTokens = new Counter({
      name: 'vllm:prompt_tokens_total',
      help: 'Number of prefill tokens processed.',
      labelNames,
      registers,
    });
    this.generationTokens = new Counter({
      name: 'vllm:generation_tokens_total',
      help: 'Number of generation tokens processed.',
      labelNames,
      registers,
    });
    this.requestSuccess = new Counter({
      name: 'vllm:request_success_total',
      help: 'Count of successfully processed requests.',
      labelNames: [...labelNames, 'finished_reason'],
      registers,
    });
    const tokenBuckets = oneTwoFiveBuckets(options.maxModelLen);
    const histogram = (name: string, help: string, buckets: number[]): Histogram<'model_name' | 'engine'> =>
      new Histogram({ name, help, labelNames, buckets, registers });
    this.requestPromptTokens = histogram(
      'vllm:request_prompt_tokens',
      'Number of prefill tokens processed.',
      tokenBuckets,
    );
    this.requestGenerationTokens = histogram(
      'vllm:request_generation_tokens',
      'Number of generation tokens processed.',
      tokenBuckets,
    );
    this.iterationTokens = histogram(
      'vllm:iteration_tokens_total',
      'Histogram of number of tokens per engine_step.',
      ITERATION_TOKEN_BUCKETS,
    );
    this.maxTokensParam = histogram(
      'vllm:request_params_max_tokens',
      'Histogram of the max_tokens request parameter.',
      tokenBuckets,
    );
    this.nParam = histogram('vllm:request_params_n', 'Histogram of the n request parameter.', [1, 2, 5, 10, 20]);
    this.ttft = histogram(
      'vllm:time_to_first_token_seconds',
      'Histogram of time to first token in seconds.',
      TTFT_BUCKETS,
    );
    this.interToken = legacy
      ? histogram('vllm:time_per_output_token_seconds', 'Histogram of time per output token in seconds.', ITL_BUCKETS)
      : histogram('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', ITL_BUCKETS);
    this.requestTimePerToken = legacy
      ? undefined
      : histogram(
          'vllm:request_time_per_output_token_seconds',
          'Histogram of time_per_output_token_seconds per request.',
          ITL_BUCKETS,
        );
    this.e2e = histogram(
      'vllm:e2e_request_latency_seconds',
      'Histogram of e2e request latency in seconds.',
      REQUEST_LATENCY_BUCKETS,
    );
    this.queueTime = histogram(
      'vllm:request_queue_time_seconds',
      'Histogram of time spent in WAITING phase for request.',
      REQUEST_LATENCY_BUCKETS,
    );
    this.inferenceTime = histogram(
      'vllm:request_inference_time_seconds',
      'Histogram of time spent in RUNNING phase for request.',
      REQUEST_LATENCY_BUCKETS,
    );
    this.prefillTime = histogram(
      'vllm:request_prefill_time_seconds',
      'Histogram of time spent in PREFILL phase for request.',
      REQUEST_LATENCY_BUCKETS,
    );
    this.decodeTime = histogram(
      'vllm:request_decode_time_seconds',
      'Histogram of time spent in DECODE phase for request.',
      REQUEST_LATENCY_BUCKETS,
    );

    if (options.maxLoras !== undefined) {
      // vLLM v1: one series per label combination, its value the wall-clock time it was last set; readers take the
      // newest. Labels are comma-joined adapter names with running / waiting requests.
      const maxLora = String(options.maxLoras);
      const recent: string[] = [];
      // Strictly increasing, so two scrapes within one millisecond still tell which label set is newer.
      let lastSetAt = 0;
      new Gauge({
        name: 'vllm:lora_requests_info',
        help: 'Running stats on lora requests.',
        labelNames: ['max_lora', 'waiting_lora_adapters', 'running_lora_adapters'],
        registers,
        collect() {
          const lora = options.stats().lora;
          const labels = {
            max_lora: maxLora,
            waiting_lora_adapters: Object.keys(lora?.waiting ?? {}).join(','),
            running_lora_adapters: Object.keys(lora?.running ?? {}).join(','),
          };
          const key = `${labels.waiting_lora_adapters}\u0000${labels.running_lora_adapters}`;
          const at = recent.indexOf(key);
          if (at >= 0) recent.splice(at, 1);
          recent.push(key);
          while (recent.length > LORA_INFO_SERIES) {
            const [waiting, running] = recent.shift()!.split('\u0000');
            this.remove({
              max_lora: maxLora,
              waiting_lora_adapters: waiting ?? '',
              running_lora_adapters: running ?? '',
            });
          }
          lastSetAt = Math.max(Date.now() / 1000, lastSetAt + 1e-6);
          this.set(labels, lastSetAt);
        },
      });
    }
    const cache = options.cacheConfig;
    new Gauge({
      name: 'vllm:cache_config_info',
      help: 'Information of the LLMEngine CacheConfig',
      labelNames: [
        'block_size',
        'cache_dtype',
        'enable_prefix_caching',
        'gpu_memory_utilization',
        'num_cpu_blocks',
        'num_gpu_blocks',
        'engine',
      ],
      registers,
    }).set(
      {
        block_size: String(cache.blockSize),
        cache_dtype: 'auto',
        enable_prefix_caching: cache.enablePrefixCaching ? 'True' : 'False',
        gpu_memory_utilization: String(cache.gpuMemoryUtilization),
        num_cpu_blocks: '0',
        num_gpu_blocks: String(cache.numGpuBlocks),
        engine: '0',
      },
      1,
    );
    // Counters appear at zero from the start, as vLLM's do.
    for (const counter of [
      this.prefixQueries,
      this.prefixHits,
      this.preemptions,
      this.promptTokens,
      this.generationTokens,
    ]) {
      counter.inc(this.labels, 0);
    }
    for (const reason of ['stop', 'length', 'abort'])
      this.requestSuccess.inc({ ...this.labels, finished_reason: reason }, 0);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }

  // EngineObserver
  onStep(info: { scheduledTokens: number }): void {
    this.iterationTokens.observe(this.labels, info.scheduledTokens);
  }

  onToken(info: { index: number; atMs: number; previousMs: number; arrivalMs: number }): void {
    this.generationTokens.inc(this.labels);
    if (info.index === 0) this.ttft.observe(this.labels, (info.atMs - info.arrivalMs) / 1000);
    else this.interToken.observe(this.labels, (info.atMs - info.previousMs) / 1000);
  }

  onPromptDone(info: { promptTokens: number }): void {
    this.promptTokens.inc(this.labels, info.promptTokens);
  }

  onPreempt(): void {
    this.preemptions.inc(this.labels);
  }

  onPrefixQuery(info: { queriedTokens: number; hitTokens: number }): void {
    this.prefixQueries.inc(this.labels, info.queriedTokens);
    this.prefixHits.inc(this.labels, info.hitTokens);
  }

  /** A request the server completed (the engine does not know stop vs length). */
  recordFinished(timings: RequestTimings, finishReason: FinishReason, maxTokens: number): void {
    const reason = finishReason === 'length' ? 'length' : 'stop';
    this.requestSuccess.inc({ ...this.labels, finished_reason: reason });
    this.requestPromptTokens.observe(this.labels, timings.promptTokens);
    this.requestGenerationTokens.observe(this.labels, timings.outputTokens);
    this.maxTokensParam.observe(this.labels, maxTokens);
    this.nParam.observe(this.labels, 1);
    const seconds = (ms: number): number => Math.max(0, ms) / 1000;
    const scheduled = timings.firstScheduledMs ?? timings.arrivalMs;
    const firstToken = timings.firstTokenMs ?? timings.finishedMs;
    this.e2e.observe(this.labels, seconds(timings.finishedMs - timings.arrivalMs));
    this.queueTime.observe(this.labels, seconds(scheduled - timings.arrivalMs));
    this.inferenceTime.observe(this.labels, seconds(timings.finishedMs - scheduled));
    this.prefillTime.observe(this.labels, seconds(firstToken - scheduled));
    this.decodeTime.observe(this.labels, seconds(timings.finishedMs - firstToken));
    if (this.requestTimePerToken && timings.outputTokens > 1) {
      this.requestTimePerToken.observe(
        this.labels,
        seconds((timings.finishedMs - firstToken) / (timings.outputTokens - 1)),
      );
    }
  }
}
