// File extension → code language (kept apart from the parsers so loaders do not load them).
import type { CodeLanguage } from '../contracts.ts';

export function codeLanguageOf(path: string): CodeLanguage {
  if (/\.(ts|tsx|mts|cts)$/i.test(path)) return 'typescript';
  if (/\.(js|jsx|mjs|cjs)$/i.test(path)) return 'javascript';
  if (/\.py$/i.test(path)) return 'python';
  return 'other';
}
