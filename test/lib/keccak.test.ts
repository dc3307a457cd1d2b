import { keccak_256 } from "@noble/hashes/sha3.js";
import { expect } from "chai";

import { isAitbcError } from "../../lib/errors.js";
import {
  doubleKeccak256_224,
  keccak256,
  keccak256_224,
  keccak256_32,
  keccak256_64,
  keccak256Into,
  keccak256SortedPair,
} from "../../lib/keccak.js";
import { toHex } from "../../lib/receipts/encoding.js";

/** Deterministic xorshift32 bytes, so a failure reproduces. */
function rng(seed: number): { bytes: (n: number) => Uint8Array; int: (below: number) => number } {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  return {
    bytes: (n) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = next() & 0xff;
      return out;
    },
    int: (below) => next() % below,
  };
}

const utf8 = (text: string) => new TextEncoder().encode(text);

/**
 * Runs `hash` on a message placed at a random offset of a larger buffer, with the digest written at a random offset
 * of a canary-filled buffer, and checks the digest against noble and that no byte outside it was touched.
 */
function checkSized(
  size: number,
  hash: (src: Uint8Array, srcOffset: number, dst: Uint8Array, dstOffset: number) => void,
  expected: (message: Uint8Array) => Uint8Array,
  seed: number,
  rounds: number,
): void {
  const r = rng(seed);
  for (let k = 0; k < rounds; k++) {
    const srcOffset = r.int(48);
    const src = r.bytes(srcOffset + size + r.int(16));
    const message = src.slice(srcOffset, srcOffset + size);
    const dstOffset = r.int(40);
    const dst = new Uint8Array(dstOffset + 32 + r.int(8)).fill(0xa5);
    hash(src, srcOffset, dst, dstOffset);
    expect(toHex(dst.subarray(dstOffset, dstOffset + 32)), `size ${size}, case ${k}`).to.equal(toHex(expected(message)));
    expect(dst.subarray(0, dstOffset).every((b) => b === 0xa5)).to.equal(true);
    expect(dst.subarray(dstOffset + 32).every((b) => b === 0xa5)).to.equal(true);
    expect(toHex(src.subarray(srcOffset, srcOffset + size))).to.equal(toHex(message));
  }
}

const expectRange = (run: () => void) => expect(run).to.throw().that.satisfies((e: unknown) => isAitbcError(e, "KECCAK_RANGE"));

