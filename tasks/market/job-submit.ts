import { readFile } from "node:fs/promises";

import { Signature } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { formatTimestamp } from "../../lib/governance/amounts.js";
import { parseAddressOption, parseDeadline, parseMaxUnits } from "../../lib/market/jobs.js";
import { findModel, readRateCard } from "../../lib/market/rates.js";
import { escrowFor, milliToUnits } from "../../lib/money.js";
import { runTask } from "../shared/cli.js";
import { aitbc, chainNow, type MarketContext, openMarket, pickSender, send, type SentTx, type Signer, txJson } from "./shared.js";

interface SubmitArgs {
  model: string;
  prompt: string;
  promptFile: string;
  maxUnits: string;
  provider: string;
  deadline: string;
  approve: boolean;
  from: string;
  json: boolean;
}

/** `JobEscrow.MAX_PROMPT_BYTES` */
const MAX_PROMPT_BYTES = 64 * 1024;
const DEFAULT_DEADLINE_SECONDS = 3_600n;
const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

async function readPrompt(args: SubmitArgs): Promise<Uint8Array> {
  const hasText = args.prompt !== "";
  const hasFile = args.promptFile.trim() !== "";
  if (hasText === hasFile) {
    throw new AitbcError("BAD_PROMPT", hasText ? "pass either --prompt or --prompt-file, not both" : "job:submit needs --prompt or --prompt-file", {
      hint: "Give the prompt inline (--prompt \"…\") or from a file (--prompt-file prompt.txt).",
    });
  }
  let bytes: Uint8Array;
  if (hasText) bytes = new TextEncoder().encode(args.prompt);
  else {
    try {
      bytes = new Uint8Array(await readFile(args.promptFile.trim()));
    } catch (cause) {
      throw new AitbcError("BAD_PROMPT", `cannot read --prompt-file ${args.promptFile}: ${(cause as Error).message}`, { hint: "Check the path and its permissions.", cause });
    }
  }
  if (bytes.length === 0 || bytes.length > MAX_PROMPT_BYTES) {
    throw new AitbcError("BAD_PROMPT", `the prompt is ${bytes.length} bytes; the escrow accepts 1 to ${MAX_PROMPT_BYTES}`, { hint: "Shorten the prompt, or host the input and send its address instead." });
  }
  return bytes;
}

/** An EIP-2612 permit signature for `amount`, or `undefined` when the signer cannot produce one. */
async function signPermit(m: MarketContext, sender: Signer, amount: bigint, deadline: bigint): Promise<Signature | undefined> {
  try {
    const token = m.market.token;
    const [domain, nonce] = await Promise.all([token.eip712Domain(), token.nonces(sender.address)]);
    const signature = await sender.signTypedData(
      { name: domain.name, version: domain.version, chainId: domain.chainId, verifyingContract: domain.verifyingContract },
      { Permit: [
        { name: "owner", type: "address" },
        { name: "spender", type: "address" },
        { name: "value", type: "uint256" },
        { name: "nonce", type: "uint256" },
        { name: "deadline", type: "uint256" },
      ] },
      { owner: sender.address, spender: m.addresses.escrow, value: amount, nonce, deadline },
    );
    return Signature.from(signature);
  } catch {
    // Wallets without typed-data signing (some hardware and remote signers) take the approve path instead.
    return undefined;
  }
}

