// The input side of the guardrails as one admission step: length limit, control-character removal (the body is
// rewritten), prompt-injection rules, then the allowed-topics check (last, because it embeds). Every rule that fires is
// recorded (metric) and returned (log field, `x-switchyard-guardrails` header); `block` throws the guardrail error
// naming the rule.
import type { GovernedEndpoint } from '../contracts.ts';
import type { GuardrailPolicy } from '../../config/governance.ts';
import { GuardrailBlockedError, GuardrailUnavailableError } from '../errors.ts';
import type { EmbedOnce, SemanticFeatures } from '../semantic-features.ts';
import { guardInput, textOf } from './input.ts';
import { NOT_TEXT, lastUserText, type TopicMatch } from './topics.ts';

export const OFF_TOPIC_RULE = 'off_topic';

export interface InputGuardStep {
  endpoint: GovernedEndpoint;
  /** Rewritten in place when control characters are removed. */
  body: Record<string, unknown>;
  policy: GuardrailPolicy;
  record: (rule: string, action: string) => void;
  /** The embedding features (undefined when no topics and no semantic cache are configured). */
  semantic: SemanticFeatures | undefined;
  embed: EmbedOnce | undefined;
}

export interface InputGuardOutcome {
  inputRules: string[];
  systemPrompt: string;
  /** The topic check's verdict, when it ran. */
  topic: (TopicMatch & { onTopic: boolean }) | undefined;
}

/** Synchronous unless the allowed-topics check runs (it embeds): the request path awaits only a real promise. */
export function applyInputGuardrails(step: InputGuardStep): InputGuardOutcome | Promise<InputGuardOutcome> {
  const { endpoint, body, policy, record } = step;
  const inputRules: string[] = [];
  let systemPrompt = '';
  const messages: Array<Record<string, unknown>> = [];
  if (endpoint === 'chat' && Array.isArray(body['messages'])) {
    for (const message of body['messages'] as unknown[])
      if (message && typeof message === 'object') messages.push(message as Record<string, unknown>);
  } else if (typeof body['prompt'] === 'string') {
    messages.push({ role: 'user', content: body['prompt'] });
  }
  const result = guardInput(messages, policy.input);
  if (result.totalChars > policy.input.maxChars) {
    record('input_too_long', 'block');
    throw new GuardrailBlockedError(
      'input_too_long',
      `The prompt has ${result.totalChars} characters; the limit is ${policy.input.maxChars}.`,
    );
  }
  if (result.removedChars > 0) {
    record('control_characters', 'redact');
    inputRules.push('control_characters');
    if (endpoint === 'chat') body['messages'] = result.messages;
    else if (typeof body['prompt'] === 'string') body['prompt'] = result.messages[0]?.['content'];
  }
  if (result.injection.detected) {
    for (const rule of result.injection.rules) record(`injection:${rule}`, policy.input.injection);
    inputRules.push(...result.injection.rules.map((rule) => `injection:${rule}`));
    if (policy.input.injection === 'block') {
      throw new GuardrailBlockedError(
        result.injection.rules.join(','),
        `The request was blocked by the prompt-injection guardrail (rules: ${result.injection.rules.join(', ')}).`,
      );
    }
  }
  for (const message of result.messages) {
    if (message['role'] === 'system' || message['role'] === 'developer')
      systemPrompt += `${textOf(message['content'])}\n`;
  }
  if (policy.input.topics === 'off') return { inputRules, systemPrompt, topic: undefined };
  return checkTopic(step).then((topic) => {
    if (topic && !topic.onTopic) inputRules.push(OFF_TOPIC_RULE);
    return { inputRules, systemPrompt, topic };
  });
}

/** The allowed-topics check on the (cleaned) last user message; nothing to judge without user text. */
async function checkTopic(step: InputGuardStep): Promise<InputGuardOutcome['topic']> {
  const { policy, record } = step;
  const action = policy.input.topics;
  if (action === 'off') return undefined;
  const text = lastUserText(step.endpoint, step.body);
  if (text === undefined || (typeof text === 'string' && text.trim() === '')) return undefined;
  if (!step.semantic || !step.embed)
    throw new GuardrailUnavailableError('The allowed-topics guardrail has no embedding model.');
  const match: TopicMatch =
    text === NOT_TEXT
      ? { topic: undefined, similarity: -1 }
      : await step.semantic.matchTopic(text, policy.input.allowedTopics, step.embed);
  const onTopic = match.similarity >= policy.input.topicThreshold;
  if (onTopic) {
    record('on_topic', 'pass');
    return { ...match, onTopic };
  }
  record(OFF_TOPIC_RULE, action);
  if (action === 'block') {
    const why =
      text === NOT_TEXT
        ? 'the prompt is not text (token ids cannot be judged)'
        : match.topic === undefined
          ? 'no allowed topic is configured'
          : `the closest allowed topic is "${match.topic}" at similarity ${match.similarity.toFixed(3)}, below the threshold ${policy.input.topicThreshold}`;
    throw new GuardrailBlockedError(
      OFF_TOPIC_RULE,
      `The request was blocked by the allowed-topics guardrail (rule: ${OFF_TOPIC_RULE}): ${why}.`,
    );
  }
  return { ...match, onTopic };
}
