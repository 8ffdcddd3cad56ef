// A tiny scripted OpenAI-compatible server for the evals' tests (real Express, real HTTP, real openai SDK on the
// client side). The responder decides each answer from the request body, so tests can script a target, a judge
// that always prefers the first answer, a consistent judge, or one that returns broken JSON. Binds 127.0.0.1:0.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';

export interface FakeChatBody {
  model: string;
  messages: Array<{ role: string; content: string }>;
  [key: string]: unknown;
}

export type FakeReply = string | { status: number; message: string };
export type FakeResponder = (body: FakeChatBody, callIndex: number) => FakeReply | Promise<FakeReply>;

export interface FakeOpenAIServer {
  /** Base URL including /v1, ready for `new OpenAI({ baseURL })`. */
  baseURL: string;
  readonly requests: FakeChatBody[];
  calls(): number;
  /** Most requests that were being answered at the same time. */
  maxInFlight(): number;
  close(): Promise<void>;
}

export async function startFakeOpenAI(responder: FakeResponder): Promise<FakeOpenAIServer> {
  const requests: FakeChatBody[] = [];
  let maxInFlight = 0;
  const app = express();
  app.use(express.json({ limit: '5mb' }));
  app.get('/v1/models', (_request, response) => {
    response.json({ object: 'list', data: [{ id: 'fake', object: 'model', created: 0, owned_by: 'evals-tests' }] });
  });
  let inFlight = 0;
  app.post('/v1/chat/completions', async (request, response) => {
    const body = request.body as FakeChatBody;
    requests.push(body);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const reply = await responder(body, requests.length - 1);
    inFlight--;
    if (typeof reply !== 'string') {
      response.status(reply.status).json({ error: { message: reply.message, type: 'fake_error', param: null, code: null } });
      return;
    }
    response.json({
      id: `chatcmpl-fake-${requests.length}`,
      object: 'chat.completion',
      created: 0,
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 10, completion_tokens: reply.length, total_tokens: 10 + reply.length },
    });
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    calls: () => requests.length,
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** The last user message of a request (what a scripted target answers to). */
export function lastUserMessage(body: FakeChatBody): string {
  return [...body.messages].reverse().find((message) => message.role === 'user')?.content ?? '';
}

/** For judge requests built from PAIRWISE_PROMPT: the two answers in presentation order. */
export function pairwiseAnswers(body: FakeChatBody): { first: string; second: string } {
  const user = body.messages.find((message) => message.role === 'user')?.content ?? '';
  const first = /\[Answer A\]\n([\s\S]*?)\n\[End of answer A\]/.exec(user)?.[1] ?? '';
  const second = /\[Answer B\]\n([\s\S]*?)\n\[End of answer B\]/.exec(user)?.[1] ?? '';
  return { first, second };
}

export function isPairwiseJudgeRequest(body: FakeChatBody): boolean {
  return body.messages.some((message) => message.content.includes('[Answer A]'));
}