export default async function jobSubmitAction(args: SubmitArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    if (args.model.trim() === "") throw new AitbcError("MISSING_OPTION", "job:submit needs --model", { hint: "Pick a model from `npx hardhat rates`, e.g. --model llama3.2." });
    const maxUnitsMilli = parseMaxUnits(args.maxUnits);
    const addressed = args.provider.trim() === "" ? undefined : parseAddressOption(args.provider, "--provider");
    const prompt = await readPrompt(args);
    const m = await openMarket(ctx);
    const sender = await pickSender(ctx, args.from);
    const model = findModel(await readRateCard(m.market.models), args.model.trim(), { requireEnabled: true });
    const [params, now] = await Promise.all([m.market.escrow.parameters(), chainNow(ctx)]);
    const deadline = parseDeadline(args.deadline.trim() === "" ? DEFAULT_DEADLINE_SECONDS.toString() : args.deadline, now, params.maxDeadlineDelay);
    if (addressed !== undefined && !(await m.market.providers.canServe(addressed, model.id))) {
      throw new AitbcError("PROVIDER_CANNOT_SERVE", `provider ${addressed} cannot take ${model.name} jobs now (not registered, unbonding, under-bonded or not serving it)`, {
        hint: `Check it with \`npx hardhat provider:status --address ${addressed} --network ${ctx.networkName}\`, or leave out --provider.`,
      });
    }
    const escrow = escrowFor(maxUnitsMilli, model.rate);
    const quoted = await m.market.escrow.quote(model.id, maxUnitsMilli);
    if (quoted !== escrow) {
      throw new AitbcError("QUOTE_MISMATCH", `the escrow quotes ${quoted} base units, lib/money.ts computes ${escrow}`, { hint: "The CLI and the deployed escrow disagree on the arithmetic; update the CLI." });
    }
    const token = m.market.token.connect(sender);
    const [balance, allowance] = await Promise.all([token.balanceOf(sender.address), token.allowance(sender.address, m.addresses.escrow)]);
    if (balance < escrow) {
      throw new AitbcError("INSUFFICIENT_BALANCE", `${sender.address} holds ${aitbc(balance)}; this job escrows ${aitbc(escrow)}`, {
        hint: "Fund the account with AITBC, or lower --max-units.",
        details: { balance: balance.toString(), needed: escrow.toString() },
      });
    }
    ctx.say(`Job: ${model.name} (model ${model.id}), up to ${milliToUnits(maxUnitsMilli)} ${model.unitType} at ${aitbc(model.rate)} → escrow ${aitbc(escrow)}`);
    ctx.say(`  deadline ${formatTimestamp(deadline)}${addressed === undefined ? "" : `, only provider ${addressed}`}`);

    const escrowContract = m.market.escrow.connect(sender);
    const providerArg = addressed ?? ZERO_ADDRESS;
    const sent: SentTx[] = [];
    let funding: "allowance" | "permit" | "approve" = "allowance";
    let created: SentTx;
    // The permit only has to survive until the creation is mined; an hour of chain time is ample.
    const permitDeadline = now + 3_600n;
    const permit = allowance >= escrow || args.approve ? undefined : await signPermit(m, sender, escrow, permitDeadline);
    if (permit !== undefined) {
      funding = "permit";
      created = await send(m, "create job (with permit)", {
        estimate: () => escrowContract.createJobWithPermit.estimateGas(model.id, maxUnitsMilli, providerArg, deadline, prompt, permitDeadline, permit.v, permit.r, permit.s),
        send: () => escrowContract.createJobWithPermit(model.id, maxUnitsMilli, providerArg, deadline, prompt, permitDeadline, permit.v, permit.r, permit.s),
      });
    } else {
      if (allowance < escrow) {
        funding = "approve";
        sent.push(
          await send(m, `approve ${aitbc(escrow)} for the escrow`, {
            estimate: () => token.approve.estimateGas(m.addresses.escrow, escrow),
            send: () => token.approve(m.addresses.escrow, escrow),
          }),
        );
      }
      created = await send(m, "create job", {
        estimate: () => escrowContract.createJob.estimateGas(model.id, maxUnitsMilli, providerArg, deadline, prompt),
        send: () => escrowContract.createJob(model.id, maxUnitsMilli, providerArg, deadline, prompt),
      });
    }
    sent.push(created);
    const event = created.receipt.logs
      .map((log) => {
        try {
          return escrowContract.interface.parseLog(log);
        } catch {
          return null;
        }
      })
      .find((parsed) => parsed?.name === "JobCreated");
    if (event === undefined || event === null) {
      throw new AitbcError("TX_FAILED", `the job was created (${created.hash}) but no JobCreated event was found`, { hint: "Check that the deployment file points at the JobEscrow." });
    }
    const jobId = event.args.jobId as bigint;
    ctx.say(`Created job ${jobId}; escrowed ${aitbc(escrow)}. Follow it with \`npx hardhat job:status --id ${jobId} --network ${ctx.networkName}\`.`);
    return {
      jobId,
      model: model.name,
      modelId: model.id,
      client: sender.address,
      provider: addressed ?? null,
      maxUnitsMilli,
      rate: model.rate,
      escrow,
      deadline,
      inputHash: event.args.inputHash as string,
      funding,
      transactions: sent.map(txJson),
    };
  });
}
