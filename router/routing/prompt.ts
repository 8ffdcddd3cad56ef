// What the router derives from a prompt before picking a backend: an approximate token count (characters / 4: a
// tokenizer would cost more than the whole routing budget) and the prefix block hashes for prefix affinity.
import { computePrefixBlockHashes } from '../scheduling-facade/index.ts';
import type { ChatMessage } from '../../core/openai-schemas.ts';

const CHARS_PER_TOKEN = 4;
/** Per-message chat-template overhead in tokens (role header + separators), as Llama 3's template adds. */
const MESSAGE_OVERHEAD_TOKENS = 4;

export interface PromptFeatures {
  promptTokens: number;
  prefixBlockHashes: string[];
}

export function contentLength(content: ChatMessage['content']): number {
  if (typeof content === 'string') return content.length;
  if (!Array.isArray(content)) return 0;
  let length = 0;
  for (const part of content) if (typeof part.text === 'string') length += part.text.length;
  return length;
}

export function chatPromptFeatures(
  messages: readonly ChatMessage[],
  tools: unknown,
  blockTokens: number,
): PromptFeatures {
  let characters = 0;
  for (const message of messages) characters += contentLength(message.content);
  // Tools are rendered into the prompt too; JSON.stringify only when present.
  if (Array.isArray(tools) && tools.length > 0) characters += JSON.stringify(tools).length;
  return {
    promptTokens: Math.ceil(characters / CHARS_PER_TOKEN) + messages.length * MESSAGE_OVERHEAD_TOKENS,
    prefixBlockHashes: computePrefixBlockHashes(
      messages as Parameters<typeof computePrefixBlockHashes>[0],
      blockTokens,
    ),
  };
}

export function completionPromptFeatures(prompt: unknown, blockTokens: number): PromptFeatures {
  if (typeof prompt === 'string') {
    return {
      promptTokens: Math.ceil(prompt.length / CHARS_PER_TOKEN),
      prefixBlockHashes: computePrefixBlockHashes(prompt, blockTokens),
    };
  }
  if (Array.isArray(prompt)) {
    if (prompt.every((item) => typeof item === 'number')) return { promptTokens: prompt.length, prefixBlockHashes: [] };
    const text = prompt.filter((item): item is string => typeof item === 'string').join('');
    return { promptTokens: Math.ceil(text.length / CHARS_PER_TOKEN), prefixBlockHashes: [] };
  }
  return { promptTokens: 0, prefixBlockHashes: [] };
}
