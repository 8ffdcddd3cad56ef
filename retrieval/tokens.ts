// Token counting with tiktoken (WASM). Encoders are cached per encoding and never freed: there are at most two.
import { get_encoding, type Tiktoken, type TiktokenEncoding } from 'tiktoken';
import { z } from 'zod';

export const TokenEncodingSchema = z.enum(['cl100k_base', 'o200k_base']);
export type TokenEncoding = z.infer<typeof TokenEncodingSchema>;
export const DEFAULT_ENCODING: TokenEncoding = 'cl100k_base';

const encoders = new Map<TokenEncoding, Tiktoken>();
const decoder = new TextDecoder();

export interface Tokenizer {
  readonly encoding: TokenEncoding;
  count(text: string): number;
  encode(text: string): Uint32Array;
  decode(tokens: Uint32Array): string;
  /** Raw byte length of one token (a lone token may be part of a multi-byte character). */
  tokenByteLength(token: number): number;
}

export function getTokenizer(encoding: TokenEncoding = DEFAULT_ENCODING): Tokenizer {
  let encoder = encoders.get(encoding);
  if (encoder === undefined) {
    encoder = get_encoding(encoding as TiktokenEncoding);
    encoders.set(encoding, encoder);
  }
  const active = encoder;
  return {
    encoding,
    count: (text) => (text.length === 0 ? 0 : active.encode_ordinary(text).length),
    encode: (text) => active.encode_ordinary(text),
    decode: (tokens) => decoder.decode(active.decode(tokens)),
    tokenByteLength: (token) => active.decode_single_token_bytes(token).length,
  };
}
