// Sends fuzz bodies to a running router (loopback) with bounded concurrency and judges every answer: a 5xx, an error
// body without OpenAI's shape ({error:{message,type,param,code}}), an SSE error event without it, no answer at all,
// or a /health that stops answering is a failure. Bounded by the body count and a per-request timeout.
import { request as httpRequest } from 'node:http';
import { createBodyGenerator, type FuzzBody } from './bodies.ts';

export interface FuzzOptions {
  url: string;
  bodies: number;
  seed: number;
  concurrency?: number;
  requestTimeoutMs?: number;
  /** Called every `progressEvery` bodies. */
  onProgress?: (done: number, failures: number) => void;
}

export interface FuzzFailure {
  mutation: string;
  reason: string;
}

export interface FuzzReport {
  sent: number;
  byStatus: Record<string, number>;
  failures: FuzzFailure[];
  healthy: boolean;
}

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

function send(url: string, fuzz: FuzzBody, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}${fuzz.route}`, {
      method: 'POST',
      headers: {
        ...(fuzz.contentType ? { 'content-type': fuzz.contentType } : {}),
        'content-length': fuzz.body.length,
      },
      timeout: timeoutMs,
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.on('response', (response) => {
      const pieces: Buffer[] = [];
      response.on('data', (piece: Buffer) => pieces.push(piece));
      response.on('error', reject);
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          contentType: String(response.headers['content-type'] ?? ''),
          text: Buffer.concat(pieces).toString(),
        }),
      );
    });
    request.end(fuzz.body);
  });
}

/** `{error:{message: non-empty string, type: string, param: string|null, code: string|null}}`, nothing else required. */
export function isOpenAIError(value: unknown): boolean {
  if (!value || typeof value !== 'object') return false;
  const error = (value as { error?: unknown }).error;
  if (!error || typeof error !== 'object') return false;
  const { message, type, param, code } = error as Record<string, unknown>;
  return (
    typeof message === 'string' &&
    message.length > 0 &&
    typeof type === 'string' &&
    (param === null || typeof param === 'string') &&
    (code === null || typeof code === 'string')
  );
}

/** Why an answer is a failure, or undefined when it is fine. */
export function judge(answer: Answer): string | undefined {
  if (answer.status >= 500) return `HTTP ${answer.status}: ${answer.text.slice(0, 300)}`;
  if (answer.contentType.startsWith('text/event-stream')) {
    for (const line of answer.text.split('\n')) {
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      let event: unknown;
      try {
        event = JSON.parse(line.slice(6));
      } catch {
        return `malformed SSE event: ${line.slice(0, 200)}`;
      }
      if (event && typeof event === 'object' && 'error' in event && !isOpenAIError(event))
        return `SSE error event without OpenAI's shape: ${line.slice(0, 300)}`;
    }
    if (answer.status === 200 && !answer.text.includes('data: [DONE]')) return 'stream ended without [DONE]';
    return undefined;
  }
  if (answer.status >= 400) {
    try {
      if (!isOpenAIError(JSON.parse(answer.text)))
        return `HTTP ${answer.status} without OpenAI's error shape: ${answer.text.slice(0, 300)}`;
    } catch {
      return `HTTP ${answer.status} with a non-JSON body: ${answer.text.slice(0, 300)}`;
    }
  }
  return undefined;
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
    return response.ok;
  } catch {
    return false;
  }
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const next = createBodyGenerator(options.seed);
  const timeoutMs = options.requestTimeoutMs ?? 60_000;
  const report: FuzzReport = { sent: 0, byStatus: {}, failures: [], healthy: true };
  // Bodies are generated in order (one seeded stream), then sent by the workers.
  const queue = Array.from({ length: options.bodies }, (_, index) => index);
  const bodies = new Map<number, FuzzBody>();
  let generated = 0;
  const take = (): FuzzBody | undefined => {
    const index = queue.shift();
    if (index === undefined) return undefined;
    while (generated <= index) bodies.set(generated, next(generated++));
    const body = bodies.get(index)!;
    bodies.delete(index);
    return body;
  };
  const worker = async (): Promise<void> => {
    for (let fuzz = take(); fuzz; fuzz = take()) {
      try {
        const answer = await send(options.url, fuzz, timeoutMs);
        report.byStatus[answer.status] = (report.byStatus[answer.status] ?? 0) + 1;
        const reason = judge(answer);
        if (reason) report.failures.push({ mutation: fuzz.mutation, reason });
      } catch (error) {
        report.byStatus['none'] = (report.byStatus['none'] ?? 0) + 1;
        report.failures.push({ mutation: fuzz.mutation, reason: `no answer: ${(error as Error).message}` });
      }
      report.sent++;
      if (report.sent % 500 === 0) {
        options.onProgress?.(report.sent, report.failures.length);
        if (!(await healthy(options.url))) {
          report.healthy = false;
          queue.length = 0;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, () => worker()));
  if (report.healthy) report.healthy = await healthy(options.url);
  return report;
}
