/**
 * Typed data of the channel job mode (contracts/market/JobChannels.sol): the EIP-712 domain, the `JobRequest` a client
 * signs and hands to a provider's relayer, and the cumulative `Voucher` that pays for it. The same rules are written
 * out in Solidity in test/fixtures/contracts/Channels.sol; test/lib/sdk/channels.test.ts checks both against the
 * contract.
 */
import { TypedDataEncoder, getAddress, type Signer, type TypedDataDomain } from "ethers";

import { AitbcError } from "../errors.js";
import type { Hex } from "../merkle.js";
import { receiptLeafHash } from "../receipts/leaf.js";

/** The domain name and version JobChannels passes to OpenZeppelin's EIP712. */
export const CHANNELS_DOMAIN_NAME = "AITBC JobChannels";
export const CHANNELS_DOMAIN_VERSION = "1";

/** EIP-712 types of a job request (primary type `JobRequest`). */
export const JOB_REQUEST_TYPES = {
  JobRequest: [
    { name: "client", type: "address" },
    { name: "provider", type: "address" },
    { name: "requestId", type: "uint256" },
    { name: "modelId", type: "uint16" },
    { name: "maxUnitsMilli", type: "uint64" },
    { name: "deadline", type: "uint40" },
    { name: "inputHash", type: "bytes32" },
  ],
};

/** EIP-712 types of a voucher (primary type `Voucher`). */
export const VOUCHER_TYPES = {
  Voucher: [
    { name: "client", type: "address" },
    { name: "provider", type: "address" },
    { name: "cumulativeAmount", type: "uint256" },
    { name: "coveredThrough", type: "uint256" },
  ],
};

/**
 * A job request as signed by the client. `requestId` is the request's position in the channel (1, 2, 3, …, never
 * reused): vouchers pay for the requests up to a position.
 */
export interface ChannelJobRequest {
  client: string;
  provider: string;
  requestId: bigint;
  modelId: number;
  maxUnitsMilli: bigint;
  /** Last timestamp (seconds) at which the provider may anchor the receipt. */
  deadline: bigint;
  /** keccak256 of the prompt or of its encrypted envelope; the receipt's `input_hash` binds the same bytes. */
  inputHash: string;
}

/**
 * "For every request of our channel numbered up to `coveredThrough`, I owe the provider `cumulativeAmount` in all"
 * (base units). A request a redeemed voucher covers can no longer be claimed through the fallback.
 */
export interface Voucher {
  client: string;
  provider: string;
  cumulativeAmount: bigint;
  coveredThrough: bigint;
}

/** A voucher as {@link signVoucher} returns it: the shape `JobChannels.claim` takes (the provider is the caller). */
export interface SignedVoucher {
  client: string;
  cumulativeAmount: bigint;
  coveredThrough: bigint;
  signature: string;
}

/** The EIP-712 domain of the JobChannels deployment at `verifyingContract` on chain `chainId`. */
export function channelsDomain(chainId: bigint, verifyingContract: string): TypedDataDomain {
  return { name: CHANNELS_DOMAIN_NAME, version: CHANNELS_DOMAIN_VERSION, chainId, verifyingContract: getAddress(verifyingContract) };
}

/** The digest the client signs for `request`; it is also the job's id (`uint256`) in the channel receipt leaf. */
export function jobRequestDigest(domain: TypedDataDomain, request: ChannelJobRequest): Hex {
  return TypedDataEncoder.hash(domain, JOB_REQUEST_TYPES, request) as Hex;
}

/** The digest the client signs for `voucher`. */
export function voucherDigest(domain: TypedDataDomain, voucher: Voucher): Hex {
  return TypedDataEncoder.hash(domain, VOUCHER_TYPES, voucher) as Hex;
}

async function requireSigner(signer: Signer, expected: string, what: string): Promise<void> {
  const address = await signer.getAddress();
  if (getAddress(address) !== getAddress(expected)) {
    throw new AitbcError("CHANNEL_SIGNER_MISMATCH", `the ${what} names client ${expected} but the signer is ${address}`, {
      hint: `sign with the client's own key, or set the ${what}'s client to ${address}`,
    });
  }
}

/**
 * The client's EIP-712 signature over `request`.
 * @throws {AitbcError} `CHANNEL_SIGNER_MISMATCH` when the signer is not `request.client`.
 */
export async function signJobRequest(signer: Signer, domain: TypedDataDomain, request: ChannelJobRequest): Promise<string> {
  await requireSigner(signer, request.client, "request");
  return signer.signTypedData(domain, JOB_REQUEST_TYPES, request);
}

/**
 * The client's voucher for `cumulativeAmount` on its channel with `provider`, ready for `JobChannels.claim`.
 * A voucher is final payment: sign one only for work whose results and receipts have arrived.
 * @throws {AitbcError} `CHANNEL_SIGNER_MISMATCH` when the signer is not `voucher.client`.
 */
export async function signVoucher(signer: Signer, domain: TypedDataDomain, voucher: Voucher): Promise<SignedVoucher> {
  await requireSigner(signer, voucher.client, "voucher");
  const signature = await signer.signTypedData(domain, VOUCHER_TYPES, voucher);
  return { client: voucher.client, cumulativeAmount: voucher.cumulativeAmount, coveredThrough: voucher.coveredThrough, signature };
}

/**
 * The receipt leaf of a channel job: the escrow's leaf encoding with the JobChannels address as `escrow` and the
 * request digest as `jobId` (what `JobChannels.receiptLeaf` computes).
 */
export function channelReceiptLeaf(
  domain: TypedDataDomain,
  receipt: { requestDigest: string; provider: string; unitsMilli: bigint; price: bigint; receiptHash: string },
): Hex {
  return receiptLeafHash({
    chainId: BigInt(domain.chainId as bigint),
    escrow: domain.verifyingContract as string,
    jobId: BigInt(receipt.requestDigest),
    provider: receipt.provider,
    unitsMilli: receipt.unitsMilli,
    price: receipt.price,
    receiptHash: receipt.receiptHash,
  });
}
