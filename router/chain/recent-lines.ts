// The request log's recent lines, kept off the JavaScript heap: each line is written once, as UTF-8, into the
// current block (a Buffer), and found again through an index from a 30-bit hash of its ids to where it starts. The
// index holds only small integers and the blocks are outside V8's heap, so keeping the last 10,000 requests costs the
// garbage collector nothing per request; as strings in a Map, every request's line would be promoted to the old
// generation and traced there until evicted.
//
// The same bytes are what goes to the file: `unwritten()` hands out the bytes not yet appended, in order.
import { Buffer } from 'node:buffer';

/** Size of a block; a longer line gets a block of its own. */
export const BLOCK_BYTES = 64 * 1024;
/** Blocks are found by sequence number modulo this, so a location stays a small integer (< 2^30). */
const SLOTS = 2 ** 14;

interface Block {
  readonly seq: number;
  readonly bytes: Buffer;
  /** Bytes used. */
  used: number;
  lines: number;
  /** The index keys pointing into this block, removed from the index when the block is dropped. */
  keys: number[];
}

export interface RecentLinesOptions {
  /** Lines kept at least (whole blocks are dropped, so up to a block more). */
  keepLines: number;
  /** Bytes kept at most, whatever `keepLines` says: a log with request bodies has long lines. */
  maxBytes?: number;
}

export class RecentLines {
  private readonly blocks: Block[] = [];
  private readonly index = new Map<number, number>();
  private nextSeq = 0;
  private lines = 0;
  private bytes = 0;
  /** The first byte not yet handed out by `unwritten()`. */
  private writtenSeq = 0;
  private writtenAt = 0;
  private readonly keepLines: number;
  private readonly maxBytes: number;

  constructor(options: RecentLinesOptions) {
    this.keepLines = options.keepLines;
    this.maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  }

  /** Adds a line (ending in a newline) findable under each of `ids`. */
  add(line: string, ids: readonly (string | undefined)[]): void {
    let block = this.blocks.at(-1);
    // A line takes at most 3 bytes per UTF-16 unit; only a line near the end of the block is measured exactly. A
    // block made for one long line takes no other (a location's offset must stay below BLOCK_BYTES).
    if (
      block === undefined ||
      block.bytes.length > BLOCK_BYTES ||
      (block.used + line.length * 3 > BLOCK_BYTES && block.used + Buffer.byteLength(line) > BLOCK_BYTES)
    ) {
      block = this.open(Math.max(BLOCK_BYTES, Buffer.byteLength(line)));
    }
    const start = block.used;
    const written = block.bytes.write(line, start, 'utf8');
    block.used += written;
    block.lines++;
    this.lines++;
    this.bytes += written;
    const location = (block.seq % SLOTS) * BLOCK_BYTES + start;
    for (const id of ids) {
      if (id === undefined) continue;
      const key = hashId(id);
      this.index.set(key, location);
      block.keys.push(key);
    }
  }

  /**
   * The line last added under `id`'s hash, or undefined (never added, or dropped). Another id may share the hash:
   * the caller checks the line is the one it asked for.
   */
  find(id: string): string | undefined {
    const location = this.index.get(hashId(id));
    if (location === undefined) return undefined;
    const block = this.blockAt(Math.floor(location / BLOCK_BYTES));
    if (block === undefined) return undefined;
    const start = location % BLOCK_BYTES;
    const end = block.bytes.indexOf(0x0a, start);
    return block.bytes.toString('utf8', start, end === -1 || end >= block.used ? block.used : end + 1);
  }

  /** The bytes added since the last call, in order (empty when there are none); they are not copied again later. */
  unwritten(): Buffer {
    const pieces: Buffer[] = [];
    for (const block of this.blocks) {
      if (block.seq < this.writtenSeq) continue;
      const from = block.seq === this.writtenSeq ? this.writtenAt : 0;
      if (block.used > from) pieces.push(block.bytes.subarray(from, block.used));
    }
    const last = this.blocks.at(-1);
    if (last !== undefined) {
      this.writtenSeq = last.seq;
      this.writtenAt = last.used;
    }
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }

  private open(size: number): Block {
    const block: Block = { seq: this.nextSeq++, bytes: Buffer.allocUnsafeSlow(size), used: 0, lines: 0, keys: [] };
    this.blocks.push(block);
    this.drop();
    return block;
  }

  /** Drops the oldest blocks the limits no longer need (never one with bytes not yet handed out). */
  private drop(): void {
    while (this.blocks.length > 1) {
      const oldest = this.blocks[0]!;
      const enoughLines = this.lines - oldest.lines >= this.keepLines;
      if (!enoughLines && this.bytes <= this.maxBytes && this.blocks.length < SLOTS) break;
      if (oldest.seq >= this.writtenSeq && (oldest.seq > this.writtenSeq || this.writtenAt < oldest.used)) break;
      this.blocks.shift();
      this.lines -= oldest.lines;
      this.bytes -= oldest.used;
      const slot = oldest.seq % SLOTS;
      for (const key of oldest.keys) {
        const location = this.index.get(key);
        // A key a later line took points elsewhere and stays.
        if (location !== undefined && Math.floor(location / BLOCK_BYTES) === slot) this.index.delete(key);
      }
    }
  }

  private blockAt(slot: number): Block | undefined {
    const first = this.blocks[0];
    if (first === undefined) return undefined;
    // Sequence numbers are consecutive and fewer than SLOTS blocks are kept, so the slot names one of them.
    const offset = (slot - (first.seq % SLOTS) + SLOTS) % SLOTS;
    return this.blocks[offset];
  }
}

/** FNV-1a over the id's UTF-16 units, cut to 30 bits: a small integer, stored in the Map without allocating. */
export function hashId(id: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < id.length; index++) {
    hash ^= id.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash & 0x3fffffff;
}
