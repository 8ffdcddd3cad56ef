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
    const text = typeof piece === 'string' ? piece : this.decoder.write(piece);
    // Scanned by index: the usual piece holds whole events and leaves nothing behind, so no remainder is copied.
    const buffer = this.buffer === '' ? text : this.buffer + text;
    const payloads: string[] = [];
    let start = 0;
    // Searched again only once passed: a stream without CRLF boundaries is not rescanned for one per event.
    let crlf = buffer.indexOf('\r\n\r\n');
    while (true) {
      const lf = buffer.indexOf('\n\n', start);
      if (crlf !== -1 && crlf < start) crlf = buffer.indexOf('\r\n\r\n', start);
      if (lf === -1 && crlf === -1) break;
      const crlfFirst = crlf !== -1 && (lf === -1 || crlf < lf);
      const end = crlfFirst ? crlf : lf;
      const data = dataBetween(buffer, start, end);
      if (data !== null) payloads.push(data);
      start = end + (crlfFirst ? 4 : 2);
    }
    this.buffer = start === 0 ? buffer : buffer.slice(start);
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

/** The `data` of the event in buffer[start, end); the usual event is one `data: …` line, read without copying. */
function dataBetween(buffer: string, start: number, end: number): string | null {
  if (buffer.startsWith('data: ', start)) {
    const newline = buffer.indexOf('\n', start);
    if (newline === -1 || newline >= end)
      return buffer.slice(start + 6, buffer.charCodeAt(end - 1) === 13 ? end - 1 : end);
  }
  return dataOf(buffer.slice(start, end));
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
