import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { runTask } from "../shared/cli.js";
import { providerBatches } from "./provider-status.js";
import { aitbc, chainNow, openMarket, pickSender, providerEntry, send, type SentTx, txJson } from "./shared.js";

interface WithdrawArgs {
  from: string;
  json: boolean;
}

export default async function withdrawAction(args: WithdrawArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    const m = await openMarket(ctx);
    const sender = await pickSender(ctx, args.from);
    const escrow = m.market.escrow.connect(sender);
    const sent: SentTx[] = [];
    const entry = await providerEntry(m, sender.address);
    let released: bigint[] = [];
    if (entry.registered) {
      const now = await chainNow(ctx);
      const ready = (await providerBatches(m, sender.address)).filter((b) => !b.released && now >= b.releasableAt);
      released = ready.map((b) => b.batchId);
      if (released.length > 0) {
        sent.push(
          await send(m, `release ${released.length} settled batch(es)`, {
            estimate: () => escrow.releaseBatches.estimateGas(released),
            send: () => escrow.releaseBatches(released),
          }),
        );
      }
    }
    const balance = await escrow.balanceOf(sender.address);
    if (balance === 0n) {
      throw new AitbcError("NOTHING_TO_WITHDRAW", `${sender.address} has no withdrawable balance in the escrow`, {
        hint: "Client refunds of settled jobs and provider earnings past their dispute window land here; see `provider:status` or `job:status`.",
      });
    }
    sent.push(await send(m, `withdraw ${aitbc(balance)}`, { estimate: () => escrow.withdraw.estimateGas(), send: () => escrow.withdraw() }));
    ctx.say(`Withdrew ${aitbc(balance)} to ${sender.address}.`);
    return { account: sender.address, amount: balance, releasedBatches: released, transactions: sent.map(txJson) };
  });
}
