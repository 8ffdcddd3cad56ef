// The request pipeline, declared once. A request runs these stages in this order:
//
//   context → body → auth                 (every request; auth only with governance on)
//   → admission → extensions → plan → cache → dispatch → respond → accounting
//                                          (POST /v1/chat/completions and /v1/completions)
//
// The node:http hot path (routes/hot-path.ts) and the Express app (app.ts) both run the same stage objects built
// here: Express mounts the first three as middleware, the hot path calls them itself. Which stages run is decided
// once, when the pipeline is built: a stage whose feature is off (governance, retrieval, the chain) is not in the
// list, so it costs nothing per request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Governance } from '../governance/governance.ts';
import { authenticateRequest } from '../governance/http.ts';
import type { RouterRuntime } from '../runtime/runtime.ts';
import type { ChainHook } from '../chain/mount.ts';
import type { RetrievalChat } from '../rag/chat.ts';
import type { ContextAttacher } from './context.ts';
import { readJsonBody } from './json-body.ts';
import {
  ANSWERED,
  accountingStage,
  admissionStage,
  cacheStage,
  dispatchStage,
  extensionsGuardStage,
  extensionsStage,
  planStage,
  releaseOnFailure,
  respondStage,
  GenerationRun,
  type GenerationEndpoint,
  type GenerationHandler,
  type GenerationParts,
  type GenerationStage,
  type GenerationStageName,
} from './generation.ts';

export type FrontStageName = 'context' | 'body' | 'auth';
export type StageName = FrontStageName | GenerationStageName;

/** A stage every request passes before its route: calls `next` once, at once when it has nothing to wait for. */
export interface FrontStage {
  readonly name: FrontStageName;
  /** `path` is the request's path without the query string. */
  run(request: IncomingMessage, response: ServerResponse, path: string, next: (error?: unknown) => void): void;
}

/** Sees each stage as it starts (tests assert the stage trace with it); absent in production, so never called. */
export type StageObserver = (stage: StageName, response: ServerResponse) => void;

/** The parsed JSON body, where Express keeps it (`request.body`), on both paths, and the text it was parsed from. */
export interface BodyCarrier {
  body?: unknown;
  /** Sent upstream as it came when no stage changed the body (routing/upstream-body.ts). */
  bodyText?: string | undefined;
}

export interface PipelineParts {
  runtime: RouterRuntime;
  attachContext: ContextAttacher;
  bodyLimitBytes: number;
  governance: Governance | undefined;
  retrieval: RetrievalChat | undefined;
  chain: ChainHook | undefined;
  /** Paths whose own writers put x-request-id in their writeHead (the generation routes). */
  selfHeadedPaths?: ReadonlySet<string>;
  /** POST paths whose body the JSON reader leaves alone (multipart uploads read by their route). */
  rawBodyPaths?: ReadonlySet<string>;
  observer?: StageObserver | undefined;
  /** Wraps each generation handler once at build time (the request log); absent, nothing wraps. */
  around?: ((handler: GenerationHandler) => GenerationHandler) | undefined;
}

export interface RequestPipeline {
  /** context → body → auth, for every request. */
  front: readonly FrontStage[];
  /** The generation routes by exact path. */
  handlers: ReadonlyMap<string, GenerationHandler>;
  /** The stage names a request to `path` runs, in order (for the README, /ready-style checks and tests). */
  stageNames(path: string): StageName[];
}

export const GENERATION_PATHS: Readonly<Record<string, GenerationEndpoint>> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completions',
};

