import { getBytes } from "ethers";
import { useEffect, useRef, useState } from "react";

import { jobStatusName } from "../../../lib/market/jobs.js";
import { formatTokenAmount } from "../../../lib/money/amounts.js";
import { isEnvelope, type EncryptionKeyPair } from "../../../lib/privacy/envelope.js";
import { openJobRequest } from "../../../lib/privacy/request.js";
import { fetchResult, jobRelayerState, resultKeyFor, type FetchedResult, type RelayerJobView } from "../../../lib/sdk/results.js";
import { describeError, useChain, useChainQuery, type Chain } from "../chain.js";
import { Address, ErrorPanel, Loading } from "../ui.js";
import { useWallet } from "../wallet.js";

/**
 * Providers' relayers are reached through the dashboard server (`/providers/<address>/…`, which reads each one's
 * registered service URL from the chain), so the page stays on its own origin under its strict content policy.
 */
function via(provider: string): string {
  return new URL(`providers/${provider}`, window.location.href).href;
}

/** The most recent jobs of the account shown. */
const MAX_JOBS = 100;

interface MyJob {
  id: bigint;
  modelId: number;
  model: string;
  status: string;
  escrow: bigint;
  deadline: number;
  provider: string | null;
  private: boolean;
  prompt: Uint8Array;
}

async function loadMyJobs(chain: Chain, account: string): Promise<MyJob[] | undefined> {
  const { escrow, models } = chain.contracts;
  if (escrow === undefined || models === undefined) return undefined;
  const created = await escrow.queryFilter(escrow.filters.JobCreated(undefined, account), chain.config.deployment.block);
  const recent = created.slice(-MAX_JOBS).reverse();
  const names = new Map<number, string>();
  return Promise.all(
    recent.map(async (event) => {
      const id = event.args.jobId;
      const modelId = Number(event.args.modelId);
      if (!names.has(modelId)) names.set(modelId, (await models.model(modelId)).name);
      const view = await escrow.job(id);
      const prompt = getBytes(event.args.prompt);
      return {
        id,
        modelId,
        model: names.get(modelId) ?? String(modelId),
        status: jobStatusName(view.status),
        escrow: event.args.escrow,
        deadline: Number(event.args.deadline),
        provider: /^0x0{40}$/i.test(view.provider) ? null : view.provider,
        private: isEnvelope(prompt),
        prompt,
      };
    }),
  );
}

function RelayerWord(props: { views: RelayerJobView[] | undefined; error: string | undefined }) {
  if (props.error !== undefined) return <span className="bad small">{props.error}</span>;
  if (props.views === undefined) return <span className="muted small">asking…</span>;
  const known = props.views.filter((v) => v.known);
  if (known.length === 0) {
    const unreachable = props.views.filter((v) => v.error !== null);
    return <span className="muted small">{unreachable.length > 0 ? `no answer (${unreachable[0].error?.code})` : "not seen by any relayer yet"}</span>;
  }
  return (
    <ul className="plain small">
      {known.map((v) => (
        <li key={v.provider} data-testid="relayer-word">
          <Address value={v.provider} />: <strong>{v.state?.replace("_", " ")}</strong>
          {v.refusal !== null && (
            <>
              {" "}
              — refused: <code>{v.refusal}</code> {v.refusalDetail}
            </>
          )}
          {v.state === "given_back" && <> — the whole escrow went back to you{v.failure !== null ? ` (${v.failure.code})` : ""}</>}
          {v.receiptId !== null && (
            <>
              {" "}
              · receipt <code title={v.receiptId}>{v.receiptId.slice(0, 10)}…</code>
            </>
          )}
        </li>
      ))}
    </ul>
  );
}

type Shown = { kind: "result"; result: FetchedResult } | { kind: "prompt"; text: string };

