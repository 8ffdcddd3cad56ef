// The key `keys.loopbackKey` names, made on the first start so a fresh install shows governance at work: keyless local
// requests are billed to it, and its plain key (stored nowhere else: the database keeps only a hash) is kept beside
// the database, readable by its owner only, so every start can print it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KeyStore, type KeyRecord } from './store.ts';

export interface DemoKey {
  /** The plain key, for `Authorization: Bearer …`. */
  key: string;
  record: KeyRecord;
  /** Where the plain key is kept. */
  file: string;
  created: boolean;
}

/** `<database folder>/<name>.key`; the name is the key's name in the store. */
export function demoKeyFile(database: string, name: string): string {
  return join(dirname(database), `${name}.key`);
}

/** Returns the named key from its file when it still authenticates, or creates it (owner "local", team "demo"). */
export function ensureDemoKey(database: string, name: string): DemoKey {
  const file = demoKeyFile(database, name);
  const store = new KeyStore({ path: database, cacheMs: 0 });
  try {
    if (existsSync(file)) {
      const key = readFileSync(file, 'utf8').trim();
      const record = store.authenticate(key);
      if (record && record.name === name && !record.disabled) return { key, record, file, created: false };
    }
    const { key, record } = store.create({ name, owner: 'local', team: 'demo' });
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
    return { key, record, file, created: true };
  } finally {
    store.close();
  }
}
