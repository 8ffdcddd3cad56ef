// A minimal Server-Sent Events reader for OpenAI-style streams: yields each event's `data` payload as soon as its
// blank-line terminator arrives (no buffering beyond one event). Comments and other fields are ignored.

/** Splits a byte stream into SSE `data` payloads; multi-line data is joined with "\n" as the spec says. */
export async function* readSseData(source: AsyncIterable<Uint8Array | string>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const piece of source) {
    buffer += typeof piece === 'string' ? piece : decoder.decode(piece, { stream: true });
    let boundary = findBoundary(buffer);
    while (boundary) {
      const data = dataOf(buffer.slice(0, boundary.index));
      buffer = buffer.slice(boundary.index + boundary.length);
      if (data !== null) yield data;
      boundary = findBoundary(buffer);
    }
  }
  buffer += decoder.decode();
  const tail = buffer.trim() === '' ? null : dataOf(buffer);
  if (tail !== null) yield tail;
}

function findBoundary(buffer: string): { index: number; length: number } | null {
  const lf = buffer.indexOf('\n\n');
  const crlf = buffer.indexOf('\r\n\r\n');
  if (lf === -1 && crlf === -1) return null;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { index: crlf, length: 4 };
  return { index: lf, length: 2 };
}

function dataOf(event: string): string | null {
  let data: string | null = null;
  for (const rawLine of event.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (!line.startsWith('data:')) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === null ? value : `${data}\n${value}`;
  }
  return data;
}
