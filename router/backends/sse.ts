// A minimal Server-Sent Events reader for OpenAI-style streams: yields each event's `data` payload as soon as its
// blank-line terminator arrives (no buffering beyond one event). Comments and other fields are ignored.
import { StringDecoder } from 'node:string_decoder';

/**
 * Splits SSE text into `data` payloads as pieces arrive: `push` returns the payloads of the events its piece
 * completed (often one, sometimes none or several), `end` those of a final unterminated event. Synchronous, so a
 * reader can parse every completed event of a network piece in one go.
 */
export class SseSplitter {
  // Node's StringDecoder: keeps a multi-byte character split across pieces, and is cheaper per call than
  // TextDecoder's streaming mode (this runs once per network piece of every stream).
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';

  push(piece: Uint8Array | string): string[] {
    this.buffer += typeof piece === 'string' ? piece : this.decoder.write(piece);
    const payloads: string[] = [];
    let boundary = findBoundary(this.buffer);
    while (boundary) {
      const data = dataOf(this.buffer.slice(0, boundary.index));
      this.buffer = this.buffer.slice(boundary.index + boundary.length);
      if (data !== null) payloads.push(data);
      boundary = findBoundary(this.buffer);
    }
    return payloads;
  }

  end(): string[] {
    this.buffer += this.decoder.end();
    const tail = this.buffer.trim() === '' ? null : dataOf(this.buffer);
    this.buffer = '';
    return tail === null ? [] : [tail];
  }
}

/** Splits a byte stream into SSE `data` payloads; multi-line data is joined with "\n" as the spec says. */
export async function* readSseData(source: AsyncIterable<Uint8Array | string>): AsyncGenerator<string> {
  const splitter = new SseSplitter();
  for await (const piece of source) yield* splitter.push(piece);
  yield* splitter.end();
}

function findBoundary(buffer: string): { index: number; length: number } | null {
  const lf = buffer.indexOf('\n\n');
  const crlf = buffer.indexOf('\r\n\r\n');
  if (lf === -1 && crlf === -1) return null;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { index: crlf, length: 4 };
  return { index: lf, length: 2 };
}

function dataOf(event: string): string | null {
  // The usual event is one `data: …` line.
  if (event.startsWith('data: ') && !event.includes('\n'))
    return event.endsWith('\r') ? event.slice(6, -1) : event.slice(6);
  let data: string | null = null;
  for (const rawLine of event.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (!line.startsWith('data:')) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === null ? value : `${data}\n${value}`;
  }
  return data;
}
