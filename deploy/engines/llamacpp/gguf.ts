// A minimal GGUF (v3) reader and writer, enough to copy a vocab-only file's tokenizer metadata into a new model file
// with freshly generated tensors. Layout (llama.cpp's gguf docs): magic "GGUF", version, tensor count, KV count, the
// KVs, the tensor infos, padding to `general.alignment` (32 by default), then each tensor's data at an aligned offset.
// KV values from a file being copied are kept as their raw encoded bytes, so no value type needs re-encoding.
import { CliError } from '../../../core/errors.ts';
import { openSync, writeSync, closeSync } from 'node:fs';

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
export const GGUF_VERSION = 3;
export const ALIGNMENT = 32;

export enum ValueType {
  Uint8 = 0,
  Int8 = 1,
  Uint16 = 2,
  Int16 = 3,
  Uint32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  Uint64 = 10,
  Int64 = 11,
  Float64 = 12,
}

/** ggml tensor types used here. */
export enum TensorType {
  F32 = 0,
  F16 = 1,
}

const FIXED_SIZE: Partial<Record<ValueType, number>> = {
  [ValueType.Uint8]: 1,
  [ValueType.Int8]: 1,
  [ValueType.Bool]: 1,
  [ValueType.Uint16]: 2,
  [ValueType.Int16]: 2,
  [ValueType.Uint32]: 4,
  [ValueType.Int32]: 4,
  [ValueType.Float32]: 4,
  [ValueType.Uint64]: 8,
  [ValueType.Int64]: 8,
  [ValueType.Float64]: 8,
};

/** A GGUF file does not follow the format: a CLI refusal (engine tooling), never an HTTP answer. */
export class GgufFormatError extends CliError {}

/** One metadata entry: its type and the encoded value bytes (everything after the type field). */
export interface RawKv {
  key: string;
  type: ValueType;
  raw: Buffer;
}

export interface GgufMetadata {
  version: number;
  tensorCount: number;
  kvs: RawKv[];
}

/** Reads the header and every KV (tensor infos and data are not needed by any caller). */
export function readGgufMetadata(file: Buffer): GgufMetadata {
  let offset = 0;
  const need = (bytes: number): void => {
    if (offset + bytes > file.length) throw new GgufFormatError(`truncated GGUF at byte ${offset}`);
  };
  const u32 = (): number => {
    need(4);
    const value = file.readUInt32LE(offset);
    offset += 4;
    return value;
  };
  const u64 = (): number => {
    need(8);
    const value = Number(file.readBigUInt64LE(offset));
    offset += 8;
    return value;
  };
  const string = (): string => {
    const length = u64();
    need(length);
    const value = file.toString('utf8', offset, offset + length);
    offset += length;
    return value;
  };
  const skipValue = (type: ValueType): void => {
    const fixed = FIXED_SIZE[type];
    if (fixed !== undefined) {
      need(fixed);
      offset += fixed;
    } else if (type === ValueType.String) {
      string();
    } else if (type === ValueType.Array) {
      const elementType = u32() as ValueType;
      const count = u64();
      const elementSize = FIXED_SIZE[elementType];
      if (elementSize !== undefined) {
        need(elementSize * count);
        offset += elementSize * count;
      } else {
        for (let index = 0; index < count; index++) skipValue(elementType);
      }
    } else {
      throw new GgufFormatError(`unknown GGUF value type ${String(type)} at byte ${offset}`);
    }
  };

  if (u32() !== GGUF_MAGIC) throw new GgufFormatError('not a GGUF file (bad magic)');
  const version = u32();
  if (version !== 2 && version !== 3) throw new GgufFormatError(`unsupported GGUF version ${version}`);
  const tensorCount = u64();
  const kvCount = u64();
  const kvs: RawKv[] = [];
  for (let index = 0; index < kvCount; index++) {
    const key = string();
    const type = u32() as ValueType;
    const start = offset;
    skipValue(type);
    kvs.push({ key, type, raw: file.subarray(start, offset) });
  }
  return { version, tensorCount, kvs };
}

// ---------------------------------------------------------------- encoding

function encodeString(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(bytes.length));
  return Buffer.concat([length, bytes]);
}

export function kvString(key: string, value: string): RawKv {
  return { key, type: ValueType.String, raw: encodeString(value) };
}

export function kvUint32(key: string, value: number): RawKv {
  const raw = Buffer.alloc(4);
  raw.writeUInt32LE(value);
  return { key, type: ValueType.Uint32, raw };
}

