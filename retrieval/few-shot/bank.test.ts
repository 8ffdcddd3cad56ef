import { describe, expect, it } from 'vitest';
import { tinyModels } from '../testing/models.ts';
import { FewShotBank, type FewShotExample } from './bank.ts';

const EXAMPLES: FewShotExample[] = [
  { id: 'auth', input: 'How do I reset my password?', output: 'Use the reset link [1].', insufficient: false },
  {
    id: 'net',
    input: 'Why is the connection to port 443 refused?',
    output: 'Check the firewall [1].',
    insufficient: false,
  },
  { id: 'cook', input: 'How long do I bake the bread?', output: 'Forty minutes [1].', insufficient: false },
  { id: 'weather', input: 'Will it rain tomorrow?', output: 'Rain is forecast [2].', insufficient: false },
  {
    id: 'unknown',
    input: 'What is the CEO’s favourite colour?',
    output: 'The sources do not say.',
    insufficient: true,
  },
];

describe('FewShotBank', () => {
  it('picks the most similar examples with the embedder and always one insufficient-information example', async () => {
    const { embedder } = await tinyModels();
    const bank = await FewShotBank.build('support', EXAMPLES, embedder);
    const chosen = await bank.select('my login session token expired', 2);
    expect(chosen).toHaveLength(2);
    expect(chosen[0]?.id).toBe('auth');
    expect(chosen.map((example) => example.id)).toContain('unknown');
  });

  it('does not add a second insufficient example, and falls back to BM25 without an embedder', async () => {
    const bank = await FewShotBank.build('support', EXAMPLES, null);
    const chosen = await bank.select('favourite colour of the CEO', 3);
    expect(chosen[0]?.id).toBe('unknown');
    expect(chosen.filter((example) => example.insufficient)).toHaveLength(1);
    expect(chosen).toHaveLength(3);
    const bread = await bank.select('bake bread', 1);
    expect(bread.map((example) => example.id)).toEqual(['unknown']);
  });
});
