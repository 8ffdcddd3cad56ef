// Where downloaded models and derived tables are cached (no model-library imports, so light modules can use it).
import { join } from 'node:path';

export function defaultCacheDir(): string {
  return process.env['SWITCHYARD_MODEL_CACHE'] ?? join(process.env['HOME'] ?? '.', '.cache', 'switchyard', 'models');
}
