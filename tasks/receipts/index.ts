import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

import { projectAction } from "../shared/action.js";

// Definitions only: each action (and the contract bindings it needs) is imported lazily, so the config loads even
// before the first build has generated the typechain bindings.

const JSON_FLAG = "Print the result as JSON";
const RELAYER = "Base URL of a provider relayer's API (e.g. http://127.0.0.1:8645) to fetch receipts and proofs from";

export const receiptTasks = [
  task(
    "receipt:verify",
    "Verify receipts (any AITBC receipt: bare, relayer answers, proof bundles, arrays, JSON lines): prints `VALID <file> <receipt_hash> | <layers>` or `INVALID <file>: <reason> [CODE] | <layers>` per receipt, and exits 0 only if all are valid",
  )
    .addVariadicArgument({ name: "files", description: "Receipt files; <file>.proof.json bundles among them are read as the proofs of their receipts" })
    .addOption({ name: "key", description: "Trust this signer key (base64url key_id or 0x hex; several separated by commas) for every receipt", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "onchain", description: "Require the settlement profile, trust only the key the provider registered on-chain, and prove inclusion in an anchored batch (<file>.proof.json, or --relayer)" })
    .addFlag({ name: "embeddedKey", description: "Accept the key inside each receipt: proves only that the file was not altered since that key signed it" })
    .addOption({ name: "attestationKey", description: "Check the receipts' attestations against this coordinator key (base64url or 0x hex; several separated by commas)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "relayer", description: `With --onchain: ${RELAYER}`, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./verify.js")))
    .build(),

  task(
    "receipt:anchor",
    "Anchor signed receipts not yet anchored: settles your still-open accepted jobs with settleBatch and anchors receipts of already settled jobs with anchorRoot, then writes <receipt>.proof.json files",
  )
    .addOption({ name: "dir", description: "Folder of receipt files (*.json); proofs are written next to them", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "fromJournal", description: "A relayer journal (SQLite) to read unanchored receipts from instead of --dir", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "out", description: "With --from-journal: folder for the receipts and proofs (default .aitbc/receipts/<network>)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "dryRun", description: "Check everything and print the batches, but send nothing and write nothing" })
    .addOption({ name: "from", description: "Provider account: an index into the node's accounts or one of their addresses (default: the first)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./anchor.js")))
    .build(),

  task("receipt:show", "Show a job's receipt by receipt id (0x…) or job id: settlement, batch, root and anchoring, and the signed receipt when --relayer is given")
    .addPositionalArgument({ name: "id", description: "Receipt id (0x + 64 hex) or job id (decimal)" })
    .addOption({ name: "relayer", description: RELAYER, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./show.js")))
    .build(),

  task("receipts", "List jobs and their receipts with anchoring status, from chain events (and a relayer's API with --relayer)")
    .addOption({ name: "client", description: "Only jobs of this client address", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "provider", description: "Only jobs taken by this provider address", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "fromBlock", description: "First block to scan (default: the deployment block)", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addOption({ name: "relayer", description: RELAYER, type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
    .addFlag({ name: "json", description: JSON_FLAG })
    .setAction(projectAction(() => import("./list.js")))
    .build(),
];
