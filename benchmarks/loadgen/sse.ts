// Incremental Server-Sent-Events splitter: feed it decoded text as it arrives, get back the `data:` payloads of every
// completed event. Comments (`: ping`) and other fields are skipped, as vLLM's benchmark client does.
export class SseDataParser {
  private buffer = '';

  push(text: string): string[] {
    this.buffer += text;
    const payloads: string[] = [];
    for (;;) {
      const match = /\r?\n\r?\n/.exec(this.buffer);
      if (!match) break;
      const event = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const data = event
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''));
      if (data.length > 0) payloads.push(data.join('\n'));
    }
    return payloads;
  }

  /** Whatever is left when the stream ends without a final blank line. */
  flush(): string[] {
    const rest = this.buffer;
    this.buffer = '';
    return rest.trim().length === 0 ? [] : this.push(`${rest}\n\n`);
  }
}
