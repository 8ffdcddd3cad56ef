// Columnar storage behind Bm25Index: no object per document or per term, only typed arrays.
//   slots     key (f64), length (u32), live (u8), start (u32) into the forward pool — one row per indexed document
//   forward   termId (u32) + tf (u16) per distinct term of each slot, slots back to back (deletes, PRF, snapshots)
//   main      CSR inverted index built in bulk from the forward pool: offsets (u32 per term) → slot (u32) + tf (u16)
//   tail      postings of slots added since the last bulk build, as short per-term JS arrays
// The tail is folded into main when it passes a quarter of main (amortised O(1) per posting); a build that also drops
// deleted slots renumbers them (compaction). About 12 bytes per (document, distinct term) pair plus ~17 bytes per
// document, against ~50 for the same pair as JS arrays of numbers.

export type TypedColumn = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

/** `array` when it holds `length` elements, else a copy at least twice as large. */
export function ensureCapacity<T extends TypedColumn>(array: T, length: number): T {
  if (length <= array.length) return array;
  const grown = new (array.constructor as new (size: number) => T)(Math.max(length, array.length * 2, 16));
  (grown as Uint8Array).set(array as unknown as ArrayLike<number>);
  return grown;
}

/** tf is stored in 16 bits: a term repeated more than 65,535 times in one chunk counts 65,535 times. */
export const MAX_TF = 0xffff;
const NO_LENGTH = 0xffffffff;
const MIN_TAIL_POSTINGS = 1 << 16;

export interface PostingsView {
  slots: ArrayLike<number>;
  tfs: ArrayLike<number>;
}

export class Bm25Postings {
  slotCount = 0;
  slotKeys: Float64Array = new Float64Array(0);
  slotLengths: Uint32Array = new Uint32Array(0);
  slotLive: Uint8Array = new Uint8Array(0);
  /** Forward entries of slot s are [slotStart[s], slotStart[s + 1]). */
  private slotStart: Uint32Array = new Uint32Array(1);
  private forwardTerms: Uint32Array = new Uint32Array(0);
  private forwardTfs: Uint16Array = new Uint16Array(0);
  private forwardLength = 0;

  termCount = 0;
  /** Live documents containing the term. */
  termDf: Int32Array = new Int32Array(0);
  /** Largest tf and shortest document in the term's postings (never lowered by deletes: still valid bounds). */
  termMaxTf: Uint16Array = new Uint16Array(0);
  termMinLength: Uint32Array = new Uint32Array(0);

  /** Main postings of term t (t < mainTermCount) are [mainOffsets[t], mainOffsets[t + 1]) of mainSlots / mainTfs. */
  mainOffsets: Uint32Array = new Uint32Array(1);
  mainTermCount = 0;
  mainSlots: Uint32Array = new Uint32Array(0);
  mainTfs: Uint16Array = new Uint16Array(0);
  /** Flattened [slot, tf, slot, tf, …] per term for slots added after the last bulk build. */
  readonly tail = new Map<number, number[]>();
  private tailPostings = 0;
  readonly slotOfKey = new Map<number, number>();
  deadCount = 0;

  get postingCount(): number {
    return this.forwardLength;
  }

  addTerm(): number {
    const termId = this.termCount;
    this.termCount += 1;
    this.termDf = ensureCapacity(this.termDf, this.termCount);
    this.termMaxTf = ensureCapacity(this.termMaxTf, this.termCount);
    this.termMinLength = ensureCapacity(this.termMinLength, this.termCount);
    this.termMinLength[termId] = NO_LENGTH;
    return termId;
  }

