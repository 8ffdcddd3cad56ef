import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { evalAddCase } from '../commands/other.ts';
import { addCaseFromRequest } from './add-case.ts';
import { loadSuite, parseCases } from './load.ts';
import { fillTemplate, renderInput } from './render.ts';
import { EvalCaseSchema } from './schema.ts';

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'switchyard-dataset-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

const line = (value: unknown) => JSON.stringify(value);

describe('suite loading', () => {
  it('loads JSONL cases; the version hash follows content, not formatting', async () => {
    const a = {
      id: 'a',
      input: { prompt: 'hi {{name}}', variables: { name: 'Ada' } },
      assertions: [{ type: 'contains', value: 'Ada' }],
    };
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(directory, 'reformatted'));
    await writeFile(join(directory, 'one.jsonl'), `${line(a)}\n`);
    // Same content, other key order and spacing, blank lines.
    const reordered = {
      assertions: a.assertions,
      input: { variables: { name: 'Ada' }, prompt: 'hi {{name}}' },
      id: 'a',
    };
    await writeFile(
      join(directory, 'reformatted', 'one.jsonl'),
      `\n${JSON.stringify(reordered, null, 0).replace(/,/g, ' , ')}\n\n`,
    );
    const one = await loadSuite(join(directory, 'one.jsonl'));
    expect(one.cases[0]?.assertions.map((assertion) => assertion.id)).toEqual(['contains']);
    expect(one.hash).toMatch(/^sha256:[0-9a-f]{12}$/);
    expect((await loadSuite(join(directory, 'reformatted', 'one.jsonl'))).hash).toBe(one.hash);
    await writeFile(join(directory, 'one.jsonl'), `${line({ ...a, tags: ['new'] })}\n`);
    expect((await loadSuite(join(directory, 'one.jsonl'))).hash).not.toBe(one.hash);
  });

  it('reports file, line and field for every problem', () => {
    expect(() => parseCases('{"id": "a"}', 'cases.jsonl')).toThrow(/cases\.jsonl:1 input: /);
    expect(() => parseCases('{nope', 'c.jsonl')).toThrow(/c\.jsonl:1: not valid JSON/);
    const dup = `${line({ id: 'a', input: { prompt: 'x' } })}\n${line({ id: 'a', input: { prompt: 'y' } })}`;
    expect(() => parseCases(dup, 'c.jsonl')).toThrow(/c\.jsonl:2: duplicate case id "a"/);
    expect(() => parseCases(line({ id: 'a', input: { prompt: 'x' }, extra: 1 }), 'c.jsonl')).toThrow(
      /Unrecognized key/,
    );
    expect(() => parseCases('\n\n', 'c.jsonl')).toThrow(/no cases/);
  });

  it('YAML suites add default assertions and request parameters; bad assertions fail at load', async () => {
    await writeFile(
      join(directory, 'cases.jsonl'),
      line({ id: 'a', input: { prompt: 'x' }, assertions: [{ type: 'regex', pattern: 'y' }] }),
    );
    await writeFile(
      join(directory, 'suite.yaml'),
      'name: demo\ncases: cases.jsonl\ndefaults:\n  request: { temperature: 0 }\n  assertions:\n    - { type: token-length, max: 10 }\n',
    );
    const suite = await loadSuite(join(directory, 'suite.yaml'));
    expect(suite.name).toBe('demo');
    expect(suite.request).toEqual({ temperature: 0 });
    expect(suite.cases[0]?.assertions.map((assertion) => assertion.id)).toEqual(['token-length', 'regex']);

    await writeFile(
      join(directory, 'bad.jsonl'),
      line({
        id: 'a',
        input: { prompt: 'x' },
        assertions: [
          { type: 'regex', pattern: 'a' },
          { type: 'regex', pattern: 'b' },
        ],
      }),
    );
    await expect(loadSuite(join(directory, 'bad.jsonl'))).rejects.toThrow(/metric "regex" appears twice/);
    await writeFile(join(directory, 'bad.yaml'), 'name: x\ncases: nowhere.jsonl\n');
    await expect(loadSuite(join(directory, 'bad.yaml'))).rejects.toThrow(/cannot read cases nowhere\.jsonl/);
    await expect(loadSuite(join(directory, 'suite.txt'))).rejects.toThrow(/cannot read suite/);
  });

  it('renders templates, refusing missing variables and unavailable prompt-registry references', async () => {
    expect(fillTemplate('Hi {{ name }}, {{name}}!', { name: 'Ada' }, 'c')).toBe('Hi Ada, Ada!');
    expect(() => fillTemplate('{{missing}}', {}, 'c')).toThrow(/c: template variable \{\{missing\}\} has no value/);
    const withSystem = EvalCaseSchema.parse({ id: 'c', input: { prompt: 'x', system: 'be brief' } });
    expect(await renderInput(withSystem)).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'x' },
    ]);
    const ref = EvalCaseSchema.parse({ id: 'c', input: { promptRef: { name: 'support-answer', version: '3' } } });
    await expect(renderInput(ref)).rejects.toThrow(/no prompt registry was given/);
  });
});

