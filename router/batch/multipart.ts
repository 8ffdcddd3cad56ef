// Multipart upload reading for POST /v1/files, with the WHATWG `Request.formData()` parser built into Node 20
// (undici): the body is streamed through a byte counter that aborts past the size limit, so an oversize upload is
// refused with 413 without being buffered whole.
import { Readable } from 'node:stream';
import type { Request } from 'express';
import { InvalidRequestError, PayloadTooLargeError } from '../../core/errors.ts';

export interface UploadedFile {
  filename: string;
  content: Uint8Array;
  fields: Record<string, string>;
}

/** Multipart framing around the file: boundaries, part headers and the other fields. */
const FRAMING_ALLOWANCE = 64 * 1024;

export async function readMultipartUpload(request: Request, maxFileBytes: number): Promise<UploadedFile> {
  const contentType = request.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw new InvalidRequestError('Uploads must be multipart/form-data with a `file` and a `purpose` field.', {
      code: 'invalid_content_type',
    });
  }
  const limit = maxFileBytes + FRAMING_ALLOWANCE;
  const tooLarge = (): PayloadTooLargeError =>
    new PayloadTooLargeError(`File is larger than the limit of ${maxFileBytes} bytes.`, { param: 'file' });
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    request.resume();
    throw tooLarge();
  }
  let received = 0;
  let overLimit = false;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      received += chunk.byteLength;
      if (received > limit) {
        overLimit = true;
        controller.error(tooLarge());
        return;
      }
      controller.enqueue(chunk);
    },
  });
  const body = (Readable.toWeb(request) as ReadableStream<Uint8Array>).pipeThrough(counter);
  let form: FormData;
  try {
    form = await new globalThis.Request('http://upload.invalid/', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
      duplex: 'half',
    } as RequestInit).formData();
  } catch (error) {
    if (overLimit) throw tooLarge();
    throw new InvalidRequestError(`Could not parse the multipart body: ${(error as Error).message}`, {
      code: 'invalid_multipart',
    });
  }
  const file = form.get('file');
  if (!file || typeof file === 'string') {
    throw new InvalidRequestError('Missing required parameter: `file` (a file part).', {
      param: 'file',
      code: 'missing_required_parameter',
    });
  }
  if (file.size > maxFileBytes) throw tooLarge();
  const fields: Record<string, string> = {};
  for (const [key, value] of form.entries()) if (typeof value === 'string') fields[key] = value;
  return { filename: file.name || 'upload.jsonl', content: new Uint8Array(await file.arrayBuffer()), fields };
}