  /** Appends a live slot; `termIds` distinct, `tfs` parallel. Postings go to the tail unless `bulk` (build later). */
  appendSlot(key: number, length: number, termIds: ArrayLike<number>, tfs: ArrayLike<number>, bulk = false): number {
    const slot = this.slotCount;
    this.slotCount += 1;
    this.slotKeys = ensureCapacity(this.slotKeys, this.slotCount);
    this.slotLengths = ensureCapacity(this.slotLengths, this.slotCount);
    this.slotLive = ensureCapacity(this.slotLive, this.slotCount);
    this.slotStart = ensureCapacity(this.slotStart, this.slotCount + 1);
    this.slotKeys[slot] = key;
    this.slotLengths[slot] = length;
    this.slotLive[slot] = 1;
    const start = this.forwardLength;
    this.forwardLength += termIds.length;
    this.forwardTerms = ensureCapacity(this.forwardTerms, this.forwardLength);
    this.forwardTfs = ensureCapacity(this.forwardTfs, this.forwardLength);
    for (let i = 0; i < termIds.length; i += 1) {
      const termId = termIds[i] as number;
      const tf = Math.min(MAX_TF, tfs[i] as number);
      this.forwardTerms[start + i] = termId;
      this.forwardTfs[start + i] = tf;
      this.termDf[termId] = (this.termDf[termId] as number) + 1;
      if (tf > (this.termMaxTf[termId] as number)) this.termMaxTf[termId] = tf;
      if (length < (this.termMinLength[termId] as number)) this.termMinLength[termId] = length;
      if (!bulk) {
        let postings = this.tail.get(termId);
        if (postings === undefined) {
          postings = [];
          this.tail.set(termId, postings);
        }
        postings.push(slot, tf);
      }
    }
    this.slotStart[slot + 1] = this.forwardLength;
    this.slotOfKey.set(key, slot);
    if (!bulk) {
      this.tailPostings += termIds.length;
      if (this.tailPostings > Math.max(MIN_TAIL_POSTINGS, (this.forwardLength - this.tailPostings) >> 2))
        this.build(false);
    }
    return slot;
  }

  /** Marks a slot dead and lowers its terms' df; returns its length. */
  kill(slot: number): number {
    this.slotLive[slot] = 0;
    this.slotOfKey.delete(this.slotKeys[slot] as number);
    for (let i = this.slotStart[slot] as number; i < (this.slotStart[slot + 1] as number); i += 1) {
      const termId = this.forwardTerms[i] as number;
      this.termDf[termId] = (this.termDf[termId] as number) - 1;
    }
    this.deadCount += 1;
    return this.slotLengths[slot] as number;
  }

  /** Calls `visit(termId, tf)` for each distinct term of a slot. */
  forEachTerm(slot: number, visit: (termId: number, tf: number) => void): void {
    for (let i = this.slotStart[slot] as number; i < (this.slotStart[slot + 1] as number); i += 1) {
      visit(this.forwardTerms[i] as number, this.forwardTfs[i] as number);
    }
  }

  /** The postings of a term as slot-ordered arrays (views of the main arrays when the tail has none). */
  postingsOf(termId: number): PostingsView {
    const from = termId < this.mainTermCount ? (this.mainOffsets[termId] as number) : 0;
    const to = termId < this.mainTermCount ? (this.mainOffsets[termId + 1] as number) : 0;
    const mainSlots = this.mainSlots.subarray(from, to);
    const mainTfs = this.mainTfs.subarray(from, to);
    const tail = this.tail.get(termId);
    if (tail === undefined) return { slots: mainSlots, tfs: mainTfs };
    const slots = new Uint32Array(mainSlots.length + tail.length / 2);
    const tfs = new Uint16Array(slots.length);
    slots.set(mainSlots);
    tfs.set(mainTfs);
    for (let i = 0; i < tail.length; i += 2) {
      slots[mainSlots.length + i / 2] = tail[i] as number;
      tfs[mainSlots.length + i / 2] = tail[i + 1] as number;
    }
    return { slots, tfs };
  }