describe("lib/keccak", () => {
  it("matches the published keccak-256 vectors", () => {
    const vectors: [string, string][] = [
      ["", "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"],
      ["abc", "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"],
      ["The quick brown fox jumps over the lazy dog", "0x4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15"],
    ];
    for (const [text, digest] of vectors) {
      expect(toHex(keccak256(utf8(text))), JSON.stringify(text)).to.equal(digest);
      expect(toHex(keccak_256(utf8(text)))).to.equal(digest);
    }
  });

  it("hashes 32-byte messages like noble", () => {
    checkSized(32, keccak256_32, keccak_256, 32, 3000);
  });

  it("hashes 64-byte messages like noble", () => {
    checkSized(64, keccak256_64, keccak_256, 64, 3000);
  });

  it("hashes 224-byte messages like noble", () => {
    checkSized(224, keccak256_224, keccak_256, 224, 3000);
  });

  it("double-hashes 224-byte messages like noble applied twice", () => {
    checkSized(224, doubleKeccak256_224, (m) => keccak_256(keccak_256(m)), 2224, 2000);
  });

  it("hashes sorted pairs like noble over min ‖ max, whatever the argument order", () => {
    const r = rng(6464);
    const check = (x: Uint8Array, y: Uint8Array) => {
      const [lo, hi] = Buffer.compare(x, y) <= 0 ? [x, y] : [y, x];
      const want = toHex(keccak_256(new Uint8Array([...lo, ...hi])));
      const a = new Uint8Array(40);
      const b = new Uint8Array(40);
      a.set(x, 3);
      b.set(y, 8);
      const out = new Uint8Array(32);
      keccak256SortedPair(a, 3, b, 8, out, 0);
      expect(toHex(out)).to.equal(want);
      keccak256SortedPair(b, 8, a, 3, out, 0);
      expect(toHex(out)).to.equal(want);
    };
    for (let k = 0; k < 2000; k++) check(r.bytes(32), r.bytes(32));
    // Nodes that differ only late, in one byte's low bit, and equal nodes.
    for (let k = 0; k < 200; k++) {
      const x = r.bytes(32);
      const y = x.slice();
      y[31 - r.int(4)] ^= 1;
      check(x, y);
      check(x, x.slice());
    }
  });

  it("hashes the sorted pair of two nodes of one buffer into a third node in place", () => {
    const r = rng(99);
    const nodes = r.bytes(3 * 32);
    const left = nodes.slice(32, 64);
    const right = nodes.slice(64, 96);
    const [lo, hi] = Buffer.compare(left, right) <= 0 ? [left, right] : [right, left];
    keccak256SortedPair(nodes, 32, nodes, 64, nodes, 0);
    expect(toHex(nodes.subarray(0, 32))).to.equal(toHex(keccak_256(new Uint8Array([...lo, ...hi]))));
  });

  it("writes over its own input when asked to", () => {
    const r = rng(7);
    for (const [size, hash] of [
      [32, keccak256_32],
      [64, keccak256_64],
      [224, keccak256_224],
    ] as const) {
      const buffer = r.bytes(size + 10);
      const want = toHex(keccak_256(buffer.subarray(5, 5 + size)));
      hash(buffer, 5, buffer, 5);
      expect(toHex(buffer.subarray(5, 37))).to.equal(want);
    }
    const buffer = r.bytes(300);
    const want = toHex(keccak_256(buffer.subarray(1, 281)));
    keccak256Into(buffer, 1, 280, buffer, 1);
    expect(toHex(buffer.subarray(1, 33))).to.equal(want);
  });

  it("hashes every length from 0 to 700 and random lengths up to 5,000 like noble", () => {
    const r = rng(4242);
    const lengths = [...Array.from({ length: 701 }, (_, i) => i), ...Array.from({ length: 300 }, () => r.int(5001))];
    for (const length of lengths) {
      const srcOffset = r.int(20);
      const src = r.bytes(srcOffset + length + r.int(20));
      const message = src.slice(srcOffset, srcOffset + length);
      const dst = new Uint8Array(50);
      keccak256Into(src, srcOffset, length, dst, 9);
      expect(toHex(dst.subarray(9, 41)), `length ${length}`).to.equal(toHex(keccak_256(message)));
      expect(toHex(keccak256(message))).to.equal(toHex(keccak_256(message)));
    }
  });

  it("is not disturbed by interleaving the specialised and the general paths", () => {
    // All paths share one state: a hash must not depend on what ran before it.
    const r = rng(31337);
    const messages = Array.from({ length: 200 }, () => r.bytes([32, 64, 224, r.int(400)][r.int(4)]));
    const out = new Uint8Array(32);
    for (const m of messages) {
      if (m.length === 32) keccak256_32(m, 0, out, 0);
      else if (m.length === 64) keccak256_64(m, 0, out, 0);
      else if (m.length === 224) keccak256_224(m, 0, out, 0);
      else keccak256Into(m, 0, m.length, out, 0);
      expect(toHex(out)).to.equal(toHex(keccak_256(m)));
    }
  });

  it("refuses ranges outside their buffers with KECCAK_RANGE", () => {
    const src = new Uint8Array(256);
    const dst = new Uint8Array(32);
    expectRange(() => keccak256_32(src, 225, dst, 0));
    expectRange(() => keccak256_32(src, -1, dst, 0));
    expectRange(() => keccak256_32(src, 0.5, dst, 0));
    expectRange(() => keccak256_32(src, 0, dst, 1));
    expectRange(() => keccak256_64(src, 193, dst, 0));
    expectRange(() => keccak256_224(src, 33, dst, 0));
    expectRange(() => doubleKeccak256_224(src, 0, new Uint8Array(31), 0));
    expectRange(() => keccak256SortedPair(src, 0, new Uint8Array(31), 0, dst, 0));
    expectRange(() => keccak256SortedPair(new Uint8Array(31), 0, src, 0, dst, 0));
    expectRange(() => keccak256Into(src, 0, 257, dst, 0));
    expectRange(() => keccak256Into(src, 0, -1, dst, 0));
    expectRange(() => keccak256Into(src, 0, Number.NaN, dst, 0));
    expectRange(() => keccak256Into(src, 0, 32, dst, Number.NaN));
    // The boundaries themselves are fine.
    keccak256_32(src, 224, dst, 0);
    keccak256_224(src, 32, dst, 0);
    keccak256Into(src, 256, 0, dst, 0);
    expect(toHex(dst)).to.equal(toHex(keccak_256(new Uint8Array(0))));
  });
});