describe('add-case --from-request', () => {
  const log = [
    line({
      id: 'req_1',
      timestamp: '2026-11-27T08:00:00Z',
      request: { model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'Reset my password?' }], temperature: 0.2 },
      response: { choices: [{ message: { content: 'Click "forgot password".' } }] },
    }),
    '{"torn line',
    line({ request_id: 'req_2', request: { messages: [{ role: 'user', content: 'Hi' }] }, output: 'Hello!' }),
  ].join('\n');

  it('turns a logged request into a case and appends it (once)', async () => {
    await writeFile(join(directory, 'requests.jsonl'), log);
    const cases = join(directory, 'cases.jsonl');
    await writeFile(cases, line({ id: 'existing', input: { prompt: 'x' } }));
    const added = await addCaseFromRequest(join(directory, 'requests.jsonl'), cases, {
      requestId: 'req_1',
      tags: ['bug-123'],
    });
    expect(added).toMatchObject({
      id: 'req-req_1',
      input: { messages: [{ role: 'user', content: 'Reset my password?' }] },
      tags: ['from-production', 'bug-123'],
      metadata: { requestId: 'req_1', loggedModel: 'llama-3.1-8b', loggedOutput: 'Click "forgot password".' },
    });
    expect(added.reference).toBeUndefined();
    const parsed = parseCases(await readFile(cases, 'utf8'), 'cases.jsonl');
    expect(parsed.map((evalCase) => evalCase.id)).toEqual(['existing', 'req-req_1']);
    await expect(addCaseFromRequest(join(directory, 'requests.jsonl'), cases, { requestId: 'req_1' })).rejects.toThrow(
      /already has a case/,
    );
    const second = await addCaseFromRequest(join(directory, 'requests.jsonl'), cases, {
      requestId: 'req_2',
      referenceFromResponse: true,
    });
    expect(second.reference).toBe('Hello!');
  });

  it('unknown request ids and missing logs exit 2 with a message', async () => {
    await writeFile(join(directory, 'requests.jsonl'), log);
    const errors: string[] = [];
    const io = { stdout: () => undefined, stderr: (text: string) => errors.push(text) };
    expect(
      await evalAddCase(
        { fromRequest: 'req_9', log: join(directory, 'requests.jsonl'), suite: join(directory, 'c.jsonl') },
        io,
      ),
    ).toBe(2);
    expect(
      await evalAddCase(
        { fromRequest: 'req_1', log: join(directory, 'none.jsonl'), suite: join(directory, 'c.jsonl') },
        io,
      ),
    ).toBe(2);
    expect(errors.join('\n')).toMatch(/request req_9 is not in the request log[\s\S]*cannot read request log/);
  });

  it('a request logged without its messages (requestLog.bodies off) says how to keep them', async () => {
    const bare = JSON.stringify({ type: 'request', id: 'req_bare', timestamp: 't', model: 'm', prompts: {} });
    await writeFile(join(directory, 'requests.jsonl'), `${log}\n${bare}\n`);
    const errors: string[] = [];
    const io = { stdout: () => undefined, stderr: (text: string) => errors.push(text) };
    expect(
      await evalAddCase(
        { fromRequest: 'req_bare', log: join(directory, 'requests.jsonl'), suite: join(directory, 'c.jsonl') },
        io,
      ),
    ).toBe(2);
    expect(errors.join('\n')).toMatch(/req_bare was logged without its messages.*requestLog\.bodies: true/);
  });
});
