// The stream guard applied to OpenAI stream chunks (chat `delta.content` or completions `text`), one StreamGuard per
// choice index. Chunks whose content is entirely held back are dropped unless they carry something else (role,
// tool calls, finish_reason, usage). When a choice finishes, its held text is flushed into that final chunk. After a
// block the choice ends with finish_reason `content_filter` and later content chunks are dropped.
import type { StreamChunk } from '../../backends/contracts.ts';
import { StreamGuard, type StreamGuardOptions } from './stream-guard.ts';

type Choice = Record<string, unknown>;

export class ChunkGuard {
  private readonly guards = new Map<number, StreamGuard>();
  private readonly finished = new Set<number>();

  constructor(private readonly options: StreamGuardOptions) {}

  private guard(index: number): StreamGuard {
    let guard = this.guards.get(index);
    if (!guard) {
      guard = new StreamGuard(this.options);
      this.guards.set(index, guard);
    }
    return guard;
  }

  /** True when every choice seen so far was blocked: the caller may stop reading the upstream. */
  get blocked(): boolean {
    // Asked after every chunk: a loop, no array or callback per call.
    if (this.guards.size === 0) return false;
    for (const guard of this.guards.values()) if (guard.blocked === undefined) return false;
    return true;
  }

  get decisions(): Array<{ rule: string; action: string }> {
    return [...this.guards.values()].flatMap((guard) => [...guard.findings]);
  }

  /** Rewrites a chunk in place; returns null when nothing of it should be sent. */
  transform(chunk: StreamChunk): StreamChunk | null {
    const choices = Array.isArray(chunk['choices']) ? (chunk['choices'] as Choice[]) : [];
    if (choices.length === 0) return chunk;
    const kept: Choice[] = [];
    for (const choice of choices) {
      const index = typeof choice['index'] === 'number' ? choice['index'] : 0;
      if (this.finished.has(index)) continue;
      const guard = this.guard(index);
      const delta = choice['delta'] as Record<string, unknown> | undefined;
      const isChat = delta !== undefined;
      const content = isChat ? delta['content'] : choice['text'];
      const wasBlocked = guard.blocked !== undefined;
      let released = typeof content === 'string' && content !== '' ? guard.push(content) : '';
      if (choice['finish_reason']) released += guard.flush();
      if (!wasBlocked && guard.blocked) {
        choice['finish_reason'] = 'content_filter';
        this.finished.add(index);
      } else if (wasBlocked) {
        continue;
      }
      if (choice['finish_reason']) this.finished.add(index);
      if (typeof content === 'string' || released !== '') {
        if (isChat) delta['content'] = released;
        else choice['text'] = released;
      }
      const carriesOther =
        choice['finish_reason'] ||
        (isChat &&
          (('role' in delta && delta['role']) ||
            (Array.isArray(delta['tool_calls']) && delta['tool_calls'].length > 0)));
      if (released === '' && !carriesOther && content !== '') continue;
      kept.push(choice);
    }
    if (kept.length === 0 && !('usage' in chunk && chunk['usage'])) return null;
    chunk['choices'] = kept;
    return chunk;
  }

  /** A broken stream continues elsewhere from the client-visible text: forget what is held. */
  discardHeld(): void {
    for (const guard of this.guards.values()) guard.discardHeld();
  }

  /** Upstream ended without finish_reason chunks: flush every open choice as synthetic chunks. */
  end(template: { id: unknown; created: unknown; model: unknown; object: unknown }, chat: boolean): StreamChunk[] {
    const out: StreamChunk[] = [];
    for (const [index, guard] of this.guards) {
      if (this.finished.has(index)) continue;
      const text = guard.flush();
      if (text === '') continue;
      const choice: Choice = chat
        ? { index, delta: { content: text }, finish_reason: null }
        : { index, text, finish_reason: null };
      out.push({ ...template, choices: [choice] });
    }
    return out;
  }
}
