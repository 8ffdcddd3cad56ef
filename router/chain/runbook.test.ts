// docs/runbook.md is executable: every command of every `sh` block runs, in order, with bash against the embedded
// default (real router, simulated pools), with `switchyard` on PATH as the repo's CLI. A command that exits non-zero
// fails the test; the runbook's own recovery checks (grep on headers, /ready, /admin/*) carry the assertions. The
// alerts and dashboard panels each section names must exist in the shipped rule files and Grafana dashboards.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startChainFixture, type ChainFixture } from '../testing/chain-fixture.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const RUNBOOK = readFileSync(join(ROOT, 'docs', 'runbook.md'), 'utf8');
const run = promisify(execFile);

interface Section {
  title: string;
  text: string;
  commands: string[];
}

function sections(): Section[] {
  return RUNBOOK.split(/^## /m)
    .slice(1)
    .map((chunk) => {
      const title = chunk.split('\n')[0]!.trim();
      const commands = [...chunk.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((block) =>
        block[1]!.split('\n').filter((line) => line.trim() !== '' && !line.trim().startsWith('#')),
      );
      return { title, text: chunk, commands };
    });
}

function paragraph(text: string, label: string): string {
  const start = text.indexOf(`**${label}`);
  if (start < 0) return '';
  const end = text.indexOf('\n\n', start);
  return text.slice(start, end < 0 ? undefined : end).replace(/\s*\n\s*/g, ' ');
}

let fixture: ChainFixture;
let bin: string;

beforeAll(async () => {
  fixture = await startChainFixture();
  bin = mkdtempSync(join(tmpdir(), 'switchyard-bin-'));
  writeFileSync(
    join(bin, 'switchyard'),
    `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin', 'switchyard.js')}" "$@"\n`,
  );
  chmodSync(join(bin, 'switchyard'), 0o755);
}, 120_000);

afterAll(async () => {
  await fixture?.close();
  if (bin) rmSync(bin, { recursive: true, force: true });
});

describe('docs/runbook.md', () => {
  it('covers the five incidents, each with alert, dashboard, commands and a recovery check', () => {
    expect(sections().map((section) => section.title)).toEqual([
      'API timeout',
      'Model degradation',
      'Cost spike',
      'GPU node loss',
      'Saturation',
    ]);
    for (const section of sections()) {
      expect(section.text, section.title).toMatch(/\*\*Alerts?:\*\*/);
      expect(section.text, section.title).toMatch(/\*\*Dashboard:\*\*/);
      expect(section.text, section.title).toMatch(/\*\*Recovery:\*\*/);
      expect(section.commands.length, section.title).toBeGreaterThan(2);
    }
  });

  it('names only alerts that the shipped rule files define', () => {
    const files = [
      'deploy/prometheus/runbook-rules.yml',
      'deploy/prometheus/rules.yml',
      'router/governance/observability/alerts/switchyard-rules.yml',
    ];
    const defined = new Set(
      files.flatMap((file) =>
        (
          parse(readFileSync(join(ROOT, file), 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string }> }> }
        ).groups.flatMap((group) => group.rules.flatMap((rule) => (rule.alert ? [rule.alert] : []))),
      ),
    );
    for (const section of sections()) {
      const named = [...paragraph(section.text, 'Alert').matchAll(/`(Switchyard\w+)`/g)].map((match) => match[1]!);
      expect(named.length, section.title).toBeGreaterThan(0);
      for (const alert of named) expect(defined, `${section.title}: ${alert}`).toContain(alert);
    }
    // And the compose Prometheus loads every one of those files.
    const prometheus = readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8');
    const compose = readFileSync(join(ROOT, 'docker-compose.gpu.yml'), 'utf8');
    for (const file of files) {
      const name = file.split('/').at(-1)!;
      expect(prometheus).toContain(`/etc/prometheus/${name}`);
      expect(compose).toContain(`./${file}:/etc/prometheus/${name}:ro`);
    }
  });

  it('names only dashboard panels that exist', () => {
    const dashboards = new Map<string, string[]>();
    const folder = join(ROOT, 'deploy/grafana/dashboards');
    for (const file of readdirSync(folder).filter((name) => name.endsWith('.json'))) {
      const dashboard = JSON.parse(readFileSync(join(folder, file), 'utf8')) as {
        title: string;
        panels: Array<{ title: string }>;
      };
      dashboards.set(
        dashboard.title,
        dashboard.panels.map((panel) => panel.title),
      );
    }
    for (const section of sections()) {
      const line = paragraph(section.text, 'Dashboard:').replace('**Dashboard:**', '').trim().replace(/\.$/, '');
      for (const part of line.split('; ')) {
        const cut = part.indexOf(' / ');
        const title = part.slice(0, cut);
        expect(dashboards.has(title), `${section.title}: dashboard "${title}"`).toBe(true);
        for (const panel of part.slice(cut + 3).split(', '))
          expect(dashboards.get(title), `${section.title}: panel "${panel}"`).toContain(panel);
      }
    }
  });

  it('every command runs against the embedded default', { timeout: 600_000 }, async () => {
    // The incident of "model degradation": chain-answer 1 was active, then 2 was rolled out.
    const admin = async (path: string, body: unknown): Promise<void> => {
      const response = await fetch(`${fixture.router.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(200);
    };
    await admin('/admin/prompts/chain-answer/activate', { version: '1' });
    await admin('/admin/prompts/chain-answer/activate', { version: '2' });
    // Some traffic first, as during a real incident (counters only have samples once something happened).
    const question = [{ role: 'user' as const, content: 'What does ERR_CONN_REFUSED_443 mean?' }];
    await fixture.client.chat.completions.create({ model: 'small', messages: question, max_tokens: 8 });
    await fixture.client.chat.completions.create({ model: 'large', messages: question, max_tokens: 8 });
    await fixture.client.chat.completions.create({
      model: 'small',
      messages: question,
      max_tokens: 16,
      chain: { index: 'docs', on_fail: 'flag' },
    } as Parameters<typeof fixture.client.chat.completions.create>[0]);
    const environment = {
      ...process.env,
      PATH: `${bin}:${process.env['PATH'] ?? ''}`,
      SWITCHYARD_URL: fixture.router.url,
      SWITCHYARD_PROMPT_ROLLOUT: fixture.rolloutFile,
    };
    for (const section of sections()) {
      for (const command of section.commands) {
        const result = await run('bash', ['-o', 'pipefail', '-c', command], {
          env: environment,
          cwd: fixture.workspace,
        }).then(
          () => ({ code: 0, stderr: '' }),
          (error: { code: number; stderr: string; stdout: string }) => ({
            code: error.code,
            stderr: `${error.stderr}${error.stdout}`,
          }),
        );
        expect(result.code, `${section.title}: ${command}\n${result.stderr}`).toBe(0);
      }
    }
  });
});