  /** Rebuilds the main inverted index from the forward pool; with `dropDead`, first removes dead slots (renumbering). */
  build(dropDead: boolean): void {
    if (dropDead && this.deadCount > 0) this.dropDeadSlots();
    const counts = new Uint32Array(this.termCount + 1);
    for (let i = 0; i < this.forwardLength; i += 1) {
      const next = (this.forwardTerms[i] as number) + 1;
      counts[next] = (counts[next] as number) + 1;
    }
    for (let t = 0; t < this.termCount; t += 1) counts[t + 1] = (counts[t + 1] as number) + (counts[t] as number);
    const slots = new Uint32Array(this.forwardLength);
    const tfs = new Uint16Array(this.forwardLength);
    const fill = counts.slice(0, this.termCount);
    for (let slot = 0; slot < this.slotCount; slot += 1) {
      for (let i = this.slotStart[slot] as number; i < (this.slotStart[slot + 1] as number); i += 1) {
        const termId = this.forwardTerms[i] as number;
        const at = fill[termId] as number;
        slots[at] = slot;
        tfs[at] = this.forwardTfs[i] as number;
        fill[termId] = at + 1;
      }
    }
    this.mainOffsets = counts;
    this.mainTermCount = this.termCount;
    this.mainSlots = slots;
    this.mainTfs = tfs;
    this.tail.clear();
    this.tailPostings = 0;
  }

  /** Live slots as parallel arrays (what a snapshot stores); views when nothing is dead. */
  liveColumns(): {
    keys: Float64Array;
    lengths: Uint32Array;
    starts: Uint32Array;
    termIds: Uint32Array;
    tfs: Uint16Array;
  } {
    if (this.deadCount === 0) {
      return {
        keys: this.slotKeys.subarray(0, this.slotCount),
        lengths: this.slotLengths.subarray(0, this.slotCount),
        starts: this.slotStart.subarray(0, this.slotCount + 1),
        termIds: this.forwardTerms.subarray(0, this.forwardLength),
        tfs: this.forwardTfs.subarray(0, this.forwardLength),
      };
    }
    const live = this.slotCount - this.deadCount;
    const keys = new Float64Array(live);
    const lengths = new Uint32Array(live);
    const starts = new Uint32Array(live + 1);
    let entries = 0;
    for (let slot = 0; slot < this.slotCount; slot += 1) {
      if (this.slotLive[slot] === 1) entries += (this.slotStart[slot + 1] as number) - (this.slotStart[slot] as number);
    }
    const termIds = new Uint32Array(entries);
    const tfs = new Uint16Array(entries);
    let row = 0;
    let at = 0;
    for (let slot = 0; slot < this.slotCount; slot += 1) {
      if (this.slotLive[slot] !== 1) continue;
      const from = this.slotStart[slot] as number;
      const to = this.slotStart[slot + 1] as number;
      keys[row] = this.slotKeys[slot] as number;
      lengths[row] = this.slotLengths[slot] as number;
      termIds.set(this.forwardTerms.subarray(from, to), at);
      tfs.set(this.forwardTfs.subarray(from, to), at);
      at += to - from;
      row += 1;
      starts[row] = at;
    }
    return { keys, lengths, starts, termIds, tfs };
  }

  private dropDeadSlots(): void {
    const columns = this.liveColumns();
    const live = columns.keys.length;
    this.slotKeys = columns.keys;
    this.slotLengths = columns.lengths;
    this.slotLive = new Uint8Array(live).fill(1);
    this.slotStart = columns.starts;
    this.forwardTerms = columns.termIds;
    this.forwardTfs = columns.tfs;
    this.forwardLength = columns.termIds.length;
    this.slotCount = live;
    this.deadCount = 0;
    this.slotOfKey.clear();
    for (let slot = 0; slot < live; slot += 1) this.slotOfKey.set(this.slotKeys[slot] as number, slot);
    this.termMaxTf.fill(0);
    this.termMinLength.fill(NO_LENGTH);
    for (let slot = 0; slot < live; slot += 1) {
      const length = this.slotLengths[slot] as number;
      for (let i = this.slotStart[slot] as number; i < (this.slotStart[slot + 1] as number); i += 1) {
        const termId = this.forwardTerms[i] as number;
        const tf = this.forwardTfs[i] as number;
        if (tf > (this.termMaxTf[termId] as number)) this.termMaxTf[termId] = tf;
        if (length < (this.termMinLength[termId] as number)) this.termMinLength[termId] = length;
      }
    }
  }
}
