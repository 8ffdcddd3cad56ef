// Judge prompts, versioned here by content hash until the router's prompt registry exists (then they move there
// and these hashes stay their version ids). Any edit to a prompt changes its hash, which changes every judge cache
// key and shows up in reports, so scores from different prompt versions are never mixed silently.
import { contentHash } from '../canonical.ts';
import type { ChatMessage, RubricCriterion } from '../contracts.ts';

export interface JudgePrompt {
  name: string;
  system: string;
  /** `{{name}}` placeholders filled by `render`. */
  user: string;
}

export const PAIRWISE_PROMPT: JudgePrompt = {
  name: 'pairwise',
  system: [
    'You are an impartial judge. Compare two answers to the same question using the criteria given.',
    'The order in which the answers appear, their length and their style must not influence you.',
    'First write your reasoning, then give the verdict.',
    'Reply with one JSON object only, keys in this order: {"reasoning": string, "winner": "A" | "B" | "tie"}.',
  ].join('\n'),
  user: [
    'Question:',
    '{{question}}',
    '',
    'Criteria: {{criteria}}',
    '',
    '[Answer A]',
    '{{answerA}}',
    '[End of answer A]',
    '',
    '[Answer B]',
    '{{answerB}}',
    '[End of answer B]',
  ].join('\n'),
};

export const RUBRIC_PROMPT: JudgePrompt = {
  name: 'rubric',
  system: [
    'You are a strict evaluator. Score the answer on each criterion from 1 (very poor) to 5 (excellent).',
    'First write your reasoning covering every criterion, then the scores.',
    'Reply with one JSON object only, keys in this order: {"reasoning": string, "scores": {<criterion>: 1-5, ...}}.',
  ].join('\n'),
  user: [
    'Question:',
    '{{question}}',
    '',
    '{{reference}}Answer to evaluate:',
    '{{answer}}',
    '',
    'Criteria:',
    '{{criteria}}',
  ].join('\n'),
};

export function promptVersion(prompt: JudgePrompt): string {
  return `${prompt.name}@${contentHash({ system: prompt.system, user: prompt.user })}`;
}

export function render(prompt: JudgePrompt, values: Readonly<Record<string, string>>): ChatMessage[] {
  // One pass over the template, so text inside a value that looks like {{x}} is never substituted again.
  const user = prompt.user.replace(/\{\{(\w+)\}\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`judge prompt ${prompt.name}: no value for {{${name}}}`);
    return value;
  });
  return [
    { role: 'system', content: prompt.system },
    { role: 'user', content: user },
  ];
}

export const DEFAULT_RUBRIC: readonly RubricCriterion[] = [
  { name: 'relevance', description: 'the answer addresses the question that was asked' },
  { name: 'accuracy', description: 'the statements are correct (and agree with the reference, if one is given)' },
  { name: 'tone', description: 'clear, polite and appropriately concise' },
];

export function formatCriteria(criteria: readonly RubricCriterion[]): string {
  return criteria.map((criterion) => `- ${criterion.name}: ${criterion.description}`).join('\n');
}
