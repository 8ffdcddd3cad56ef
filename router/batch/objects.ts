// Store records → the exact JSON objects OpenAI's API returns (`file`, `batch`, `list`), so the openai SDK's
// `files` and `batches` resources parse them unchanged. Unset timestamps are null, as OpenAI sends them.
import type { BatchRecord, FileRecord } from './store.ts';

export function fileObject(file: FileRecord): Record<string, unknown> {
  return {
    id: file.id,
    object: 'file',
    bytes: file.bytes,
    created_at: file.created_at,
    filename: file.filename,
    purpose: file.purpose,
    status: 'processed',
    status_details: null,
    expires_at: null,
  };
}

export function batchObject(batch: BatchRecord, pendingOrInFlight: number): Record<string, unknown> {
  return {
    id: batch.id,
    object: 'batch',
    endpoint: batch.endpoint,
    model: batch.model,
    errors: batch.errors ? { object: 'list', data: batch.errors } : null,
    input_file_id: batch.input_file_id,
    completion_window: batch.completion_window,
    status: batch.status,
    output_file_id: batch.output_file_id,
    error_file_id: batch.error_file_id,
    created_at: batch.created_at,
    in_progress_at: batch.in_progress_at,
    expires_at: batch.expires_at,
    finalizing_at: batch.finalizing_at,
    completed_at: batch.completed_at,
    failed_at: batch.failed_at,
    expired_at: batch.expired_at,
    cancelling_at: batch.cancelling_at,
    cancelled_at: batch.cancelled_at,
    request_counts: { total: batch.total, completed: batch.completed, failed: batch.failed },
    usage: {
      input_tokens: batch.input_tokens,
      input_tokens_details: { cached_tokens: batch.cached_tokens },
      output_tokens: batch.output_tokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: batch.input_tokens + batch.output_tokens,
    },
    metadata: batch.metadata,
    // Switchyard's own accounting (extra fields are ignored by OpenAI clients).
    switchyard: {
      pending_requests: pendingOrInFlight,
      gpu_seconds: Number(batch.gpu_seconds.toFixed(6)),
      cost_usd: Number(batch.cost_usd.toFixed(8)),
      hosted_requests: batch.hosted_requests,
    },
  };
}

export function listObject<T extends { id: unknown }>(data: readonly T[], hasMore: boolean): Record<string, unknown> {
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: hasMore,
  };
}
