import { expect } from "chai";
import { keccak256 } from "ethers";
import pino from "pino";

import type { TxSender } from "../../../relayer/adapters/chain/sender.js";
import { Journal } from "../../../relayer/adapters/journal/journal.js";
import { validatePolicyConfig } from "../../../relayer/core/policy.js";
import { Acceptor } from "../../../relayer/app/accept.js";
import type { MarketReader } from "../../../relayer/app/contracts.js";
import { PrivateJobs } from "../../../relayer/app/private.js";
import type { RelayerSettings } from "../../../relayer/app/relayer.js";
import type { Work } from "../../../relayer/app/work.js";

const PROVIDER = "0x00000000000000000000000000000000000000a1";
const ESCROW = "0x00000000000000000000000000000000000000e5";
const NOW_SEC = 1_900_000_000;

/** An acceptor over a real (in-memory) journal; the sender only records what it was asked to send. */
function setUp(maxConcurrentJobs: number) {
  const journal = Journal.open(":memory:");
  const submitted: string[][] = [];
  let nextTx = 1;
  const sender = {
    submit(request: { idempotencyKey: string }) {
      submitted.push(request.idempotencyKey.split(","));
      return { tx: { id: nextTx++ }, created: true };
    },
  } as unknown as TxSender;
  const work: Work = {
    journal,
    sender,
    market: {} as MarketReader,
    settings: { maxAcceptBatch: 200 } as RelayerSettings,
    contracts: { escrow: ESCROW, providerRegistry: ESCROW, modelRegistry: ESCROW },
    chainId: 31337n,
    provider: PROVIDER,
    log: pino({ level: "silent" }),
    now: () => NOW_SEC * 1000,
    chainNow: () => Promise.resolve(NOW_SEC),
    recordError: () => undefined,
    background: () => undefined,
    kick: () => undefined,
  };
  const policy = validatePolicyConfig({
    provider: PROVIDER,
    models: new Map([["llama3.2", { minRate: 0n, maxUnitsMilli: 600_000n }]]),
    maxConcurrentJobs,
    maxJobPrice: null,
    deadlineMarginSeconds: 30,
    maxPromptBytes: 64 * 1024,
    settlementMarginSeconds: 62,
    contextTokens: 2048,
    maxTokens: 64,
  });
  let tokenized = 0;
  const countTokens = (prompt: Uint8Array) => {
    tokenized++;
    return prompt.length + 2;
  };
  const acceptor = new Acceptor(
    work,
    policy,
    { contextTokens: 2048, countTokens },
    new PrivateJobs({ enabled: false, warning: "no key" }, 31337n, ESCROW),
    () => true,
  );
  const seen = (first: number, count: number, deadline = NOW_SEC + 3_600) => {
    for (let i = first; i < first + count; i++) {
      const prompt = new TextEncoder().encode(`prompt ${i}`);
      journal.jobs.recordSeen(
        {
          origin: {
            jobId: BigInt(i),
            model: "llama3.2",
            client: "0x00000000000000000000000000000000000000c1",
            addressedProvider: null,
            maxUnitsMilli: 1_000n,
            rate: 10n ** 18n,
            deadline,
            inputHash: keccak256(prompt),
            createdBlock: 1,
            createdTxHash: `0x${"ab".repeat(32)}`,
          },
          prompt,
        },
        NOW_SEC,
      );
    }
  };
  return { journal, acceptor, submitted, seen, tokenized: () => tokenized };
}

describe("acceptor under a load above capacity", function () {
  it("decides only as many waiting jobs as there are free slots, and none while the slots are full", async function () {
    const { journal, acceptor, submitted, seen, tokenized } = setUp(4);
    seen(1, 500);
    await acceptor.decide();
    // Four slots: the four oldest jobs are taken in one accept; the other 496 were not even tokenized.
    expect(submitted).to.deep.equal([["1", "2", "3", "4"]]);
    expect(tokenized()).to.equal(4);
    expect(acceptor.pendingCount).to.equal(4);
    // More jobs arrive while every slot is taken: a pass reads and decides nothing.
    seen(501, 500);
    await acceptor.decide();
    await acceptor.decide();
    expect(submitted).to.have.length(1);
    expect(tokenized()).to.equal(4);
    // Jobs stay `seen` until their accept lands; the four taken ones are counted through the pending accept.
    expect(journal.metrics().jobsByState.seen).to.equal(1000);
    journal.close();
  });

  it("still refuses what it cannot run when there is room, oldest first, and takes the next jobs in the same pass", async function () {
    const { journal, acceptor, submitted, seen } = setUp(2);
    // Three jobs whose deadline leaves no time to run and settle, then acceptable ones.
    seen(1, 3, NOW_SEC + 10);
    seen(4, 10);
    await acceptor.decide();
    for (const id of [1n, 2n, 3n]) {
      const job = journal.jobs.get(id);
      expect(job?.state).to.equal("refused");
      expect(job?.refusal).to.match(/^DEADLINE_TOO_CLOSE/);
    }
    expect(submitted).to.deep.equal([["4", "5"]]);
    expect(journal.metrics().jobsByState.seen).to.equal(10);
    journal.close();
  });
});
