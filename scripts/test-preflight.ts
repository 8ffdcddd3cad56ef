// First step of `npm test`: the tests drive real tools (a browser, Docker Engine, docker-compose, promtool,
// redis-server) and fail without them. Say which are missing, and the one command that provides them, before
// minutes of typecheck, lint and test output bury it.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

interface Tool {
  name: string;
  /** Debian package that provides it. */
  apt: string;
  present(): boolean;
}

function onPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((directory) => {
    try {
      accessSync(join(directory, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function succeeds(command: string, args: readonly string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

const TOOLS: readonly Tool[] = [
  { name: 'chromium (/usr/bin/chromium)', apt: 'chromium', present: () => onPath('chromium') },
  { name: 'docker (client)', apt: 'docker.io', present: () => onPath('docker') },
  // Reported only when the client exists: without it the line above already names the package.
  {
    name: 'Docker Engine running (docker info)',
    apt: 'docker.io',
    present: () => !onPath('docker') || succeeds('docker', ['info']),
  },
  { name: 'docker-compose', apt: 'docker-compose', present: () => onPath('docker-compose') },
  { name: 'promtool', apt: 'prometheus', present: () => onPath('promtool') },
  { name: 'redis-server', apt: 'redis-server', present: () => onPath('redis-server') },
];

const missing = TOOLS.filter((tool) => !tool.present());
if (missing.length > 0) {
  const lines = [
    `npm test needs ${missing.length === 1 ? 'a system tool that is' : 'system tools that are'} missing here:`,
    ...missing.map((tool) => `  - ${tool.name}  (Debian package ${tool.apt})`),
    'Install and start them (Debian 12, as root), then run the tests, with one command:',
    '  npm run test:all',
    '(`npm run test:deps` alone does the install and start; `npm run test:unit` runs vitest without this check.)',
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exit(1);
}
