// The GGUF writer against its own reader and against llama.cpp's format rules (alignment, counts, f16 rounding).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ALIGNMENT,
  GgufFormatError,
  TensorType,
  float32ToFloat16,
  kvFloat32,
  kvString,
  kvUint32,
  readGgufMetadata,
  readKvString,
  readKvUint32,
  writeGguf,
} from './gguf.ts';

const dir = mkdtempSync(join(tmpdir(), 'gguf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('GGUF writer and reader', () => {
  it('round-trips KVs and tensor counts, with tensor data aligned', () => {
    const path = join(dir, 'a.gguf');
    const data = Buffer.from(new Float32Array([1, 2, 3]).buffer);
    writeGguf(
      path,
      [kvString('general.architecture', 'llama'), kvUint32('llama.block_count', 2), kvFloat32('x', 0.5)],
      [{ name: 't', dims: [3], type: TensorType.F32, data }],
    );
    const file = readFileSync(path);
    const metadata = readGgufMetadata(file);
    expect(metadata.version).toBe(3);
    expect(metadata.tensorCount).toBe(1);
    expect(metadata.kvs.map((kv) => kv.key)).toEqual(['general.architecture', 'llama.block_count', 'x']);
    expect(readKvString(metadata.kvs[0])).toBe('llama');
    expect(readKvUint32(metadata.kvs[1])).toBe(2);
    // The data section starts aligned and ends with the padded tensor.
    expect(file.length % ALIGNMENT).toBe(0);
    expect(file.subarray(file.length - ALIGNMENT, file.length - ALIGNMENT + 12)).toEqual(data);
  });

  it('rejects a tensor whose data does not match its shape', () => {
    expect(() =>
      writeGguf(join(dir, 'b.gguf'), [], [{ name: 't', dims: [4], type: TensorType.F16, data: Buffer.alloc(6) }]),
    ).toThrow(GgufFormatError);
  });

  it('rejects files that are not GGUF or are truncated', () => {
    expect(() => readGgufMetadata(Buffer.from('not a gguf file at all'))).toThrow(/bad magic/);
    const path = join(dir, 'c.gguf');
    writeGguf(path, [kvString('general.name', 'x'.repeat(100))], []);
    writeFileSync(path, readFileSync(path).subarray(0, 40));
    expect(() => readGgufMetadata(readFileSync(path))).toThrow(/truncated/);
  });

  it('converts to IEEE half precision with round-to-nearest-even', () => {
    expect(float32ToFloat16(0)).toBe(0);
    expect(float32ToFloat16(1)).toBe(0x3c00);
    expect(float32ToFloat16(-2)).toBe(0xc000);
    expect(float32ToFloat16(0.1)).toBe(0x2e66);
    expect(float32ToFloat16(65_504)).toBe(0x7bff);
    expect(float32ToFloat16(1e6)).toBe(0x7c00);
    expect(float32ToFloat16(6e-8)).toBe(0x0001);
  });
});
