// Output guardrails that work on streams. Text arrives in deltas; the guard releases all of it except the last
// `holdBackChars` characters, after redacting every complete PII match in what it holds. A secret no longer than the
// window that is split across chunks is therefore still entirely in the held part when its last piece arrives, and is
// caught; nothing is buffered beyond the window, so the first content reaches the client at most `holdBackChars`
// characters later than without the guard. Matches touching the end of the held text may still grow (more digits may
// follow) and are only judged once text after them arrives, or at the end of the stream.
// Leakage is checked on words: released + held words form a sliding sequence matched against the system prompt's
// n-grams. `block` (PII or leakage) stops the stream: the text before the offending match is released and the caller
// ends the choice with finish_reason `content_filter`.
import type { GuardrailAction, GuardrailPolicy } from '../../config/governance.ts';
import { ngramIndexFor, words, type NgramIndex } from './leakage.ts';
import { findPii, longestPii, redactionFor, type Finding } from './pii.ts';

export interface GuardDecision {
  rule: string;
  action: GuardrailAction;
}

export interface StreamGuardOptions {
  policy: GuardrailPolicy['output'];
  /** The request's system prompt(s), for leakage detection. */
  systemPrompt?: string;
  /** Called once per decision (metrics, logs). */
  onDecision?: (decision: GuardDecision) => void;
}

/** Context kept from released text so lookbehinds at the buffer's start see the previous characters. */
const CONTEXT_CHARS = 8;

export class StreamGuard {
  private buffer = '';
  private context = '';
  private wordTail: string[] = [];
  /** Text whose last word may still be incomplete. */
  private wordCarry = '';
  private leaked = false;
  /** Absolute positions of flagged (not rewritten) matches, so a held match is reported once. */
  private readonly flagged = new Set<number>();
  private releasedChars = 0;
  private readonly leakage: NgramIndex | undefined;
  private readonly window: number;
  private readonly decisions: GuardDecision[] = [];
  blocked: GuardDecision | undefined;

  constructor(private readonly options: StreamGuardOptions) {
    const { policy } = options;
    this.window = policy.holdBackChars;
    if (policy.leakage !== 'off' && options.systemPrompt) {
      const index = ngramIndexFor(options.systemPrompt, policy.leakageNgram);
      if (!index.empty) this.leakage = index;
    }
  }

  get findings(): readonly GuardDecision[] {
    return this.decisions;
  }

  /** The smallest window that guarantees a split PII match is caught, for configuration checks. */
  static minimumWindow(policy: GuardrailPolicy['output']): number {
    return policy.pii === 'off' ? 0 : longestPii(policy.piiTypes);
  }

  private decide(rule: string, action: GuardrailAction): void {
    const decision = { rule, action };
    this.decisions.push(decision);
    this.options.onDecision?.(decision);
    if (action === 'block' && !this.blocked) this.blocked = decision;
  }

  /** Feeds a delta; returns the text that may be sent now ('' while holding back or after a block). */
  push(delta: string): string {
    if (this.blocked) return '';
    this.buffer += delta;
    this.wordCarry += delta;
    return this.process(false);
  }

  /**
   * Drops the held text without releasing it: the stream continues on another backend from what the client already
   * saw, so the held part will be generated again.
   */
  discardHeld(): void {
    this.buffer = '';
    this.wordCarry = '';
  }

  /** End of stream: judges and releases everything still held. */
  flush(): string {
    if (this.blocked) return '';
    return this.process(true);
  }

  /** Words are judged once complete (followed by a non-word character, or at the end); true when a block fired. */
  private checkLeakage(final: boolean): boolean {
    const leakage = this.leakage as NgramIndex;
    const found = words(this.wordCarry);
    const complete = final || endsOutsideWord(this.wordCarry) ? found : found.slice(0, -1);
    // Keep only the trailing, possibly incomplete word for the next delta.
    this.wordCarry = complete.length === found.length ? '' : trailingWord(this.wordCarry);
    if (complete.length === 0) return false;
    const sequence = [...this.wordTail, ...complete];
    this.wordTail = sequence.slice(-(leakage.n - 1));
    if (this.leaked) return false;
    const leak = leakage.firstLeak(sequence);
    if (!leak) return false;
    this.leaked = true;
    const action = this.options.policy.leakage;
    this.decide('system_prompt_leakage', action === 'redact' ? 'block' : action);
    return this.blocked !== undefined;
  }

