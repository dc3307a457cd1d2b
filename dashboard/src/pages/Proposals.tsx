import { useChain, useChainQuery } from "../chain.js";
import { formatCountdown, formatIn, loadProposals, ProposalState, STATE_NAMES, type Proposal } from "../governance.js";
import { ErrorPanel, Loading, StateBadge } from "../ui.js";
import { Delegation } from "./Delegation.js";
import { Tally } from "./Tally.js";

export function timeLeft(p: Proposal, now: number): string {
  switch (p.state) {
    case ProposalState.Pending:
      return `voting opens in ${formatIn(p.snapshot + 1 - now)}`;
    case ProposalState.Active:
      return `voting closes in ${formatIn(p.deadline + 1 - now)}`;
    case ProposalState.Succeeded:
      return "passed — ready to queue";
    case ProposalState.Queued:
      return p.eta > now ? `executable in ${formatCountdown(p.eta - now)}` : "executable now";
    default:
      return STATE_NAMES[p.state].toLowerCase();
  }
}

export function title(p: Proposal): string {
  const first = p.description.split("\n")[0].replace(/^#+\s*/, "").trim();
  return first === "" ? `Proposal ${p.id}` : first;
}

export function ProposalsPage() {
  const chain = useChain();
  const q = useChainQuery("proposals", loadProposals);
  const now = chain.now();
  return (
    <div className="columns">
      <section className="main">
        <h2>Proposals</h2>
        {q.error !== undefined && <ErrorPanel title="Could not load proposals" error={q.error} />}
        {q.data === undefined && q.error === undefined && <Loading what="proposals" />}
        {q.data !== undefined && q.data.proposals.length === 0 && (
          <p className="muted" data-testid="no-proposals">
            No proposals yet. Create one with <code>npx hardhat dao:propose --network {chain.config.network}</code>.
          </p>
        )}
        <ul className="cards" data-testid="proposal-list">
          {q.data?.proposals.map((p) => (
            <li key={p.id.toString()} className="card" data-testid={`proposal-${p.id}`}>
              <div className="card-head">
                <a href={`#/proposals/${p.id}`}>
                  #{p.id.toString()} {title(p)}
                </a>
                <StateBadge state={STATE_NAMES[p.state]} />
              </div>
              <ul className="kinds">
                {p.actions.map((a, i) => (
                  <li key={i} data-testid="kind">
                    {a.summary}
                  </li>
                ))}
              </ul>
              <Tally proposal={p} compact />
              <div className="muted small" data-testid="time-left">
                {timeLeft(p, now)}
              </div>
            </li>
          ))}
        </ul>
      </section>
      <aside>
        <Delegation />
      </aside>
    </div>
  );
}
