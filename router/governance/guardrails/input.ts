// Input guardrails on the request's messages: a length limit, removal of control and invisible characters, and
// prompt-injection detection by weighted rules. Every rule that fires is reported by id, so a block (400) or a flag
// (metric + log) says exactly why. System/developer messages are the operator's and are not scanned for injection.
import type { GuardrailPolicy } from '../../config/governance.ts';

export interface InjectionRule {
  id: string;
  weight: number;
  pattern: RegExp;
}

/** Rules with weight ≥ 1 fire alone; weaker heuristics need company to reach the threshold. */
export const INJECTION_RULES: readonly InjectionRule[] = [
  {
    id: 'ignore_previous_instructions',
    weight: 1,
    pattern:
      /\b(?:ignore|disregard|forget|skip|override|bypass)\b[^.\n]{0,40}?\b(?:previous|prior|above|earlier|preceding|all|any|your|system)\b[^.\n]{0,30}?\b(?:instructions?|rules|directions|prompts?|guidelines|constraints|polic(?:y|ies))\b/i,
  },
  {
    id: 'reveal_system_prompt',
    weight: 1,
    pattern:
      /\b(?:reveal|print|show|repeat|output|display|leak|tell me|what (?:is|are|were))\b[^.\n]{0,30}?\b(?:system|hidden|initial|original|secret|developer)\s+(?:prompt|instructions?|message|rules)\b/i,
  },
  {
    id: 'jailbreak_persona',
    weight: 1,
    pattern:
      /\b(?:you are now|from now on,? you are|act as|pretend (?:to be|you are)|roleplay as)\b[^.\n]{0,40}?\b(?:DAN|do anything now|developer mode|jailbr(?:eak|oken)|unrestricted|unfiltered|no (?:rules|restrictions|limits|filters))\b/i,
  },
  { id: 'developer_mode', weight: 1, pattern: /\b(?:enable|enter|activate)\s+(?:developer|god|debug|admin)\s+mode\b/i },
  {
    id: 'fake_role_marker',
    weight: 1,
    pattern:
      /(?:<\|im_start\|>\s*(?:system|assistant)|\[\/?INST\]|<<SYS>>|^\s*#{2,}\s*(?:system|instruction)s?\b|^\s*(?:system|assistant)\s*:)/im,
  },
  { id: 'new_instructions', weight: 0.6, pattern: /\b(?:new|updated|real|actual)\s+instructions?\s*:/i },
  {
    id: 'no_restrictions',
    weight: 0.5,
    pattern:
      /\b(?:without|no|ignore)\s+(?:any\s+)?(?:restrictions|filters|censorship|safety|guardrails|limitations)\b/i,
  },
  {
    id: 'encoded_payload',
    weight: 0.5,
    pattern: /\b(?:decode|base64|rot13|hex)\b[\s\S]{0,80}?[A-Za-z0-9+/]{60,}={0,2}/i,
  },
  {
    id: 'prompt_delimiter_escape',
    weight: 0.4,
    pattern: /(?:-{5,}|={5,}|`{3,})\s*(?:end|begin)\s+(?:of\s+)?(?:prompt|system|context)/i,
  },
];

export interface InputGuardResult {
  /** Message texts after control-character removal (same shape as the input). */
  messages: Array<Record<string, unknown>>;
  removedChars: number;
  totalChars: number;
  /** Injection rules that fired and the summed score. */
  injection: { rules: string[]; score: number; detected: boolean };
}

// C0/C1 controls except \t \n \r, plus zero-width and bidi-override characters used to smuggle hidden text.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]/g;

export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content as unknown[]) {
    if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
      text += (text ? '\n' : '') + (part as { text: string }).text;
    }
  }
  return text;
}

interface CharCounts {
  removed: number;
  total: number;
}

function cleanText(text: string, strip: boolean, counts: CharCounts): string {
  let clean = text;
  if (strip) {
    clean = text.replace(CONTROL, '');
    counts.removed += text.length - clean.length;
  }
  counts.total += clean.length;
  return clean;
}

/** A message's content with control characters removed: the same string when nothing was removed, a new parts array otherwise. */
function cleanContent(content: unknown, strip: boolean, counts: CharCounts): unknown {
  if (typeof content === 'string') return cleanText(content, strip, counts);
  if (!Array.isArray(content)) return content;
  const parts: unknown[] = [];
  for (const part of content as unknown[]) {
    if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
      parts.push({
        ...(part as Record<string, unknown>),
        text: cleanText((part as { text: string }).text, strip, counts),
      });
    } else {
      parts.push(part);
    }
  }
  return parts;
}

export function scoreInjection(text: string, threshold: number): InputGuardResult['injection'] {
  const rules: string[] = [];
  let score = 0;
  for (const rule of INJECTION_RULES) {
    if (rule.pattern.test(text)) {
      rules.push(rule.id);
      score += rule.weight;
    }
  }
  return { rules, score, detected: score >= threshold };
}

/** Applies the input policy to chat messages (or a completion prompt wrapped as one user message). */
export function guardInput(
  messages: ReadonlyArray<Record<string, unknown>>,
  policy: GuardrailPolicy['input'],
): InputGuardResult {
  // Loops rather than callbacks: this runs on every request.
  const counts: CharCounts = { removed: 0, total: 0 };
  const scanned: string[] = [];
  const cleaned: Array<Record<string, unknown>> = [];
  for (const message of messages) {
    const content = cleanContent(message['content'], policy.stripControlChars, counts);
    if (message['role'] !== 'system' && message['role'] !== 'developer') scanned.push(textOf(content));
    cleaned.push(content === message['content'] ? { ...message } : { ...message, content });
  }
  const { removed: removedChars, total: totalChars } = counts;
  const injection =
    policy.injection === 'off'
      ? { rules: [], score: 0, detected: false }
      : scoreInjection(scanned.join('\n'), policy.injectionThreshold);
  // Many invisible characters in user text is itself a smuggling signal.
  if (policy.injection !== 'off' && removedChars >= 8) {
    injection.rules.push('hidden_characters');
    injection.score += 0.5;
    injection.detected = injection.score >= policy.injectionThreshold;
  }
  return { messages: cleaned, removedChars, totalChars, injection };
}
