import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

import { projectAction } from "../shared/action.js";

// Definitions only: each action (and the contract bindings it needs) is imported lazily, so the config loads even
// before the first build has generated the typechain bindings.

const FROM = "Account to act for: an index into the node's accounts (0, 1, …) or one of their addresses (default: the first)";
const JOB_ID = "Required. Job id, as printed by `job:submit` (1, 2, 3, …)";
const JSON_FLAG = "Print the result as JSON (amounts in base units, units in milli-units)";

export const marketTasks = [
  task("rates", "Show the rate card: every model with its id, unit, rate in AITBC per unit and whether new jobs may use it")
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./rates.js")))
    .build(),

  task(
    "provider:register",
    "Register as a compute provider (or update an existing registration): creates an Ed25519 receipt key file if there is none, approves the bond and registers the key and models",
  )
    .addOption({ name: "models", description: "Required for a new registration. Comma-separated model names to serve, e.g. llama3.2,codellama (see `rates`)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "bond", description: "Bond in AITBC, e.g. 100 (default: the registry's minimum for a new registration; for an update, tops the bond up to this)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "keyFile", description: "Receipt key file (created with mode 0600 if missing; default .aitbc/keys/<network>/<address>.ed25519.json)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "rotateKey", description: "Replace a different receipt key already registered: receipts it signed stay verifiable for the time it was registered, later ones must carry the new key" })
    .addOption({ name: "from", description: FROM, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./provider-register.js")))
    .build(),

  task(
    "provider:endpoint",
    "Publish where clients reach your relayer and the X25519 key private prompts are sealed to (creates the encryption key file if there is none)",
  )
    .addOption({ name: "url", description: "The relayer's base URL as clients reach it, e.g. https://miner.example.org:8788 (http:// or https://, at most 256 bytes)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "encryptionKeyFile", description: "X25519 key file (created with mode 0600 if missing; default .aitbc/keys/<network>/<address>.x25519.json)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "clear", description: "Withdraw the endpoint instead" })
    .addOption({ name: "from", description: FROM, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./provider-endpoint.js")))
    .build(),

  task("provider:status", "Show a provider: receipt key, models, bond and unbonding, record, and pending/withdrawable earnings")
    .addOption({ name: "address", description: "Provider address (default: the --from account)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "from", description: FROM, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./provider-status.js")))
    .build(),

  task(
    "job:submit",
    "Create a compute job: checks the providers' offers, seals the prompt (private by default), escrows its maximum price (permit signature, or approve), then prints the job id",
  )
    .addOption({ name: "model", description: "Required. Model name from the rate card (see `rates`)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "prompt", description: "Prompt text (or use --prompt-file)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "promptFile", description: "File whose bytes are the prompt (at most 64 KiB)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "maxUnits", description: "Required. Largest job size in gpu_seconds, e.g. 2.5 (at most 3 decimals); the escrow covers this", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "provider", description: "Only this provider may accept the job (default: any provider serving the model)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "deadline", description: "Seconds from now (3600) or an ISO time (2026-12-01T12:00:00Z) by which it must be settled (default: 3600)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "approve", description: "Use approve + createJob even when the token supports a permit signature" })
    .addFlag({ name: "public", description: "Send the prompt in the clear (readable by anyone in calldata and the JobCreated event, for ever) and get the result unencrypted; without it the prompt is sealed to the provider(s) and the result to you" })
    .addFlag({ name: "force", description: "Skip the providers' offers: escrow even if no relayer says it will run the job (the chain's own checks still apply)" })
    .addOption({ name: "from", description: FROM, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./job-submit.js")))
    .build(),

  task(
    "channel:deposit",
    "Open or top up a prepaid channel to a provider (channel job mode: jobs go straight to its relayer, paid by signed vouchers); approves the exact amount first when needed",
  )
    .addOption({ name: "provider", description: "Required. The provider the channel is with (see `providers`)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "amount", description: "Required. AITBC to put in, e.g. 50", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "client", description: "Fund this client's channel instead of your own (only the client can take it back)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "from", description: FROM, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./channel-deposit.js")))
    .build(),

  task("channel:status", "Show a channel: balance, what was paid so far, the requests covered and any pending withdrawal")
    .addOption({ name: "provider", description: "Required. The provider the channel is with", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "client", description: "The channel's client (default: the --from account)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "from", description: FROM, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./channel-status.js")))
    .build(),

  task(
    "channel:withdraw",
    "Take a channel's balance back in two steps: the first run starts the withdrawal delay (the provider can still claim until it ends), a run after it pays the balance",
  )
    .addOption({ name: "provider", description: "Required. The provider the channel is with", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "cancel", description: "Call a pending withdrawal off and keep using the channel" })
    .addOption({ name: "from", description: FROM, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./channel-withdraw.js")))
    .build(),

  task(
    "job:status",
    "Show a job: status, parties, rate, escrow, deadline, once settled its units, price, batch and dispute window, and what the provider's relayer says (running, refused and why, given back)",
  )
    .addOption({ name: "id", description: JOB_ID, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "relayer", description: "Ask this relayer API URL about the job (default: the registered service URL of the job's provider, or of every provider serving the model for an open job)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./job-status.js")))
    .build(),

  task("job:result", "Fetch a job's result from its provider's relayer, check it against the signed receipt's result_hash, open it when private, and print it (or write it to --out)")
    .addOption({ name: "id", description: JOB_ID, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "out", description: "Write the result's bytes to this file instead of printing them (an existing file is kept unless --force)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "force", description: "Overwrite the --out file if it exists" })
    .addOption({ name: "relayer", description: "Fetch from this relayer API URL (default: the registered service URL of the job's provider)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "from", description: "Account whose result key opens a private result (default: the job's client, when the network can sign for it)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./job-result.js")))
    .build(),

  task("providers", "List the registered providers: models, endpoint (service URL, encryption key), and whether their relayer's offer answers, with its limits and health")
    .addOption({ name: "model", description: "Only providers serving this model (see `rates`)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./providers.js")))
    .build(),

  task("job:cancel", "Cancel your Open job before a provider accepts it; the whole escrow comes back at once")
    .addOption({ name: "id", description: JOB_ID, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "from", description: FROM, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./job-cancel.js")))
    .build(),

  task("job:reclaim", "Refund the whole escrow of an Open or Accepted job whose deadline has passed (anyone may call; the client is paid)")
    .addOption({ name: "id", description: JOB_ID, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "from", description: FROM, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./job-reclaim.js")))
    .build(),

  task("job:dispute", "Dispute your Settled job while its batch's dispute window is open; the provider's earnings are held for the DAO")
    .addOption({ name: "id", description: JOB_ID, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "from", description: FROM, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./job-dispute.js")))
    .build(),

  task("withdraw", "Withdraw your balance in the escrow (client refunds, provider earnings); releases your settled batches whose dispute window has passed first")
    .addOption({ name: "from", description: FROM, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./withdraw.js")))
    .build(),
];
