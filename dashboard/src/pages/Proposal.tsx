import { useState } from "react";

import { cancelGate, cleanDescription, executeGate, queueGate, voteGate } from "../../../lib/governance/proposals.js";
import { VOTE_SUPPORT } from "../../../lib/protocol.js";
import { readVoter } from "../../../lib/sdk/governance.js";
import { formatCountdown, formatTimestamp } from "../../../lib/time.js";
import { AITBCGovernor__factory } from "../../../typechain-types/factories/governance/AITBCGovernor__factory.js";
import { useChain, useChainQuery } from "../chain.js";
import { loadProposal, loadVotes, tokens } from "../governance.js";
import { Address, ErrorPanel, Loading, StateBadge, TxButton } from "../ui.js";
import { useWallet } from "../wallet.js";
import { Delegation } from "./Delegation.js";
import { Tally } from "./Tally.js";
import { timeLeft, title } from "./Proposals.js";

export function ProposalPage(props: { id: string }) {
  const chain = useChain();
  const wallet = useWallet();
  const [reason, setReason] = useState("");
  const validId = /^\d{1,30}$/.test(props.id);
  const id = validId ? BigInt(props.id) : 0n;
  const q = useChainQuery(`proposal:${props.id}:${wallet.account ?? ""}`, async (c) => {
    const { settings, proposal } = await loadProposal(c, id);
    if (proposal === undefined) return { settings, proposal };
    const [votes, voter] = await Promise.all([loadVotes(c, id), readVoter(c.contracts, proposal, wallet.account)]);
    return { settings, proposal, votes, voter };
  });
  if (!validId) return <ErrorPanel title="Unknown proposal" error={{ code: "BAD_PROPOSAL_ID", message: `\`${props.id}\` is not a proposal id (ids are 1, 2, 3, …)` }} />;
  if (q.data === undefined) return q.error !== undefined ? <ErrorPanel title={`Could not load proposal ${props.id}`} error={q.error} /> : <Loading what={`proposal ${props.id}`} />;
  const { settings, proposal: p, votes, voter } = q.data;
  if (p === undefined) {
    return (
      <ErrorPanel
        title="Unknown proposal"
        testId="unknown-proposal"
        error={{ code: "UNKNOWN_PROPOSAL", message: `There is no proposal ${props.id} on ${chain.config.network}`, hint: "Pick one from the proposal list." }}
      />
    );
  }
  const now = BigInt(chain.now());
  const description = cleanDescription(p.description ?? "");
  const governor = (signer: Parameters<typeof AITBCGovernor__factory.connect>[1]) => AITBCGovernor__factory.connect(chain.config.deployment.contracts.AITBCGovernor, signer);
  const vg = voteGate(p, now, voter!);
  return (
    <div className="columns">
      <section className="main">
        <p>
          <a href="#/proposals">← all proposals</a>
        </p>
        <div className="card-head">
          <h2 data-testid="proposal-title">
            #{p.id.toString()} {title(p)}
          </h2>
          <StateBadge state={p.state} />
        </div>
        {q.error !== undefined && <ErrorPanel title="Refresh failed (showing the last data)" error={q.error} />}
        <p className="muted small">
          Proposed by <Address value={p.proposer} /> · {timeLeft(p, now)}
        </p>
        {p.state === "Queued" && (
          <div className={`countdown ${now >= p.eta ? "ready" : ""}`} data-testid="countdown">
            {now >= p.eta ? "Timelock passed: executable now" : `Timelock: executable in ${formatCountdown(p.eta - now)}`}
            <span className="muted small"> (ETA {formatTimestamp(p.eta)})</span>
          </div>
        )}
        <h3>What it does</h3>
        <ol className="kinds" data-testid="actions">
          {p.actions.map((a, i) => (
            <li key={i}>
              {a.summary}
              <details>
                <summary className="muted small">raw call</summary>
                <code className="raw">
                  {a.target} {a.signature ?? a.calldata.slice(0, 10)} {a.args?.join(", ")}
                </code>
              </details>
            </li>
          ))}
        </ol>
        {description.includes("\n") && <pre className="description">{description}</pre>}
        <h3>Votes</h3>
        <Tally proposal={p} />
        <dl className="facts">
          <dt>Voting opens</dt>
          <dd>{formatTimestamp(p.snapshot + 1n)}</dd>
          <dt>Voting closes</dt>
          <dd>{formatTimestamp(p.deadline)}</dd>
          {p.eta > 0n && (
            <>
              <dt>Executable from</dt>
              <dd>{formatTimestamp(p.eta)}</dd>
            </>
          )}
          <dt>Timelock delay</dt>
          <dd>{settings.timelockDelay.toString()} s</dd>
        </dl>
        <h3>Act</h3>
        <div className="panel actions">
          <p className="small">
            Your voting power at the snapshot: <strong data-testid="power-at-snapshot">{wallet.account === undefined ? "—" : tokens(voter!.power)}</strong>
          </p>
          <input placeholder="reason (optional, stored on-chain)" value={reason} onChange={(e) => setReason(e.target.value)} aria-label="vote reason" data-testid="vote-reason" />
          <div className="vote-buttons">
            {([1, 0, 2] as const).map((support) => (
              <TxButton
                key={support}
                label={`Vote ${VOTE_SUPPORT[support]}`}
                className={`vote-${VOTE_SUPPORT[support].toLowerCase()}`}
                testId={`vote-${VOTE_SUPPORT[support].toLowerCase()}`}
                gate={vg}
                send={(signer) => (reason.trim() === "" ? governor(signer).castVote(p.id, support) : governor(signer).castVoteWithReason(p.id, support, reason.trim()))}
              />
            ))}
          </div>
          <TxButton label="Queue" testId="queue" gate={queueGate(p, now, wallet.account)} send={(signer) => governor(signer)["queue(uint256)"](p.id)} />
          <TxButton label="Execute" testId="execute" gate={executeGate(p, now, wallet.account)} send={(signer) => governor(signer)["execute(uint256)"](p.id)} />
          <TxButton label="Cancel" testId="cancel" className="danger" gate={cancelGate(p, wallet.account, settings.guardian)} send={(signer) => governor(signer)["cancel(uint256)"](p.id)} />
        </div>
        <h3>Votes cast ({votes!.length})</h3>
        {votes!.length === 0 ? (
          <p className="muted">No votes yet.</p>
        ) : (
          <div className="table-wrap">
            <table data-testid="votes-table">
              <thead>
                <tr>
                  <th>Voter</th>
                  <th>Support</th>
                  <th>Weight</th>
                  <th>Reason</th>
                </tr>
              </thead>
              <tbody>
                {votes!.map((v) => (
                  <tr key={v.tx}>
                    <td>
                      <Address value={v.voter} />
                    </td>
                    <td className={`support-${VOTE_SUPPORT[v.support]?.toLowerCase() ?? "unknown"}`}>{VOTE_SUPPORT[v.support] ?? v.support}</td>
                    <td>{tokens(v.weight)}</td>
                    <td>{v.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <aside>
        <Delegation />
      </aside>
    </div>
  );
}
