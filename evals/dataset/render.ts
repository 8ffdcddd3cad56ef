// Turns a case input into chat messages. Templates use {{name}} placeholders; a missing variable is an error, not
// an empty string. Prompt-registry references go through a PromptResolver (registry-prompts.ts: the router's prompt
// registry); without one the default resolver explains that instead of guessing.
import { InvalidRequestError } from '../../core/errors.ts';
import type { ChatMessage } from '../contracts.ts';
import type { CaseInput, EvalCase } from './schema.ts';

export interface PromptResolver {
  resolve(name: string, version: string | undefined): Promise<{ system?: string; template: string }>;
}

export const unavailablePromptRegistry: PromptResolver = {
  resolve(name) {
    return Promise.reject(
      new InvalidRequestError(
        `case input references prompt "${name}" but no prompt registry was given ('switchyard eval run' resolves them from the router's registry); or inline the prompt as ` +
          '{ "prompt": ..., "variables": ... }',
        { code: 'prompt_registry_unavailable' },
      ),
    );
  },
};

export function fillTemplate(template: string, variables: Readonly<Record<string, string>>, caseId: string): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_match, name: string) => {
    const value = variables[name];
    if (value === undefined) {
      throw new InvalidRequestError(`case ${caseId}: template variable {{${name}}} has no value`, {
        param: `${caseId}.input.variables.${name}`,
      });
    }
    return value;
  });
}

export async function renderInput(
  evalCase: EvalCase,
  resolver: PromptResolver = unavailablePromptRegistry,
): Promise<ChatMessage[]> {
  const input: CaseInput = evalCase.input;
  if ('messages' in input) return input.messages.map((message) => ({ ...message }));
  if ('prompt' in input) {
    const messages: ChatMessage[] = input.system === undefined ? [] : [{ role: 'system', content: input.system }];
    messages.push({ role: 'user', content: fillTemplate(input.prompt, input.variables ?? {}, evalCase.id) });
    return messages;
  }
  const prompt = await resolver.resolve(input.promptRef.name, input.promptRef.version);
  const messages: ChatMessage[] = prompt.system === undefined ? [] : [{ role: 'system', content: prompt.system }];
  messages.push({ role: 'user', content: fillTemplate(prompt.template, input.variables ?? {}, evalCase.id) });
  return messages;
}

/** The question as a judge sees it: the user turns of the conversation (system prompt left out). */
export function questionText(evalCase: EvalCase): string {
  const input = evalCase.input;
  if ('messages' in input) {
    return input.messages
      .filter((message) => message.role !== 'system')
      .map((message) => (message.role === 'user' ? message.content : `(assistant) ${message.content}`))
      .join('\n\n');
  }
  if ('prompt' in input) {
    try {
      return fillTemplate(input.prompt, input.variables ?? {}, evalCase.id);
    } catch {
      return input.prompt;
    }
  }
  return `[prompt ${input.promptRef.name}] ${JSON.stringify(input.variables ?? {})}`;
}
