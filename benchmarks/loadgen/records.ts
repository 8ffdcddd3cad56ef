// What one request produced. Times are ms; `startMs` is relative to the run's start (performance.now() based).

export const ERROR_TYPES = [
  'http_4xx',
  'http_5xx',
  'http_429',
  'timeout',
  'connection',
  'stream_error',
  'no_output',
  'cancelled',
] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

export interface RequestRecord {
  index: number;
  /** Send time relative to the run start. */
  startMs: number;
  /** When the open-loop schedule wanted it sent (absent in closed loop): startMs − scheduledMs is the send lag. */
  scheduledMs?: number;
  success: boolean;
  /** First chunk with non-empty text − send; null when not streaming. */
  ttftMs: number | null;
  /** Gaps between successive non-empty chunks. */
  itlMs: number[];
  /** Last byte of the response − send. */
  e2eMs: number;
  promptTokens: number;
  outputTokens: number;
  /** Where `outputTokens` came from: the server's usage block, or tiktoken over the generated text. */
  outputTokenSource: 'usage' | 'tiktoken';
  error?: { type: ErrorType; status?: number; message: string };
}