  private process(final: boolean): string {
    const policy = this.options.policy;
    let text = this.buffer;
    if (this.leakage && this.checkLeakage(final)) return this.releaseOnBlock('');
    let cut = final ? text.length : Math.max(0, text.length - this.window);
    if (policy.pii !== 'off') {
      const scan = this.context + text;
      const offset = this.context.length;
      const complete: Finding[] = [];
      for (const finding of findPii(scan, policy.piiTypes, { pendingAtEnd: !final })) {
        if (finding.end <= offset) continue;
        const start = Math.max(0, finding.start - offset);
        const end = finding.end - offset;
        if (finding.pending) {
          // May still grow (more digits may follow): release no part of it yet.
          cut = Math.min(cut, start);
          continue;
        }
        complete.push({ type: finding.type, start, end });
      }
      if (complete.length > 0) {
        const first = complete[0] as Finding;
        if (policy.pii === 'block') {
          this.decide(`pii:${first.type}`, 'block');
          return this.releaseOnBlock(text.slice(0, first.start));
        }
        // A complete match straddling the cut is released whole once judged.
        for (const finding of complete) if (finding.start < cut && finding.end > cut) cut = finding.end;
        let rewritten = '';
        let position = 0;
        let mappedCut = cut;
        for (const finding of complete) {
          if (policy.pii !== 'redact') {
            const at = this.releasedChars + finding.start;
            if (!this.flagged.has(at)) this.decide(`pii:${finding.type}`, policy.pii);
            this.flagged.add(at);
            continue;
          }
          this.decide(`pii:${finding.type}`, policy.pii);
          const replacement = redactionFor(finding.type);
          rewritten += text.slice(position, finding.start) + replacement;
          position = finding.end;
          if (finding.end <= cut) mappedCut += replacement.length - (finding.end - finding.start);
        }
        if (policy.pii === 'redact') {
          text = rewritten + text.slice(position);
          cut = mappedCut;
        }
      }
    }
    // Bound the hold-back even for matches longer than the window (e.g. a very long e-mail address).
    if (!final && text.length - cut > Math.max(4 * this.window, 64)) cut = text.length - this.window;
    const released = text.slice(0, cut);
    this.buffer = text.slice(cut);
    this.releasedChars += released.length;
    this.context = (this.context + released).slice(-CONTEXT_CHARS);
    return released;
  }

  private releaseOnBlock(safePrefix: string): string {
    this.buffer = '';
    return safePrefix;
  }
}

const isAsciiWordChar = (code: number): boolean =>
  (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);

/** The text ends with a character that is neither a letter nor a digit (ASCII checked directly, the rest by regex). */
function endsOutsideWord(text: string): boolean {
  const code = text.charCodeAt(text.length - 1);
  if (code < 128) return !isAsciiWordChar(code);
  return /[^\p{L}\p{N}]$/u.test(text);
}

/** The trailing run of letters, digits and apostrophes (the possibly incomplete last word). */
function trailingWord(text: string): string {
  let start = text.length;
  while (start > 0) {
    const code = text.charCodeAt(start - 1);
    if (code >= 128) return /[\p{L}\p{N}'’]*$/u.exec(text)?.[0] ?? '';
    if (!isAsciiWordChar(code) && code !== 39) break;
    start--;
  }
  return text.slice(start);
}

/** Guards a whole (non-streamed) output text. */
export function guardText(
  text: string,
  options: StreamGuardOptions,
): { text: string; blocked: GuardDecision | undefined; findings: readonly GuardDecision[] } {
  const guard = new StreamGuard(options);
  const output = guard.push(text) + guard.flush();
  return { text: output, blocked: guard.blocked, findings: guard.findings };
}
