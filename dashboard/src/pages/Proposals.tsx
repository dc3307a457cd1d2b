import { cleanDescription, type ProposalView } from "../../../lib/governance/proposals.js";
import { formatCountdown, formatIn } from "../../../lib/time.js";
import { useChain, useChainQuery } from "../chain.js";
import { loadProposals } from "../governance.js";
import { ErrorPanel, Loading, StateBadge } from "../ui.js";
import { Delegation } from "./Delegation.js";
import { Tally } from "./Tally.js";

export function timeLeft(p: ProposalView, now: bigint): string {
  switch (p.state) {
    case "Pending":
      return `voting opens in ${formatIn(p.snapshot + 1n - now)}`;
    case "Active":
      return `voting closes in ${formatIn(p.deadline + 1n - now)}`;
    case "Succeeded":
      return "passed — ready to queue";
    case "Queued":
      return p.eta > now ? `executable in ${formatCountdown(p.eta - now)}` : "executable now";
    default:
      return p.state.toLowerCase();
  }
}

export function title(p: ProposalView): string {
  const first = cleanDescription(p.description ?? "").split("\n")[0].replace(/^#+\s*/, "").trim();
  return first === "" ? `Proposal ${p.id}` : first;
}

/** A proposal card's first line: its number and title, linking to its page, and its state. */
export function ProposalCardHead(props: { proposal: ProposalView }) {
  const p = props.proposal;
  return (
    <div className="card-head">
      <a href={`#/proposals/${p.id}`}>
        #{p.id.toString()} {title(p)}
      </a>
      <StateBadge state={p.state} />
    </div>
  );
}

export function ProposalsPage() {
  const chain = useChain();
  const q = useChainQuery("proposals", loadProposals);
  const now = BigInt(chain.now());
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
              <ProposalCardHead proposal={p} />
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
