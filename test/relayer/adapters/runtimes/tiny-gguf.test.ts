import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { readGgufFileInfo } from "node-llama-cpp";

import {
  TINY_MODEL_NAME,
  ensureTinyGguf,
  generateTinyGguf,
  sha256,
} from "../../../../relayer/adapters/runtimes/tiny-gguf.js";

// Pinned so any change to the generator (and so to every cached model and benchmark baseline) is deliberate.
const DEFAULT_MODEL_SHA256 = "c16f61415d6c6ae80f7ea10e8bd55f6ceccfddc666b556232a7c0633848f4d88";

describe("relayer/adapters/runtimes: tiny random-weight GGUF", function () {
  let dir: string;

  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "aitbc-gguf-"));
  });

  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it("is deterministic and matches the pinned digest", function () {
    const a = generateTinyGguf();
    const b = generateTinyGguf();
    expect(sha256(a)).to.equal(sha256(b));
    expect(sha256(a)).to.equal(DEFAULT_MODEL_SHA256);
    expect(a.byteLength).to.be.within(300_000, 600_000);
  });

  it("depends on the seed", function () {
    expect(sha256(generateTinyGguf({ seed: 7 }))).to.not.equal(DEFAULT_MODEL_SHA256);
    expect(sha256(generateTinyGguf({ seed: 7 }))).to.equal(sha256(generateTinyGguf({ seed: 7 })));
  });

  it("refuses an embedding length that heads cannot split", function () {
    expect(() => generateTinyGguf({ embeddingLength: 66, headCount: 4 })).to.throw(RangeError);
  });

  it("is a GGUF v3 file that an independent reader parses, with the keys llama.cpp needs", async function () {
    const file = await ensureTinyGguf(dir);
    const info = await readGgufFileInfo(file, { readTensorInfo: true, logWarnings: false });
    expect(info.version).to.equal(3);
    const meta = info.metadata;
    expect(meta.general.architecture).to.equal("llama");
    expect(meta.general.name).to.equal(TINY_MODEL_NAME);
    expect(info.architectureMetadata).to.include({
      context_length: 2048,
      embedding_length: 64,
      block_count: 2,
      feed_forward_length: 128,
    });
    expect(meta.tokenizer.ggml.model).to.equal("llama");
    expect(meta.tokenizer.ggml.tokens).to.have.length(260);
    expect(meta.tokenizer.ggml.token_type).to.have.length(260);
    expect(meta.tokenizer.ggml.tokens.slice(0, 4)).to.deep.equal(["<unk>", "<s>", "</s>", "<0x00>"]);
    expect(info.tensorInfo?.map((t) => t.name)).to.include.members([
      "token_embd.weight",
      "output.weight",
      "blk.1.ffn_down.weight",
    ]);
  });

  it("caches: a second call reuses the file, a corrupted file is replaced", async function () {
    const file = await ensureTinyGguf(dir);
    const first = await stat(file);
    expect(await ensureTinyGguf(dir)).to.equal(file);
    expect((await stat(file)).mtimeMs).to.equal(first.mtimeMs);

    await writeFile(file, Buffer.from("truncated"));
    expect(await ensureTinyGguf(dir)).to.equal(file);
    expect(sha256(await readFile(file))).to.equal(DEFAULT_MODEL_SHA256);
  });
});
