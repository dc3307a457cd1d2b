/**
 * Names the custom error a call to one of the system's contracts reverted with. ethers buries revert data at different
 * depths depending on the provider (JSON-RPC error, `CALL_EXCEPTION`, nested `info.error`), so the search walks every
 * wrapper. One decoder for every contract (the marketplace with its escrow and channel modes, the token and the DAO) and every caller: the SDK, the
 * CLI tasks and the dashboard. Browser-safe.
 */
import { Interface } from "ethers";

import { AITBCGovernor__factory } from "../../typechain-types/factories/governance/AITBCGovernor__factory.js";
import { AITBCTimelock__factory } from "../../typechain-types/factories/governance/AITBCTimelock__factory.js";
import { JobChannels__factory } from "../../typechain-types/factories/market/JobChannels__factory.js";
import { JobEscrow__factory } from "../../typechain-types/factories/market/JobEscrow__factory.js";
import { ModelRegistry__factory } from "../../typechain-types/factories/market/ModelRegistry__factory.js";
import { ProviderRegistry__factory } from "../../typechain-types/factories/market/ProviderRegistry__factory.js";
import { AITBCToken__factory } from "../../typechain-types/factories/token/AITBCToken__factory.js";

let interfaces: Interface[] | undefined;

function errorInterfaces(): Interface[] {
  interfaces ??= [
    JobEscrow__factory.createInterface(),
    JobChannels__factory.createInterface(),
    ProviderRegistry__factory.createInterface(),
    ModelRegistry__factory.createInterface(),
    AITBCToken__factory.createInterface(),
    AITBCGovernor__factory.createInterface(),
    AITBCTimelock__factory.createInterface(),
    new Interface(["error Error(string)"]),
  ];
  return interfaces;
}

function revertData(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const walk = (e: unknown): string | undefined => {
    if (typeof e !== "object" || e === null || seen.has(e)) return undefined;
    seen.add(e);
    const o = e as Record<string, unknown>;
    if (typeof o.data === "string" && /^0x[0-9a-fA-F]{8}/.test(o.data)) return o.data;
    for (const key of ["data", "error", "info", "cause"]) {
      const found = walk(o[key]);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return walk(error);
}

/** A decoded contract error: `name` to match on, `text` with its arguments for people. */
export interface ContractRevert {
  name: string;
  text: string;
}

/**
 * The custom error a call reverted with (`JobEscrowUnexpectedStatus(3, 2)`, `GovernorUnexpectedProposalState(…)`),
 * when one of the system's contracts defines it; `UnknownError` for revert data none declares; `undefined` when the
 * failure carries no revert data (network errors, for instance).
 */
export function describeContractRevert(error: unknown): ContractRevert | undefined {
  const data = revertData(error);
  if (data === undefined) return undefined;
  for (const iface of errorInterfaces()) {
    try {
      const parsed = iface.parseError(data);
      if (parsed !== null) return { name: parsed.name, text: `${parsed.name}(${parsed.args.toArray().map(String).join(", ")})` };
    } catch {
      // another contract's error: try the next interface
    }
  }
  return { name: "UnknownError", text: `unknown error ${data.slice(0, 10)}` };
}

