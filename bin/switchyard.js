#!/usr/bin/env node
// The CLI entry: registers tsx so the TypeScript sources run as they are (no build step), then hands over.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
await main(process.argv);
