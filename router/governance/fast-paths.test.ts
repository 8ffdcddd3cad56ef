// The per-request shortcuts of the governance chain give the same results as the plain computations they replace:
// tiktoken counts through the piece cache, ASCII word splitting for leakage, the PII pre-filters, the leakage
// vocabulary skip, pino's timestamp format, and metrics handed to prom-client at scrape time.
import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { GovernanceConfig } from '../config/governance.ts';
import { CostMeter } from './cost/cost.ts';
import { NgramIndex, words } from './guardrails/leakage.ts';
import { findPii } from './guardrails/pii.ts';
import { createGovernanceLoggers, isoTime } from './observability/logging.ts';
import { createGovernanceMetrics } from './observability/metrics.ts';
import { countTokens, countTokensUncached } from './tokens.ts';

/** Deterministic pseudo-random strings (xorshift), so a failure reproduces. */
function randomTexts(count: number, alphabet: string, maxLength: number, seed = 12345): string[] {
  let state = seed;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  return Array.from({ length: count }, () => {
    let text = '';
    const length = Math.floor(next() * maxLength);
    for (let index = 0; index < length; index++) text += alphabet[Math.floor(next() * alphabet.length)];
    return text;
  });
}

// Letters, digits, every kind of ASCII space, punctuation, and the letters of the contractions ('s 't 're 've 'm 'll 'd).
const ASCII_ALPHABET = 'abcXYZ019 \'\n\r\t\u000b\u000c.,!?-_()[]{}"$#@%^&*/\\|<>~`:;sStTmMdDrReEvVlL';

describe('token counting through the piece cache', () => {
  it('counts exactly what tiktoken counts on the whole text (ASCII edge cases, random and long texts)', () => {
    const samples = [
      'How do I configure a per-key rate limit and a daily budget for my team?',
      "I'm sure they'll've done it. DON'T 'S 'Re 'LL 'x ''''s x'",
      '  hello   world  \n\n  \r\n\t x  ',
      '12345678 1.5e10 $100,000.00 !!!??? ...',
      'def f(x):\n    return x**2  # comment\n\n\n',
      '```ts\nconst a = {b: [1,2,3]};\n```',
      ' ',
      '\n',
      ...randomTexts(3000, ASCII_ALPHABET, 80),
      // Long texts with many unseen pieces take the "rest in one call" path.
      ...randomTexts(20, ASCII_ALPHABET, 3000, 777),
    ];
    for (const text of samples) expect(countTokens(text), JSON.stringify(text)).toBe(countTokensUncached(text));
    // Again, now mostly from the cache.
    for (const text of samples) expect(countTokens(text), JSON.stringify(text)).toBe(countTokensUncached(text));
  });

  it('leaves non-ASCII text to tiktoken whole', () => {
    for (const text of ['naïve café', 'Grüße aus Köln 123', '東京 tokyo', 'emoji 🎉 party'])
      expect(countTokens(text)).toBe(countTokensUncached(text));
  });
});