export function kvFloat32(key: string, value: number): RawKv {
  const raw = Buffer.alloc(4);
  raw.writeFloatLE(value);
  return { key, type: ValueType.Float32, raw };
}

export function readKvUint32(kv: RawKv | undefined): number | undefined {
  return kv?.type === ValueType.Uint32 ? kv.raw.readUInt32LE(0) : undefined;
}

export function readKvString(kv: RawKv | undefined): string | undefined {
  if (kv?.type !== ValueType.String) return undefined;
  const length = Number(kv.raw.readBigUInt64LE(0));
  return kv.raw.toString('utf8', 8, 8 + length);
}

/** Element count of an array KV. */
export function readKvArrayLength(kv: RawKv | undefined): number | undefined {
  return kv?.type === ValueType.Array ? Number(kv.raw.readBigUInt64LE(4)) : undefined;
}

export interface TensorSpec {
  name: string;
  /** ggml order: dims[0] is the innermost (contiguous) dimension. */
  dims: readonly number[];
  type: TensorType;
  /** Little-endian element data, exactly product(dims) × element size bytes. */
  data: Buffer;
}

const align = (value: number): number => Math.ceil(value / ALIGNMENT) * ALIGNMENT;

/** Writes a GGUF v3 file: the KVs as given (caller orders them), then the tensors. */
export function writeGguf(path: string, kvs: readonly RawKv[], tensors: readonly TensorSpec[]): void {
  const header: Buffer[] = [];
  const fixed = Buffer.alloc(24);
  fixed.writeUInt32LE(GGUF_MAGIC, 0);
  fixed.writeUInt32LE(GGUF_VERSION, 4);
  fixed.writeBigUInt64LE(BigInt(tensors.length), 8);
  fixed.writeBigUInt64LE(BigInt(kvs.length), 16);
  header.push(fixed);
  for (const kv of kvs) {
    const type = Buffer.alloc(4);
    type.writeUInt32LE(kv.type);
    header.push(encodeString(kv.key), type, kv.raw);
  }
  let dataOffset = 0;
  for (const tensor of tensors) {
    const elementSize = tensor.type === TensorType.F32 ? 4 : 2;
    const expected = tensor.dims.reduce((product, dim) => product * dim, 1) * elementSize;
    if (tensor.data.length !== expected)
      throw new GgufFormatError(`tensor ${tensor.name}: ${tensor.data.length} bytes, expected ${expected}`);
    const info = Buffer.alloc(4 + 8 * tensor.dims.length + 4 + 8);
    let cursor = info.writeUInt32LE(tensor.dims.length, 0);
    for (const dim of tensor.dims) cursor = info.writeBigUInt64LE(BigInt(dim), cursor);
    cursor = info.writeUInt32LE(tensor.type, cursor);
    info.writeBigUInt64LE(BigInt(dataOffset), cursor);
    header.push(encodeString(tensor.name), info);
    dataOffset = align(dataOffset + tensor.data.length);
  }
  const headerBytes = Buffer.concat(header);
  const descriptor = openSync(path, 'w');
  try {
    writeSync(descriptor, headerBytes);
    writeSync(descriptor, Buffer.alloc(align(headerBytes.length) - headerBytes.length));
    for (const tensor of tensors) {
      writeSync(descriptor, tensor.data);
      writeSync(descriptor, Buffer.alloc(align(tensor.data.length) - tensor.data.length));
    }
  } finally {
    closeSync(descriptor);
  }
}

/** IEEE 754 half precision, round to nearest even; enough range for small random weights. */
const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

export function float32ToFloat16(value: number): number {
  scratchFloat[0] = value;
  const bits = scratchBits[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  let mantissa = bits & 0x7fffff;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    mantissa = (mantissa | 0x800000) >>> (1 - exponent);
    return sign | ((mantissa + 0x1000) >>> 13);
  }
  if (exponent >= 0x1f) return sign | 0x7c00;
  const rounded = (exponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  return sign | (remainder > 0x1000 || (remainder === 0x1000 && (rounded & 1) === 1) ? rounded + 1 : rounded);
}

/** The strings of an array-of-strings KV (e.g. `tokenizer.ggml.tokens`). */
export function readKvStringArray(kv: RawKv | undefined): string[] | undefined {
  if (kv?.type !== ValueType.Array || kv.raw.readUInt32LE(0) !== ValueType.String) return undefined;
  const count = Number(kv.raw.readBigUInt64LE(4));
  const values: string[] = [];
  let offset = 12;
  for (let index = 0; index < count; index++) {
    const length = Number(kv.raw.readBigUInt64LE(offset));
    values.push(kv.raw.toString('utf8', offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return values;
}
