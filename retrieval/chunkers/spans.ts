// Span arithmetic shared by the chunkers. A span is a [start, end) character range of the document text; chunkers
// work on spans so every chunk's text is exactly `text.slice(start, end)` and coverage can be checked.
import type { ChunkDraft } from '../contracts.ts';
import type { Tokenizer } from '../tokens.ts';

export interface Span {
  start: number;
  end: number;
}

/**
 * Token-exact windows of `size` tokens with `overlap` tokens shared between neighbours, over text[span]. Window edges
 * fall on token boundaries (moved to the nearest character boundary when a token splits a multi-byte character); a
 * window whose re-tokenised text exceeds `size` is shrunk until it fits.
 */
export function tokenWindows(
  text: string,
  span: Span,
  size: number,
  overlap: number,
  tokenizer: Tokenizer,
  /** The tokens of text[span], when the caller has encoded it already. */
  encoded?: Uint32Array,
): Span[] {
  const slice = text.slice(span.start, span.end);
  const tokens = encoded ?? tokenizer.encode(slice);
  if (tokens.length <= size) return slice.trim().length === 0 ? [] : [span];
  const charOffsets = tokenCharOffsets(slice, tokens, tokenizer);
  const step = Math.max(1, size - overlap);
  const windows: Span[] = [];
  for (let first = 0; first < tokens.length; first += step) {
    let last = Math.min(tokens.length, first + size);
    let window: Span = {
      start: span.start + (charOffsets[first] as number),
      end: span.start + (charOffsets[last] as number),
    };
    while (last > first + 1 && tokenizer.count(text.slice(window.start, window.end)) > size) {
      last -= 1;
      window = { start: window.start, end: span.start + (charOffsets[last] as number) };
    }
    if (window.end > window.start) windows.push(window);
    if (first + size >= tokens.length) break;
  }
  return windows;
}

/** offsets[i] = character offset where token i starts (offsets[n] = slice length), floored to a code point start. */
function tokenCharOffsets(slice: string, tokens: Uint32Array, tokenizer: Tokenizer): number[] {
  const byteToChar = new Map<number, number>();
  let bytes = 0;
  for (let charIndex = 0; charIndex < slice.length;) {
    byteToChar.set(bytes, charIndex);
    const codePoint = slice.codePointAt(charIndex) as number;
    bytes += codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
    charIndex += codePoint >= 0x10000 ? 2 : 1;
  }
  byteToChar.set(bytes, slice.length);
  const offsets: number[] = [0];
  let position = 0;
  for (const token of tokens) {
    position += tokenBytes(tokenizer, token);
    let probe = position;
    while (!byteToChar.has(probe) && probe > 0) probe -= 1;
    offsets.push(byteToChar.get(probe) ?? 0);
  }
  offsets[offsets.length - 1] = slice.length;
  return offsets;
}

const tokenLengthCache = new Map<string, Map<number, number>>();

/** Byte length of one token, cached per encoding (decoding a lone token may not be valid UTF-8). */
function tokenBytes(tokenizer: Tokenizer, token: number): number {
  let cache = tokenLengthCache.get(tokenizer.encoding);
  if (cache === undefined) {
    cache = new Map();
    tokenLengthCache.set(tokenizer.encoding, cache);
  }
  let length = cache.get(token);
  if (length === undefined) {
    length = tokenizer.tokenByteLength(token);
    cache.set(token, length);
  }
  return length;
}

/**
 * Splits text[span] after each occurrence of `separator` (the separator stays with the piece before it), so the
 * pieces are contiguous and cover the span.
 */
export function splitAfter(text: string, span: Span, separator: string): Span[] {
  const pieces: Span[] = [];
  let start = span.start;
  for (;;) {
    const found = text.indexOf(separator, start);
    if (found === -1 || found + separator.length >= span.end) break;
    pieces.push({ start, end: found + separator.length });
    start = found + separator.length;
  }
  if (start < span.end) pieces.push({ start, end: span.end });
  return pieces;
}

/**
 * Greedily packs consecutive pieces into chunks of at most `size` tokens; each new chunk starts with the trailing
 * pieces of the previous one that fit in `overlap` tokens. Pieces must each fit in `size`.
 */
export function packSpans(
  text: string,
  pieces: readonly Span[],
  size: number,
  overlap: number,
  tokenizer: Tokenizer,
): Span[] {
  const counts = pieces.map((piece) => tokenizer.count(text.slice(piece.start, piece.end)));
  const chunks: Span[] = [];
  let first = 0;
  while (first < pieces.length) {
    let last = first;
    let total = counts[first] as number;
    while (last + 1 < pieces.length && total + (counts[last + 1] as number) <= size) {
      last += 1;
      total += counts[last] as number;
    }
    let chunk: Span = { start: (pieces[first] as Span).start, end: (pieces[last] as Span).end };
    // Sums of piece counts can undercount by a token where pieces merge when re-tokenised; shrink until exact.
    while (last > first && tokenizer.count(text.slice(chunk.start, chunk.end)) > size) {
      last -= 1;
      chunk = { start: chunk.start, end: (pieces[last] as Span).end };
    }
    chunks.push(chunk);
    if (last + 1 >= pieces.length) break;
    let next = last + 1;
    let carried = 0;
    while (next - 1 > first && carried + (counts[next - 1] as number) <= overlap) {
      next -= 1;
      carried += counts[next] as number;
    }
    first = next;
  }
  return chunks;
}

export function toDraft(text: string, span: Span, headingPath: string[], tokenizer: Tokenizer): ChunkDraft {
  const chunkText = text.slice(span.start, span.end);
  return { text: chunkText, start: span.start, end: span.end, headingPath, tokenCount: tokenizer.count(chunkText) };
}

/** Drops spans that are only whitespace. */
export function nonBlank(text: string, spans: readonly Span[]): Span[] {
  return spans.filter((span) => text.slice(span.start, span.end).trim().length > 0);
}
