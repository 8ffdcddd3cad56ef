import { describe, expect, it } from 'vitest';
import { getTokenizer } from '../tokens.ts';
import { assembleContext, contextBudget, type ContextCandidate } from './assemble.ts';
import { checkCitations, splitSentences } from './citations.ts';

function candidate(
  id: string,
  text: string,
  score: number,
  extra: Partial<ContextCandidate['metadata']> = {},
): ContextCandidate {
  return {
    chunkId: id,
    documentId: id.split('#')[0] as string,
    text,
    score,
    metadata: {
      title: id,
      headingPath: [],
      sourcePath: `/docs/${id}`,
      sourceUrl: null,
      contentHash: `hash-${text}`,
      position: 0,
      ...extra,
    },
  };
}

const network = candidate(
  'net.md#0',
  'ERR_CONN_REFUSED_443 means the connection to port 443 was refused by the server.',
  0.9,
);
const auth = candidate(
  'auth.md#1',
  'Users sign in with a password or OAuth tokens; sessions expire after one hour.',
  0.8,
  {
    headingPath: ['Authentication', 'Sessions'],
  },
);
const billing = candidate(
  'billing.md#0',
  'Invoices are issued monthly and refunds take five to ten days to arrive.',
  0.5,
);

describe('assembleContext', () => {
  it('numbers sources with headers and respects the token budget exactly', () => {
    const all = assembleContext([billing, network, auth], { budgetTokens: 1000 });
    expect(all.sources.map((source) => source.chunkId)).toEqual(['net.md#0', 'auth.md#1', 'billing.md#0']);
    expect(all.text).toContain('[2] auth.md#1 › Authentication › Sessions (/docs/auth.md#1)');
    expect(all.tokens).toBe(getTokenizer().count(all.text));

    const tight = assembleContext([network, auth, billing], { budgetTokens: all.tokens - 5 });
    expect(tight.tokens).toBeLessThanOrEqual(all.tokens - 5);
    expect(tight.sources).toHaveLength(2);
    expect(tight.dropped).toEqual([{ chunkId: 'billing.md#0', reason: 'budget' }]);
    expect(assembleContext([network], { budgetTokens: 3 }).sources).toEqual([]);
  });

  it('drops exact and near duplicates, keeping the better-ranked copy', () => {
    const copy = { ...network, chunkId: 'mirror.md#0', documentId: 'mirror.md', score: 0.4 };
    const near = candidate('near.md#0', `${network.text} Check it.`, 0.85);
    const result = assembleContext([network, copy, near, auth], { budgetTokens: 1000 });
    expect(result.sources.map((source) => source.chunkId)).toEqual(['net.md#0', 'auth.md#1']);
    expect(result.dropped).toEqual([
      { chunkId: 'near.md#0', reason: 'near-duplicate' },
      { chunkId: 'mirror.md#0', reason: 'duplicate' },
    ]);
  });

  it('can order by document reading order', () => {
    const first = candidate('a.md#3', 'third part about storms and rain', 0.9, { position: 3 });
    const second = candidate('a.md#1', 'first part about the weather station', 0.7, { position: 1 });
    const other = candidate('b.md#0', 'an unrelated recipe for bread', 0.8);
    const result = assembleContext([first, second, other], { budgetTokens: 1000, order: 'document' });
    expect(result.sources.map((source) => source.chunkId)).toEqual(['a.md#1', 'a.md#3', 'b.md#0']);
  });

  it('computes the budget as context minus system prompt minus expected output', () => {
    expect(contextBudget(8192, 500, 1024)).toBe(6668);
    expect(contextBudget(1000, 800, 400)).toBe(0);
  });
});

describe('checkCitations', () => {
  const sources = assembleContext([network, auth], { budgetTokens: 1000 }).sources;

  it('accepts citations whose sentence shares terms with the source', () => {
    const result = checkCitations('The connection to port 443 was refused [1]. Sessions expire hourly [2].', sources);
    expect(result.valid).toBe(true);
    expect(result.citations.map((citation) => citation.status)).toEqual(['ok', 'ok']);
    expect(result.citations[0]?.sharedTerms).toEqual(expect.arrayContaining(['connect', '443', 'refus']));
  });

  it('flags markers without a source and sentences unrelated to their source', () => {
    const result = checkCitations('Bread needs flour and an oven [1]. Port 443 was refused [7].', sources);
    expect(result.valid).toBe(false);
    expect(result.citations).toMatchObject([
      { marker: '[1]', status: 'unsupported' },
      { marker: '[7]', status: 'unknown_source' },
    ]);
  });

  it('keeps a marker after the full stop with its sentence', () => {
    expect(splitSentences('Port 443 was refused. [1] Sessions expire. [2]')).toEqual([
      'Port 443 was refused. [1]',
      'Sessions expire. [2]',
    ]);
  });
});
