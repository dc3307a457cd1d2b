/**
 * What the devnet keeps of `hardhat node`'s output in its log: every line without terminal colours, minus the
 * read-only JSON-RPC requests (`eth_blockNumber`, `eth_getLogs`, `eth_call`, …) that the relayer and the dashboard poll
 * several times a second. Transactions, mined blocks, errors and anything unrecognised are kept.
 */

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
const REQUEST = /^([a-z]+_[A-Za-z0-9]+)(?: \(\d+\))?$/;
const READ_ONLY = new Set([
  "eth_blockNumber",
  "eth_call",
  "eth_chainId",
  "eth_estimateGas",
  "eth_feeHistory",
  "eth_gasPrice",
  "eth_getBalance",
  "eth_getBlockByHash",
  "eth_getBlockByNumber",
  "eth_getCode",
  "eth_getLogs",
  "eth_getStorageAt",
  "eth_getTransactionByHash",
  "eth_getTransactionCount",
  "eth_getTransactionReceipt",
  "eth_maxPriorityFeePerGas",
  "net_version",
  "web3_clientVersion",
]);

/** A line filter with state: the details printed under a dropped request are dropped with it. */
export function createNodeLogFilter(): (line: string) => string | undefined {
  let dropping = false;
  return (raw) => {
    const line = raw.replace(ANSI, "");
    const request = REQUEST.exec(line.trim() === line ? line : "");
    if (request !== null) {
      dropping = READ_ONLY.has(request[1]);
      return dropping ? undefined : line;
    }
    // A request's details are indented and end with a blank line.
    if (dropping && (line === "" || /^\s/.test(line))) return undefined;
    dropping = false;
    return line;
  };
}
