// Pure parts of the chain: claim splitting and triage, verifier output parsing and repair, rollout edits, sticky
// A/B assignment.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { claimsForPrompt, findingsText, parseVerifierOutput, splitClaims, triageClaims } from './claims.ts';
import { loadRegistry, PromptStore, rolloutEdits, stickyFraction } from './prompt-store.ts';

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

describe('claims', () => {
  it('cuts sentences with their markers; marker-only fragments join the sentence before', () => {
    const claims = splitClaims('Port 443 was refused [1]. Check the proxy [2][3]!\n[4]\nNo citation here.');
    expect(claims).toEqual([
      { claim: 1, text: 'Port 443 was refused [1].', markers: ['[1]'] },
      { claim: 2, text: 'Check the proxy [2][3]! [4]', markers: ['[2]', '[3]', '[4]'] },
      { claim: 3, text: 'No citation here.', markers: [] },
    ]);
  });

  it('decides uncited claims and unknown markers without a model and sends only cited text to the verifier', () => {
    const sources = [
      { marker: '[1]', text: 'Port 443 refused.' },
      { marker: '[2]', text: 'Proxy settings.' },
    ];
    const { decided, toJudge } = triageClaims(splitClaims('A [1]. B [9]. C.'), sources);
    expect(decided.map((claim) => claim.verdict)).toEqual(['unknown_source', 'uncited']);
    expect(toJudge.map((claim) => claim.text)).toEqual(['A [1].']);
    const prompt = claimsForPrompt(toJudge, sources);
    expect(prompt).toBe('Claim 1: A .\n  Source [1]: Port 443 refused.');
    expect(prompt).not.toContain('Proxy settings');
    expect(findingsText([...decided, { ...toJudge[0]!, verdict: 'supported', reason: 'ok' }])).toBe(
      '- "B [9].": unknown_source (cites [9], which is not among the sources)\n- "C.": uncited (the sentence cites no source)',
    );
  });

  it('validates verifier output, repairs fences, prose and trailing commas, and rejects wrong counts', () => {
    const valid = JSON.stringify({ verdicts: [{ verdict: 'supported', reason: 'r' }] });
    expect(parseVerifierOutput(valid, 1)).toMatchObject({ ok: true, repaired: false });
    expect(
      parseVerifierOutput(`Here:\n\`\`\`json\n{"verdicts": [{"verdict": "unsupported", "reason": "r"},]}\n\`\`\``, 1),
    ).toMatchObject({
      ok: true,
      repaired: true,
      value: { verdicts: [{ verdict: 'unsupported' }] },
    });
    expect(parseVerifierOutput(valid, 2)).toEqual({ ok: false, problem: 'expected 2 verdicts (one per claim), got 1' });
    expect(parseVerifierOutput('{"verdicts": [{"verdict": "maybe", "reason": "r"}]}', 1)).toMatchObject({
      ok: false,
      problem: /verdicts\.0\.verdict/,
    });
    expect(parseVerifierOutput('no', 1)).toEqual({ ok: false, problem: 'the output is not valid JSON' });
  });
});

describe('rollout', () => {
  function store(): { store: PromptStore; rolloutFile: string } {
    const directory = mkdtempSync(join(tmpdir(), 'switchyard-rollout-'));
    directories.push(directory);
    const rolloutFile = join(directory, 'rollout.yaml');
    return { store: new PromptStore({ dirs: [], rolloutFile, watch: false, random: () => 0.99 }), rolloutFile };
  }

  it('activate keeps history, rollback pops it and drops a split; unknown versions are refused', () => {
    const registry = loadRegistry([]);
    let state = rolloutEdits.activate({}, registry, 'chain-answer', '1');
    expect(state['chain-answer']).toEqual({ active: '1', history: ['2'] });
    state = rolloutEdits.split(state, registry, 'chain-answer', { '1': 1, '2': 3 });
    const back = rolloutEdits.rollback(state, registry, 'chain-answer');
    expect(back).toMatchObject({ from: '1', to: '2', state: { 'chain-answer': { active: '2', history: [] } } });
    expect(() => rolloutEdits.rollback(back.state, registry, 'chain-answer')).toThrow(/no earlier active version/);
    expect(() => rolloutEdits.activate({}, registry, 'chain-answer', '7')).toThrow(/chain-answer/);
    expect(() => rolloutEdits.split({}, registry, 'chain-answer', {})).toThrow(/at least one/);
  });

  it('a split is sticky per key and follows the weights; a broken rollout file keeps the last state', () => {
    const { store: prompts, rolloutFile } = store();
    prompts.edit((state, registry) => rolloutEdits.split(state, registry, 'chain-answer', { '1': 1, '2': 3 }));
    const counts = { '1': 0, '2': 0 } as Record<string, number>;
    for (let user = 0; user < 400; user++) {
      const version = prompts.resolve('chain-answer', undefined, `u${user}`).prompt.version;
      expect(prompts.resolve('chain-answer', undefined, `u${user}`).prompt.version).toBe(version);
      counts[version]!++;
    }
    expect(counts['2']! / 400).toBeGreaterThan(0.65);
    expect(counts['2']! / 400).toBeLessThan(0.85);
    expect(stickyFraction('chain-answer', 'u1')).toBe(stickyFraction('chain-answer', 'u1'));
    // Without a key the injected random decides (0.99 → the last version).
    expect(prompts.resolve('chain-answer').prompt.version).toBe('2');
    expect(prompts.resolve('chain-answer', '1').via).toBe('named');
    writeFileSync(rolloutFile, 'prompts: { chain-answer: { active: [1] } }\n');
    expect(() => prompts.reload()).toThrow(/rollout file/);
    expect(prompts.resolve('chain-answer', undefined, 'u1').via).toBe('split');
  });
});
