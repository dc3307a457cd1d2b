import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

import { PROPOSAL_STATES } from "../../lib/protocol.js";
import { projectAction } from "../shared/action.js";

// Definitions only: each action (and the contract bindings it needs) is imported lazily, so the config loads even
// before the first build has generated the typechain bindings. `lib/protocol.ts` imports nothing.

const FROM = "Account to act for: an index into the node's accounts (0, 1, …) or one of their addresses (default: the first)";
const ID = "Required. Proposal id (1, 2, 3, …; see `dao:list`)";
const JSON_FLAG = "Print the result as JSON (amounts in base units)";

export const daoTasks = [
  task("dao:delegate", "Delegate your AITBC voting power (to yourself by default); votes count only from the next proposal snapshot on")
    .addOption({ name: "to", description: "Delegatee address (default: the sender itself)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "from", description: FROM, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./delegate.js")))
    .build(),

  task(
    "dao:propose",
    "Create a DAO proposal. Kinds: treasury-transfer --to --amount | mint --to --amount | " +
      "set-governance --param voting-delay|voting-period|proposal-threshold|quorum|late-quorum-extension|timelock-delay|guardian --value | " +
      "custom --target --signature --args | set-rate --model --rate | add-model --model --rate [--unit] | disable-model --model | " +
      "set-param --param fee-bps|dispute-window|dispute-timeout|max-deadline-delay|min-bond|unbonding-period --value | " +
      "resolve-dispute --job --share [--slash]. Amounts are whole AITBC (1000, 2.5); durations are seconds or 10m/2h/1d/1w",
  )
    .addOption({ name: "kind", description: "Required. treasury-transfer | mint | set-governance | custom | set-rate | add-model | disable-model | set-param | resolve-dispute", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "description", description: "Required. What the proposal does and why (a `#proposer=<sender>` suffix is appended)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "to", description: "treasury-transfer, mint: recipient address", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "amount", description: "treasury-transfer, mint: whole AITBC, e.g. 1000 or 2.5 (no exponents)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "param", description: "set-governance: the setting to change", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "value", description: "set-governance: the new value (duration, AITBC, percent or address)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "target", description: "custom: contract address or deployment name (e.g. AITBCToken)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "signature", description: "custom: function signature, e.g. \"transfer(address,uint256)\"", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "args", description: "custom: JSON array of arguments (large integers as strings)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "model", description: "set-rate, disable-model: model id or name; add-model: the new model's name", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "rate", description: "set-rate, add-model: AITBC per unit (gpu_seconds), e.g. 2.5", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "unit", description: "add-model: unit type (default gpu_seconds)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "job", description: "resolve-dispute: the disputed job id", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "share", description: "resolve-dispute: provider's share of the price, bps (5000) or percent (50%)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "slash", description: "resolve-dispute: AITBC slashed from the provider's bond (default 0)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "from", description: FROM, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./propose.js")))
    .build(),

  task("dao:vote", "Vote on an Active proposal with the voting power you had at its snapshot")
    .addOption({ name: "id", description: ID, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "support", description: "Required. for | against | abstain", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "reason", description: "Optional reason, recorded on-chain with the vote", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "from", description: FROM, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./vote.js")))
    .build(),

  task("dao:queue", "Queue a Succeeded proposal in the timelock; it becomes executable after the timelock delay")
    .addOption({ name: "id", description: ID, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "from", description: FROM, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./queue.js")))
    .build(),

  task("dao:execute", "Execute a Queued proposal whose timelock delay has passed")
    .addOption({ name: "id", description: ID, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "from", description: FROM, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./execute.js")))
    .build(),

  task("dao:cancel", "Cancel a proposal: its proposer while it is Pending, or the proposal guardian at any time before execution")
    .addOption({ name: "id", description: ID, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "from", description: FROM, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./cancel.js")))
    .build(),

  task("dao:list", "List proposals with their state, deadline and description")
    .addOption({ name: "state", description: `Only proposals in this state (${PROPOSAL_STATES.join(", ")})`, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./list.js")))
    .build(),

  task("dao:show", "Show one proposal: state, snapshot, deadline, tallies against quorum, your voting power, timelock ETA and decoded actions")
    .addOption({ name: "id", description: ID, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "from", description: "Account whose voting power to show (index or address; default: the first)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./show.js")))
    .build(),

  task("dao:advance", "Local chains only: move time to the next actionable point of a proposal (--id), or by --seconds, and mine a block")
    .addOption({ name: "id", description: "Proposal to advance: Pending → voting opens, Active → voting closes, Queued → timelock ETA", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "seconds", description: "Instead of --id: move time forward by this many seconds (or 10m, 2h, 1d)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./advance.js")))
    .build(),
];
