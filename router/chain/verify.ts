// The verify step: claims of an answer judged against the sources they cite by the verifier model, with a bounded
// number of verifier calls when its output is not valid (each retry tells the model what was wrong).
import { toSwitchyardError } from '../../core/errors.ts';
import {
  claimsForPrompt,
  parseVerifierOutput,
  splitClaims,
  triageClaims,
  verifierJsonSchema,
  type ClaimVerdict,
  type SourceText,
} from './claims.ts';
import type { StepPlan } from './request.ts';
import type { PromptStore } from './prompt-store.ts';
import { answerText, callModel, type ChainCallContext } from './steps.ts';

export interface Verification {
  status: 'verified' | 'flagged';
  regenerated: boolean;
  verifier_model: string;
  prompt: string | null;
  /** Verifier calls for the final answer (a retry follows invalid output). */
  attempts: number;
  /** The verifier's output was valid only after local repair (code fence, surrounding prose, trailing comma). */
  repaired: boolean;
  claims: ClaimVerdict[];
  supported: number;
  total: number;
  /** Why the answer could not be verified (verifier output invalid after every attempt, verifier failed). */
  error?: string;
  /** The first answer's verdicts when it was regenerated. */
  first_answer?: { text: string; claims: ClaimVerdict[] };
}

export interface VerifyInput {
  question: string;
  answer: string;
  sources: readonly SourceText[];
  plan: StepPlan & { maxAttempts: number };
  model: string;
}

export async function verifyAnswer(
  context: ChainCallContext,
  store: PromptStore,
  input: VerifyInput,
): Promise<Verification> {
  const claims = splitClaims(input.answer);
  const { decided, toJudge } = triageClaims(claims, input.sources);
  const base = { regenerated: false, verifier_model: input.model, attempts: 0, repaired: false };
  const finish = (judged: ClaimVerdict[], extra: Partial<Verification> & { prompt: string | null }): Verification => {
    const all = [...decided, ...judged].sort((a, b) => a.claim - b.claim);
    const supported = all.filter((claim) => claim.verdict === 'supported').length;
    const ok = extra.error === undefined && all.length > 0 && supported === all.length;
    return {
      ...base,
      ...extra,
      status: ok ? 'verified' : 'flagged',
      claims: all,
      supported,
      total: all.length,
      ...(all.length === 0 && extra.error === undefined
        ? { error: 'the answer makes no claim that could be checked' }
        : {}),
    };
  };
  if (toJudge.length === 0) return finish([], { prompt: null });

  const prompt = store.render(
    'chain-verify',
    { question: input.question, claims: claimsForPrompt(toJudge, input.sources) },
    context.sessionKey,
  );
  const messages: Array<{ role: string; content: string }> = [...prompt.messages];
  const format = {
    type: 'json_schema',
    json_schema: { name: 'claim_verdicts', strict: true, schema: verifierJsonSchema(toJudge.length) },
  };
  let lastProblem = '';
  for (let attempt = 1; attempt <= input.plan.maxAttempts; attempt++) {
    let text: string;
    try {
      const { body } = await callModel(context, {
        step: 'verify',
        model: input.model,
        prompt,
        attempt,
        body: { messages, response_format: format, ...prompt.defaults, ...input.plan.extraBody },
      });
      text = answerText(body);
    } catch (error) {
      const message = toSwitchyardError(error).message;
      return finish(unjudged(toJudge, 'the verifier failed'), {
        prompt: `${prompt.name}@${prompt.version}`,
        attempts: attempt,
        error: `verifier call failed: ${message}`,
      });
    }
    const parsed = parseVerifierOutput(text, toJudge.length);
    if (parsed.ok) {
      const judged = toJudge.map((claim, index): ClaimVerdict => {
        const verdict = parsed.value.verdicts[index]!;
        return { ...claim, verdict: verdict.verdict, reason: verdict.reason };
      });
      return finish(judged, {
        prompt: `${prompt.name}@${prompt.version}`,
        attempts: attempt,
        repaired: parsed.repaired,
      });
    }
    lastProblem = parsed.problem;
    context.metrics.verifierRetries
      .labels({
        model: input.model,
        reason: parsed.problem.startsWith('the output is not valid JSON') ? 'not_json' : 'schema',
      })
      .inc();
    messages.push(
      { role: 'assistant', content: text },
      {
        role: 'user',
        content: `That output is not usable: ${parsed.problem}. Answer again with JSON only, exactly {"verdicts": [...]} with ${toJudge.length} entries.`,
      },
    );
  }
  return finish(unjudged(toJudge, 'no valid verdict'), {
    prompt: `${prompt.name}@${prompt.version}`,
    attempts: input.plan.maxAttempts,
    error: `verifier output invalid after ${input.plan.maxAttempts} attempt(s): ${lastProblem}`,
  });
}

function unjudged(claims: readonly ClaimVerdict[] | ReturnType<typeof splitClaims>, reason: string): ClaimVerdict[] {
  return claims.map((claim) => ({ ...claim, verdict: 'unsupported', reason }));
}
