/**
 * An RPC transport between the relayer and an in-process chain that can misbehave on cue: stall every call, fail
 * every call, or swallow `eth_sendRawTransaction` (answer with the transaction's hash without forwarding it, as a
 * broken load balancer or a censoring endpoint does). It counts calls so tests can show that nothing reached the chain.
 */
import { keccak256 } from "ethers";

import { ChainError } from "../../../relayer/adapters/chain/errors.js";
import type { RpcTransport } from "../../../relayer/adapters/chain/rpc.js";

export type FaultMode = "none" | "stall" | "down" | "swallow-sends";

export class FaultyTransport implements RpcTransport {
  readonly name = "faulty";
  mode: FaultMode = "none";
  calls = 0;
  swallowed: string[] = [];
  /** Where calls go; swapping it models a node replaced behind the same URL. */
  inner: RpcTransport;

  constructor(inner: RpcTransport) {
    this.inner = inner;
  }

  async send(method: string, params: readonly unknown[], signal: AbortSignal): Promise<unknown> {
    this.calls++;
    if (this.mode === "down") throw new ChainError("RPC_NETWORK", `${method}: connection refused (fault injected)`, { details: { method } });
    if (this.mode === "stall") {
      // Holds the call until the caller's timeout fires, like a node that accepted the connection and went silent.
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
      throw new ChainError("RPC_TIMEOUT", `${method}: no answer in time (fault injected)`, { details: { method } });
    }
    if (this.mode === "swallow-sends" && method === "eth_sendRawTransaction") {
      const raw = String(params[0]);
      this.swallowed.push(raw);
      return keccak256(raw);
    }
    return this.inner.send(method, params, signal);
  }
}
