import { readFile } from "node:fs/promises";

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { AitbcError } from "../../lib/errors.js";
import { parseAddressOption, parseMaxUnits } from "../../lib/market/jobs.js";
import { nodeHpke } from "../../lib/node/hpke-node.js";
import { encodePrompt, submitJob } from "../../lib/sdk/client.js";
import { runTask } from "../shared/cli.js";
import { aitbc, openMarket, pickSender, txJson } from "./shared.js";

interface SubmitArgs {
  model: string;
  prompt: string;
  promptFile: string;
  maxUnits: string;
  provider: string;
  deadline: string;
  approve: boolean;
  public: boolean;
  force: boolean;
  from: string;
  json: boolean;
}

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
  return encodePrompt(bytes);
}

export default async function jobSubmitAction(args: SubmitArgs, hre: HardhatRuntimeEnvironment) {
  return runTask(hre, args, async (ctx) => {
    if (args.model.trim() === "") throw new AitbcError("MISSING_OPTION", "job:submit needs --model", { hint: "Pick a model from `npx hardhat rates`, e.g. --model llama3.2." });
    parseMaxUnits(args.maxUnits);
    const addressed = args.provider.trim() === "" ? undefined : parseAddressOption(args.provider, "--provider");
    const prompt = await readPrompt(args);
    const m = await openMarket(ctx);
    const sender = await pickSender(ctx, args.from);
    const job = await submitJob(
      sender,
      m.deployment,
      {
        model: args.model.trim(),
        prompt,
        maxUnits: args.maxUnits,
        provider: addressed,
        deadline: args.deadline.trim() === "" ? undefined : args.deadline,
        funding: args.approve ? "approve" : "auto",
        private: !args.public,
        force: args.force,
      },
      { onProgress: (line) => ctx.say(line), hpke: nodeHpke },
    );
    ctx.say(`Created job ${job.jobId}; escrowed ${aitbc(job.escrow)}. Follow it with \`npx hardhat job:status --id ${job.jobId} --network ${ctx.networkName}\`.`);
    ctx.say(
      job.private
        ? `Private: the prompt is sealed to ${job.recipients.join(", ")} and to your result key; fetch the result with \`npx hardhat job:result --id ${job.jobId} --network ${ctx.networkName}\`.`
        : "Public: the prompt is readable by anyone in the transaction and the JobCreated event.",
    );
    return {
      jobId: job.jobId,
      model: job.model,
      modelId: job.modelId,
      client: job.client,
      provider: job.provider,
      maxUnitsMilli: job.maxUnitsMilli,
      rate: job.rate,
      escrow: job.escrow,
      deadline: job.deadline,
      inputHash: job.inputHash,
      txHash: job.txHash,
      private: job.private,
      recipients: job.recipients,
      resultKey: job.resultKey,
      warnings: job.warnings,
      funding: job.funding,
      transactions: job.transactions.map(txJson),
    };
  });
}