function JobRow(props: { job: MyJob; account: string; resultKey: () => Promise<EncryptionKeyPair> }) {
  const chain = useChain();
  const { job } = props;
  const [views, setViews] = useState<RelayerJobView[]>();
  const [viewError, setViewError] = useState<string>();
  const [shown, setShown] = useState<Shown>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  // The relayers are asked again whenever the job's on-chain status changes, and at least every few blocks while it
  // is still open or running (a refusal or a give-back shows up there first).
  const settledDown = !["Open", "Accepted"].includes(job.status);
  const tick = settledDown ? 0 : Math.floor(chain.block.number / 5);
  useEffect(() => {
    let stale = false;
    jobRelayerState({ provider: chain.provider, deployment: chain.config.deployment, jobId: job.id, via }).then(
      (v) => {
        if (!stale) {
          setViews(v);
          setViewError(undefined);
        }
      },
      (e: unknown) => {
        if (!stale) setViewError(describeError(e));
      },
    );
    return () => {
      stale = true;
    };
  }, [chain.provider, chain.config.deployment, job.id, job.status, tick]);

  const run = async (what: () => Promise<Shown>) => {
    setBusy(true);
    setError(undefined);
    try {
      setShown(await what());
    } catch (e) {
      setShown(undefined);
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const showResult = () =>
    run(async () => {
      // The key is asked for (one signature) only for a private job; a public result needs none.
      const keyPair = job.private ? await props.resultKey() : undefined;
      return { kind: "result", result: await fetchResult({ provider: chain.provider, deployment: chain.config.deployment, jobId: job.id, keyPair, via }) };
    });
  const showPrompt = () =>
    run(async () => {
      const keyPair = await props.resultKey();
      const escrow = chain.config.deployment.contracts.JobEscrow as string;
      const opened = await openJobRequest(job.prompt, keyPair, { chainId: BigInt(chain.config.chainId), market: escrow, client: props.account });
      opened.contentKey.fill(0);
      return { kind: "prompt", text: new TextDecoder().decode(opened.prompt) };
    });

  return (
    <>
      <tr data-testid={`job-${job.id}`}>
        <td>{job.id.toString()}</td>
        <td>{job.model}</td>
        <td>
          <span className={`badge ${job.status.toLowerCase()}`} data-testid="job-status">
            {job.status}
          </span>
        </td>
        <td>{job.private ? <span title="The prompt is sealed to the provider(s) and to you">private</span> : <span className="muted">public</span>}</td>
        <td>{job.provider === null ? <span className="muted">open</span> : <Address value={job.provider} />}</td>
        <td>{formatTokenAmount(job.escrow)} AITBC</td>
        <td className="small">{new Date(job.deadline * 1000).toISOString().replace(".000Z", "Z")}</td>
        <td>
          <RelayerWord views={views} error={viewError} />
        </td>
        <td>
          <button disabled={busy} onClick={() => void showResult()} data-testid="show-result">
            Show result
          </button>{" "}
          {job.private && (
            <button disabled={busy} onClick={() => void showPrompt()} data-testid="show-prompt">
              Show my prompt
            </button>
          )}
        </td>
      </tr>
      {(shown !== undefined || error !== undefined) && (
        <tr>
          <td colSpan={9}>
            {error !== undefined && <ErrorPanel title={`Job ${job.id}`} error={error} testId="job-error" />}
            {shown?.kind === "prompt" && (
              <div className="panel">
                <strong>Your prompt</strong> <span className="muted small">(opened with your key in this browser)</span>
                <pre data-testid="prompt-text">{shown.text}</pre>
              </div>
            )}
            {shown?.kind === "result" && (
              <div className="panel">
                <strong>Result</strong>{" "}
                <span className="muted small" data-testid="result-checks">
                  receipt signed by the provider's registered key; the {shown.result.private ? "sealed result" : "result"} hashes to its result_hash{" "}
                  <code>{shown.result.resultHash.slice(0, 12)}…</code>
                  {shown.result.private ? "; opened with your key in this browser" : ""}
                </span>
                {shown.result.text !== null ? <pre data-testid="result-text">{shown.result.text}</pre> : <p className="muted">{shown.result.bytes.length} bytes of binary output</p>}
              </div>
            )}
          </td>
        </tr>
      )}
    </>
  );
}

/**
 * The connected account's jobs: status on-chain and what the providers' relayers say, the receipt, and the result —
 * checked against the signed receipt before it is shown, and for a private job opened with a key derived from one
 * wallet signature, kept in memory for this page's life only.
 */
export function MyJobsPage() {
  const chain = useChain();
  const wallet = useWallet();
  const account = wallet.account;
  const key = useRef<{ account: string; pair: Promise<EncryptionKeyPair> }>(undefined);
  const q = useChainQuery(`my-jobs:${account ?? ""}`, (c) => (account === undefined ? Promise.resolve(undefined) : loadMyJobs(c, account)));

  const resultKey = (): Promise<EncryptionKeyPair> => {
    if (account === undefined) return Promise.reject(new Error("Select an account in the account menu first"));
    if (key.current?.account !== account) {
      const pair = wallet.signer().then((signer) => resultKeyFor(signer, BigInt(chain.config.chainId)));
      // A refused signature is not remembered: the next click asks again.
      pair.catch(() => {
        if (key.current?.pair === pair) key.current = undefined;
      });
      key.current = { account, pair };
    }
    return key.current.pair;
  };

  if (account === undefined) {
    return (
      <section>
        <h1>My jobs</h1>
        <p className="panel" data-testid="no-account">
          Pick an account in the account menu (a browser wallet, or a development account of a local node) to see its jobs.
        </p>
      </section>
    );
  }
  if (q.loading && q.data === undefined) return <Loading what="your jobs" />;
  if (q.error !== undefined && q.data === undefined) return <ErrorPanel title="Cannot read your jobs" error={q.error} />;
  if (q.data === undefined) return <ErrorPanel title="No marketplace" error={{ code: "NO_MARKET", message: "This deployment has no JobEscrow", hint: "Deploy the marketplace (`npx hardhat deploy`)." }} />;
  return (
    <section>
      <h1>My jobs</h1>
      <p className="muted small">
        Jobs created by <Address value={account} />, newest first. A private job's result opens with a key derived from one signature of your wallet (it
        moves no funds); the key stays in this page's memory only.
      </p>
      {q.data.length === 0 ? (
        <p className="panel" data-testid="no-jobs">
          No jobs yet. Submit one with <code>npx hardhat job:submit --model llama3.2 --prompt "…" --max-units 2</code>.
        </p>
      ) : (
        <table data-testid="my-jobs">
          <thead>
            <tr>
              <th>job</th>
              <th>model</th>
              <th>status</th>
              <th>privacy</th>
              <th>provider</th>
              <th>escrow</th>
              <th>deadline</th>
              <th>relayer</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {q.data.map((job) => (
              <JobRow key={job.id.toString()} job={job} account={account} resultKey={resultKey} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
