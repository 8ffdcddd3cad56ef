// Express glue: key authentication for /v1/*, admin endpoints (/admin/keys, /admin/spend) behind a separate admin
// token, cache replay (JSON or SSE), and the response-header helpers. Errors are thrown as the router's error classes
// and rendered by the app's single error handler.
import { Buffer } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { InvalidRequestError, NotFoundError } from '../../core/errors.ts';
import { answerAsBody, answerAsChunks } from './cache/response-cache.ts';
import { AdminAuthError } from './errors.ts';
import type { Admission, Governance } from './governance.ts';
import { HEADER_COST } from './governance.ts';
import { KeySettings, type KeyRecord, type SpendGroup } from './keys/store.ts';
import { unknownProfileMessage } from './guardrails/profiles.ts';
import { LoopbackKey, isLoopbackAddress } from './keys/loopback.ts';

// The authenticated key per request, keyed by the node response (shared by the Express routes and the router's hot
// path, which does not go through Express).
const keys = new WeakMap<ServerResponse, KeyRecord>();

export function authenticatedKey(response: ServerResponse): KeyRecord | undefined {
  return keys.get(response);
}

/** Requires a valid key on /v1/* (except configured open paths) and remembers it for the request; throws 401/403. */
export function authenticateRequest(
  governance: Governance,
  path: string,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  if (path.startsWith('/v1/')) governance.noteRequest();
  if (governance.isOpenPath(path)) return;
  const key = loopbackKeyFor(governance, request) ?? governance.authenticate(request.headers.authorization);
  if (key) keys.set(response, key);
}

const loopbackKeys = new WeakMap<Governance, LoopbackKey>();

/**
 * The configured `keys.loopbackKey` for a request from this machine that carries no Switchyard key: none, or one the
 * store does not know (OpenAI SDKs insist on sending some key, e.g. "not-needed"). A known key, even a disabled one,
 * goes through normal authentication; so does every request from another address.
 */
function loopbackKeyFor(governance: Governance, request: IncomingMessage): KeyRecord | undefined {
  const { loopbackKey, cacheMs } = governance.config.keys;
  if (loopbackKey === undefined || !governance.keys || !isLoopbackAddress(request.socket.remoteAddress))
    return undefined;
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
  if (presented !== undefined && governance.keys.authenticate(presented) !== undefined) return undefined;
  let lookup = loopbackKeys.get(governance);
  if (!lookup) {
    lookup = new LoopbackKey(governance.keys, loopbackKey, cacheMs);
    loopbackKeys.set(governance, lookup);
  }
  return lookup.get();
}

export function keyAuthMiddleware(governance: Governance) {
  return function authenticate(request: Request, response: Response, next: NextFunction): void {
    authenticateRequest(governance, request.path, request, response);
    next();
  };
}

function requireAdmin(governance: Governance) {
  const token = governance.config.keys.adminToken;
  return function checkAdmin(request: Request, _response: Response, next: NextFunction): void {
    const presented = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
    const expected = Buffer.from(token ?? '');
    const given = Buffer.from(presented);
    if (!token || given.length !== expected.length || !timingSafeEqual(given, expected)) throw new AdminAuthError();
    next();
  };
}

const SpendQuery = z.strictObject({
  group: z.enum(['key', 'team', 'model', 'day']).default('key'),
  from: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
  to: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
  key: z.string().optional(),
  team: z.string().optional(),
});

/** /admin/keys (POST create, GET list), /admin/keys/:id/disable|enable (POST), /admin/spend (GET). */
export function adminRouter(governance: Governance): Router {
  const router = express.Router();
  router.use(requireAdmin(governance));
  const store = (): NonNullable<Governance['keys']> => {
    if (!governance.keys) throw new NotFoundError('Keys are disabled in this router’s config.');
    return governance.keys;
  };
  router.post('/keys', (request: Request, response: Response) => {
    const parsed = KeySettings.safeParse(request.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InvalidRequestError(
        `Invalid value for '${issue?.path.join('.') ?? 'body'}': ${issue?.message ?? 'invalid'}.`,
        {
          param: issue?.path.join('.') ?? null,
        },
      );
    }
    const profile = parsed.data.guardrailProfile;
    const unknown = profile === null ? undefined : unknownProfileMessage(governance.config.guardrails, profile);
    if (unknown)
      throw new InvalidRequestError(`Invalid value for 'guardrailProfile': ${unknown}.`, { param: 'guardrailProfile' });
    const created = store().create(parsed.data);
    response.status(201).json({ key: created.key, ...created.record });
  });
  router.get('/keys', (_request: Request, response: Response) => {
    response.json({ object: 'list', data: store().list() });
  });
  for (const action of ['disable', 'enable'] as const) {
    router.post(`/keys/:id/${action}`, (request: Request, response: Response) => {
      const id = String(request.params['id']);
      if (!store().setDisabled(id, action === 'disable')) throw new NotFoundError(`No key with id ${id}.`);
      response.json(store().get(id));
    });
  }
  router.get('/spend', (request: Request, response: Response) => {
    const parsed = SpendQuery.safeParse(request.query);
    if (!parsed.success) throw new InvalidRequestError(parsed.error.issues[0]?.message ?? 'invalid query');
    const { group, key, team, from, to } = parsed.data;
    const rows = store().spend(group as SpendGroup, {
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
      ...(key ? { keyId: key } : {}),
      ...(team ? { team } : {}),
    });
    response.json({ object: 'list', group, data: rows });
  });
  return router;
}

/** Serves a cache hit as JSON or as a replayed SSE stream; settles it (cost 0). */
export async function serveCacheHit(
  governance: Governance,
  admission: Admission,
  response: ServerResponse,
  options: { stream: boolean; includeUsage: boolean; extraHeaders?: Record<string, string> },
): Promise<boolean> {
  const hit = admission.cache.hit;
  if (!hit || admission.endpoint === 'embeddings') return false;
  const endpoint = admission.endpoint;
  const settled = await governance.settle(admission, { status: 200 });
  const headers = {
    'x-request-id': admission.requestId,
    ...options.extraHeaders,
    ...admission.headers,
    ...settled.headers,
  };
  if (!options.stream) {
    const body = answerAsBody(hit, endpoint);
    if (!body) return false;
    const payload = JSON.stringify(body);
    response.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
      ...headers,
    });
    response.end(payload);
    return true;
  }
  const chunks = answerAsChunks(hit, endpoint);
  if (!chunks) return false;
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...headers,
  });
  for (const chunk of chunks) {
    const isUsageOnly = Array.isArray(chunk['choices']) && chunk['choices'].length === 0 && 'usage' in chunk;
    if (isUsageOnly && !options.includeUsage) continue;
    if (!options.includeUsage) delete chunk['usage'];
    response.write(`data: ${JSON.stringify(chunk)}\n\n`);
  }
  response.end('data: [DONE]\n\n');
  return true;
}

/** Declares the cost trailer on a stream response (must be called before writeHead). */
export function declareCostTrailer(headers: Record<string, string>): Record<string, string> {
  return { ...headers, trailer: HEADER_COST };
}

/**
 * Sends the real cost of a stream as an HTTP trailer right before the response ends (Node sends trailers only on
 * chunked responses, which SSE responses without content-length are; otherwise they are dropped).
 */
export function addCostTrailer(response: ServerResponse, costUsd: number): void {
  if (!response.writableEnded) response.addTrailers({ [HEADER_COST]: costUsd.toFixed(8) });
}