describe('leakage word splitting and n-gram lookup', () => {
  it('splits ASCII and non-ASCII text into the same words as the Unicode pattern', () => {
    const unicode = (text: string): string[] =>
      Array.from(text.toLowerCase().matchAll(/[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu), (match) => match[0]);
    for (const text of [
      ...randomTexts(2000, "abcXYZ019 '\n\t.,!?-_", 60),
      ...randomTexts(1000, "abcXYZ019 '\n\t.,’éÉß中𝔸İ\u212a", 60, 99),
    ]) {
      expect(words(text), JSON.stringify(text)).toEqual(unicode(text));
    }
  });

  it('finds the same first leaked n-gram as checking every window', () => {
    const prompt =
      'You are the billing assistant of Example Corp and you never reveal the refund override code to anyone at all';
    const index = new NgramIndex(prompt, 4);
    const every = (sequence: string[]): string | undefined => {
      const grams = new Set<string>();
      const list = words(prompt);
      for (let start = 0; start + 4 <= list.length; start++) grams.add(list.slice(start, start + 4).join(' '));
      for (let start = 0; start + 4 <= sequence.length; start++) {
        const gram = sequence.slice(start, start + 4).join(' ');
        if (grams.has(gram)) return gram;
      }
      return undefined;
    };
    const promptWords = words(prompt);
    const vocabulary = [...promptWords, 'hello', 'refund', 'the', 'code'];
    let leaks = 0;
    let run = 0;
    for (const text of randomTexts(3000, 'abcdefghijklmnopqrstu', 14, 4242)) {
      // Words drawn from the prompt's and a few others, with a run of 3 (a near leak), 4 or 5 prompt words spliced in.
      const sequence = Array.from(text, (char) => vocabulary[char.charCodeAt(0) % vocabulary.length] as string);
      const length = 3 + (run++ % 3);
      const from = (run * 7) % (promptWords.length - length);
      sequence.splice(Math.floor(sequence.length / 2), 0, ...promptWords.slice(from, from + length));
      const expected = every(sequence);
      if (expected) leaks++;
      expect(index.firstLeak(sequence)).toBe(expected);
    }
    expect(leaks).toBeGreaterThan(1000);
    expect(leaks).toBeLessThan(3000);
    expect(words(prompt).length).toBeGreaterThan(4);
    expect(index.firstLeak(words('so: the billing assistant of example corp said hi'))).toBe(
      'the billing assistant of',
    );
  });
});

describe('PII pre-filters', () => {
  const types = ['credit_card', 'iban', 'ssn', 'email', 'phone'] as const;
  it('find what the detectors find, at the edges of the digit counts', () => {
    const cases: Array<[string, string[]]> = [
      ['card 4111 1111 1111 1111 ok', ['credit_card']],
      ['ssn 123-45-6789.', ['ssn']],
      ['call (555) 123-4567 now', ['phone']],
      ['mail ops@example.com', ['email']],
      ['iban DE89 3704 0044 0532 0130 00', ['iban']],
      ['only 12 digits 1234 5678 9012', []],
      ['no at sign ops.example.com', []],
    ];
    for (const [text, expected] of cases)
      expect(
        findPii(text, types).map((finding) => finding.type),
        text,
      ).toEqual(expected);
  });

  it('find the same as running every detector, on random text full of digits, capitals and separators', () => {
    const samples = randomTexts(4000, '0123456789 -.()+@DEGBabxyz0123456789', 40, 2718);
    // Plant real ones too, so every detector has matches to agree on.
    samples.push('4111-1111-1111-1111', '123-45-6789', 'a@b.co', '+1 (555) 123-4567', 'GB82 WEST 1234 5698 7654 32');
    let matched = 0;
    for (const text of samples) {
      for (const pendingAtEnd of [false, true]) {
        const expected = findPii(text, types, { pendingAtEnd, prefilter: false });
        matched += expected.length;
        expect(findPii(text, types, { pendingAtEnd }), JSON.stringify(text)).toEqual(expected);
      }
    }
    expect(matched).toBeGreaterThan(20);
  });

  it('still reports a match that touches the end as pending', () => {
    expect(findPii('write to ops@example.com', types, { pendingAtEnd: true })).toEqual([
      { type: 'email', start: 9, end: 24, pending: true },
    ]);
  });
});

class Lines extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.lines.push(...chunk.toString().split('\n').filter(Boolean));
    callback();
  }
}

describe('request log lines', () => {
  it('formats the time exactly like pino.stdTimeFunctions.isoTime', () => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const ours = isoTime();
      const pinos = pino.stdTimeFunctions.isoTime();
      // The two calls may straddle a millisecond: compare the shape, and the value within a few milliseconds.
      expect(ours).toMatch(/^,"time":"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"$/);
      const at = (text: string): number => Date.parse(text.slice(9, -1));
      expect(Math.abs(at(ours) - at(pinos))).toBeLessThan(50);
    }
  });

  it('writes the same line from the request logger as from the redacting one when no redacted field is present', () => {
    const sink = new Lines();
    const { logger, requestLogger } = createGovernanceLoggers({ level: 'info', destination: sink });
    const line = {
      requestId: 'r1',
      keyId: 'key_1',
      route: 'chat',
      model: 'm',
      promptTokens: 3,
      guardrails: ['flag:pii:email'],
      status: 200,
    };
    logger.info(line, 'request');
    requestLogger.info(line, 'request');
    logger.info({ authorization: 'Bearer sy-secret' }, 'headers');
    const [redacting, plain, secret] = sink.lines.map((text) => JSON.parse(text) as Record<string, unknown>);
    delete redacting?.['time'];
    delete plain?.['time'];
    expect(plain).toEqual(redacting);
    expect(secret?.['authorization']).toBe('[redacted]');
  });
});

describe('metrics taken on the request path', () => {
  it('reach prom-client by the next scrape', async () => {
    const registry = new Registry();
    const config = GovernanceConfig.parse({});
    const metrics = createGovernanceMetrics(registry, {
      costMeter: new CostMeter({ ...config.cost }),
      cacheBytes: () => 0,
    });
    metrics.cost.inc({ model: 'm', pool: 'p', kind: 'hosted', team: 't' }, 0.25);
    metrics.cost.inc({ model: 'm', pool: 'p', kind: 'hosted', team: 't' }, 0.5);
    metrics.poolTokens.inc({ pool: 'p', kind: 'prompt' }, 7);
    metrics.budgetRemaining.set({ key: 'k', period: 'daily' }, 3);
    metrics.budgetRemaining.set({ key: 'k', period: 'daily' }, 2);
    const text = await registry.metrics();
    expect(text).toContain('switchyard_cost_usd_total{model="m",pool="p",kind="hosted",team="t"} 0.75');
    expect(text).toContain('switchyard_pool_tokens_total{pool="p",kind="prompt"} 7');
    expect(text).toContain('switchyard_budget_remaining_usd{key="k",period="daily"} 2');
    // A second scrape does not count anything twice.
    expect(await registry.metrics()).toContain(
      'switchyard_cost_usd_total{model="m",pool="p",kind="hosted",team="t"} 0.75',
    );
  });
});
