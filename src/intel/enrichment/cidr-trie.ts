/**
 * A binary prefix trie over IPv4 or IPv6 networks, in typed arrays (three int32 per node, no objects),
 * answering "the most specific network containing this address" in at most 32/128 steps.
 * Removal clears a node's value; emptied branches stay until the next rebuild (they cost 12 bytes each).
 */
export class CidrTrie {
  private zero: Int32Array;
  private one: Int32Array;
  private value: Int32Array;
  private nodes = 1;
  private count = 0;

  constructor(readonly bits: 32 | 128, capacity = 1024) {
    this.zero = new Int32Array(capacity);
    this.one = new Int32Array(capacity);
    this.value = new Int32Array(capacity).fill(-1);
  }

  get size(): number {
    return this.count;
  }

  get bytesUsed(): number {
    return this.zero.byteLength * 3;
  }

  /** Sets the value (≥ 0) of network `bytes`/`prefix`; returns the value it replaces, or -1. */
  set(bytes: Uint8Array, prefix: number, value: number): number {
    let node = 0;
    for (let bit = 0; bit < prefix; bit++) {
      const b = (bytes[bit >> 3]! >> (7 - (bit & 7))) & 1;
      const children = b ? this.one : this.zero;
      let next = children[node]!;
      if (next === 0) {
        next = this.allocate();
        (b ? this.one : this.zero)[node] = next;
      }
      node = next;
    }
    const before = this.value[node]!;
    this.value[node] = value;
    if (before < 0) this.count++;
    return before;
  }

  /** Clears network `bytes`/`prefix`; returns the value it held, or -1. */
  delete(bytes: Uint8Array, prefix: number): number {
    const node = this.find(bytes, prefix);
    if (node < 0) return -1;
    const before = this.value[node]!;
    if (before >= 0) this.count--;
    this.value[node] = -1;
    return before;
  }

  /** The value of exactly this network, or -1. */
  get(bytes: Uint8Array, prefix: number): number {
    const node = this.find(bytes, prefix);
    return node < 0 ? -1 : this.value[node]!;
  }

  /** The value of the most specific network containing the address, or -1. */
  longestMatch(bytes: Uint8Array): number {
    let node = 0;
    let best = this.value[0]!;
    for (let bit = 0; bit < this.bits; bit++) {
      const b = (bytes[bit >> 3]! >> (7 - (bit & 7))) & 1;
      node = (b ? this.one : this.zero)[node]!;
      if (node === 0) break;
      const v = this.value[node]!;
      if (v >= 0) best = v;
    }
    return best;
  }

  /** Same for an IPv4 int32 (no byte array needed). */
  longestMatchV4(ip: number): number {
    let node = 0;
    let best = this.value[0]!;
    for (let bit = 0; bit < 32; bit++) {
      node = ((ip >>> (31 - bit)) & 1 ? this.one : this.zero)[node]!;
      if (node === 0) break;
      const v = this.value[node]!;
      if (v >= 0) best = v;
    }
    return best;
  }

  /** Every stored network as [bytes, prefix, value]. */
  *entries(): Generator<[Uint8Array, number, number]> {
    const path = new Uint8Array(this.bits / 8);
    const stack: Array<[node: number, depth: number, bits: Uint8Array]> = [[0, 0, path]];
    while (stack.length) {
      const [node, depth, bytes] = stack.pop()!;
      if (this.value[node]! >= 0) yield [bytes.slice(), depth, this.value[node]!];
      const z = this.zero[node]!;
      const o = this.one[node]!;
      if (z) stack.push([z, depth + 1, bytes.slice()]);
      if (o) {
        const next = bytes.slice();
        next[depth >> 3]! |= 0x80 >> (depth & 7);
        stack.push([o, depth + 1, next]);
      }
    }
  }

  private find(bytes: Uint8Array, prefix: number): number {
    let node = 0;
    for (let bit = 0; bit < prefix; bit++) {
      const b = (bytes[bit >> 3]! >> (7 - (bit & 7))) & 1;
      node = (b ? this.one : this.zero)[node]!;
      if (node === 0) return -1;
    }
    return node;
  }

  private allocate(): number {
    if (this.nodes === this.zero.length) {
      const grow = (a: Int32Array, fill: number): Int32Array => {
        const next = new Int32Array(a.length * 2).fill(fill, a.length);
        next.set(a);
        return next;
      };
      this.zero = grow(this.zero, 0);
      this.one = grow(this.one, 0);
      this.value = grow(this.value, -1);
    }
    return this.nodes++;
  }
}