/** Builds the stage lists from what is on. */
export function buildPipeline(parts: PipelineParts): RequestPipeline {
  const { runtime, governance, retrieval, chain, observer } = parts;
  const paths = Object.keys(GENERATION_PATHS);
  const front: FrontStage[] = [
    contextStage(parts.attachContext, parts.selfHeadedPaths ?? new Set(paths)),
    bodyStage(parts.bodyLimitBytes, parts.rawBodyPaths ?? new Set()),
    ...(governance ? [authStage(governance)] : []),
  ];
  const chainDefaults = runtime.config.models.some((model) => model.chain?.enabled === true);
  const stagesFor = (endpoint: GenerationEndpoint): GenerationStage[] => {
    // Completions take no retrieval extension: a `rag` there gets the same 400 as before, from the guard.
    const generation: GenerationParts = {
      runtime,
      governance,
      retrieval: endpoint === 'chat' ? retrieval : undefined,
      chain,
    };
    const extensions = extensionsStage(generation);
    const extensionsOn = endpoint === 'chat' && (retrieval !== undefined || chainDefaults);
    return [
      ...(governance ? [admissionStage(governance)] : []),
      extensionsOn ? extensions : extensionsGuardStage(extensions),
      planStage(runtime),
      ...(governance ? [cacheStage(governance)] : []),
      dispatchStage(runtime, governance === undefined),
      respondStage(generation),
      accountingStage(generation),
    ];
  };
  const release = governance ? releaseOnFailure(governance) : undefined;
  const generation = new Map<string, GenerationStage[]>();
  const handlers = new Map<string, GenerationHandler>();
  for (const path of paths) {
    const stages = stagesFor(GENERATION_PATHS[path]!);
    generation.set(path, stages);
    const handler = generationHandler(
      GENERATION_PATHS[path]!,
      observer ? stages.map((stage) => observed(stage, observer)) : stages,
      release,
    );
    handlers.set(path, parts.around ? parts.around(handler) : handler);
  }
  return {
    front: observer ? front.map((stage) => observedFront(stage, observer)) : front,
    handlers,
    stageNames: (path) => [
      ...front.map((stage) => stage.name),
      ...(generation.get(path) ?? []).map((stage) => stage.name),
    ],
  };
}

/** Runs a generation request through its stages; a stage that answered ends it early. */
function generationHandler(
  endpoint: GenerationEndpoint,
  stages: readonly GenerationStage[],
  release: ((run: GenerationRun, error: unknown) => Promise<void>) | undefined,
): GenerationHandler {
  return async function handleGeneration(request, response, requestBody) {
    const run = new GenerationRun(endpoint, request, response, requestBody);
    try {
      for (const stage of stages) {
        const outcome = stage.run(run);
        // Synchronous stages return undefined: no await, no microtask hop.
        if (outcome !== undefined && (await outcome) === ANSWERED) return;
      }
    } catch (error) {
      if (release) await release(run, error);
      throw error;
    } finally {
      run.dispose?.();
    }
  };
}

/** Request id, clock start, metrics and request log on close (routes/context.ts). */
function contextStage(attach: ContextAttacher, selfHeaded: ReadonlySet<string>): FrontStage {
  return {
    name: 'context',
    run(request, response, path, next) {
      // A header set before writeHead sends every later one through setHeader's slower merge: the generation
      // routes' writers (route headers, the SSE relay, the error renderer, cache hits) put x-request-id in theirs.
      attach(request, response, path, !selfHeaded.has(path));
      next();
    },
  };
}

/** The JSON body with the size limit (routes/json-body.ts); every POST/PUT/PATCH body is read as JSON. */
function bodyStage(limitBytes: number, rawBodyPaths: ReadonlySet<string>): FrontStage {
  return {
    name: 'body',
    run(request, response, path, next) {
      const method = request.method;
      if (
        (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') ||
        (method === 'POST' && rawBodyPaths.has(path))
      ) {
        next();
        return;
      }
      readJsonBody(request, response, limitBytes, (error, body, text) => {
        if (error) {
          next(error);
          return;
        }
        (request as BodyCarrier).body = body;
        (request as BodyCarrier).bodyText = text;
        next();
      });
    },
  };
}

/** Governance's key authentication on /v1/* (governance/http.ts); throws 401/403. */
function authStage(governance: Governance): FrontStage {
  return {
    name: 'auth',
    run(request, response, path, next) {
      authenticateRequest(governance, path, request, response);
      next();
    },
  };
}

function observed(stage: GenerationStage, observer: StageObserver): GenerationStage {
  return {
    name: stage.name,
    run(run) {
      observer(stage.name, run.response);
      return stage.run(run);
    },
  };
}

function observedFront(stage: FrontStage, observer: StageObserver): FrontStage {
  return {
    name: stage.name,
    run(request, response, path, next) {
      observer(stage.name, response);
      stage.run(request, response, path, next);
    },
  };
}
