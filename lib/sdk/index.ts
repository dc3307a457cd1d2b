/**
 * The AITBC SDK: the package's entry point (`import { submitJob } from "aitbc-evm"`).
 *
 * Every function here is the project's one implementation of its rule, shared with the Hardhat tasks, the relayer
 * and the dashboard; this module only selects what a client, a watcher (oracle agent) or a miner calls. Errors are
 * `AitbcError`s with a stable `code`; verification functions return verdicts instead of throwing.
 */

// ── deployments and contracts ───────────────────────────────────────────────────────────────────────────────────
export { contractAddress, parseDeployment, type ContractName, type Deployment } from "../deployments.js";
export { AitbcError, isAitbcError } from "../errors.js";
export { loadDeployment } from "../node/deployments-fs.js";
export { assertDeployment, deploymentState, isLocalChain, type DeploymentState } from "./deployment.js";
export {
  chainTime,
  connectMarket,
  providerBatches,
  providerEntry,
  readJob,
  type BatchPayout,
  type JobInfo,
  type MarketAddresses,
  type MarketContracts,
} from "./market.js";
export { describeContractRevert, type ContractRevert } from "./reverts.js";
export { sendTransaction, type ProgressFn, type SendOptions, type SentTx } from "./tx.js";

// ── money and rates ─────────────────────────────────────────────────────────────────────────────────────────────
export { escrowFor, feeFor, priceFor, settle, type Settlement } from "../money/prices.js";
export { formatAitbc, formatTokenAmount, milliToUnits, parseTokenAmount, unitsToMilli } from "../money/amounts.js";
export { findModel, readRateCard, type RateCardRow } from "../market/rates.js";
export { jobStatusName, type JobStatusName } from "../market/jobs.js";
export { JOB_STATUSES, MAX_PROMPT_BYTES } from "../protocol.js";

// ── clients ─────────────────────────────────────────────────────────────────────────────────────────────────────
export {
  DEFAULT_JOB_TTL_SECONDS,
  disputeJob,
  encodePrompt,
  signPermit,
  submitJob,
  withdraw,
  type DisputedJob,
  type SubmitJobRequest,
  type SubmittedJob,
  type Withdrawal,
} from "./client.js";
export {
  parseRelayerReceipt,
  parseRelayerReceiptList,
  parseRelayerUrl,
  relayerGet,
  waitForReceipt,
  type RelayerBatch,
  type RelayerReceipt,
  type RelayerReceiptItem,
  type RelayerReceiptList,
  type ServedReceipt,
  type WaitForReceiptOptions,
} from "./relayer-api.js";
export {
  DEFAULT_OFFER_TIMEOUT_MS,
  discoverProviders,
  fetchOffer,
  offersFor,
  providerListing,
  refusalHint,
  type ProviderListing,
  type ProviderOffer,
} from "./offers.js";
export {
  fetchResult,
  jobRelayerState,
  resultKeyFor,
  type FetchedResult,
  type FetchResultRequest,
  type JobRelayerStateRequest,
  type RelayerJobView,
} from "./results.js";
export { checkOffer, offerJson, parseOffer, type Offer, type OfferVerdict, type ProposedJob } from "../market/offer.js";

// ── receipts ────────────────────────────────────────────────────────────────────────────────────────────────────
export {
  computeReceiptId,
  parsePublicKey,
  receiptHash,
  receiptLeaf,
  verifyReceipt,
  type ReceiptDocument,
  type ReceiptErrorCode,
  type ReceiptFields,
  type ReceiptVerification,
  type VerifyReceiptOptions,
} from "../receipts/receipt.js";
export { nodeBackend } from "../node/ed25519-node.js";
export { importProofBundle, type ReceiptProofBundle } from "../receipts/proof-bundle.js";
export { receiptLeafHash, verifyReceiptLeafProof, type ReceiptLeafValue } from "../receipts/leaf.js";
export {
  receiptProofBundle,
  VERIFICATION_STEPS,
  verifyInclusion,
  verifyReceiptOnChain,
  type InclusionCheck,
  type InclusionProof,
  type OnChainVerification,
  type VerificationStep,
  type VerificationStepId,
  type VerifyOnChainOptions,
} from "./verify.js";
export { isProofFile, proofPathOf, readProofFile, writeProofFile, type ProofFile } from "./proof-files.js";
export { checkSettledReceipt, SETTLEMENT_CHECKS, type SettledReceiptVerdict, type SettlementCheck, type SettlementCheckId, type SettlementFailureCode, type SettlementReader } from "./settled-receipt.js";

// ── governance ──────────────────────────────────────────────────────────────────────────────────────────────────
export {
  readGovernanceSettings,
  readProposal,
  readProposals,
  readVoter,
  type GovernanceContracts,
  type ReadProposalOptions,
} from "./governance.js";
export { cancelGate, executeGate, queueGate, voteGate, type Gate, type ProposalView, type VoterStatus } from "../governance/proposals.js";

// ── watchers ────────────────────────────────────────────────────────────────────────────────────────────────────
export { followAnchoredBatches, readAnchoredBatches, type AnchoredBatch, type BatchFollower, type FollowOptions } from "./watcher.js";

// ── miners ──────────────────────────────────────────────────────────────────────────────────────────────────────
export { loadOrCreateKeyFile, readKeyFile, type ReceiptKey } from "../node/key-file.js";
export { publishEndpoint, registerProvider, type EndpointResult, type ProviderRegistration, type RegistrationResult } from "./miner.js";
// The relayer itself (startMiner) is the `aitbc-evm/miner` entry: relayer/index.ts.
export { loadOrCreateEncryptionKeyFile, readEncryptionKeyFile, type EncryptionKey } from "../node/key-file.js";
export { parseServiceUrl } from "../market/endpoint.js";

// ── private jobs (HPKE envelopes) ───────────────────────────────────────────────────────────────────────────────
export {
  deriveResultKeyPair,
  generateEncryptionKeyPair,
  MAX_RECIPIENTS,
  openEnvelope,
  portableHpke,
  readEnvelopeHeader,
  resultKeyMessage,
  sealEnvelope,
  type EncryptionKeyPair,
  type EnvelopeContext,
  type EnvelopeHeader,
  type EnvelopeKind,
  type HpkeBackend,
} from "../privacy/envelope.js";
export { nodeHpke } from "../node/hpke-node.js";

// ── channel mode (JobChannels) ──────────────────────────────────────────────────────────────────────────────────
export {
  channelReceiptLeaf,
  channelsDomain,
  jobRequestDigest,
  signJobRequest,
  signVoucher,
  voucherDigest,
  type ChannelJobRequest,
  type SignedVoucher,
  type Voucher,
} from "./channels.js";
export {
  cancelChannelWithdrawal,
  connectChannels,
  depositToChannel,
  readChannel,
  requestChannelWithdrawal,
  withdrawChannel,
  type ChannelChange,
  type ChannelState,
} from "./channel-funds.js";
export { ChannelClient, type ChannelClientOptions, type ChannelResult } from "./channel-jobs.js";
