import type { ProposalView } from "../../../lib/governance/proposals.js";
import { compactTokens, tokens } from "../governance.js";
import { Bar } from "../ui.js";

/** For / Against / Abstain against the quorum. Bars share one scale: the larger of the quorum and the biggest tally. */
export function Tally(props: { proposal: ProposalView; compact?: boolean }) {
  const p = props.proposal;
  const scale = [p.quorum, p.votes.for, p.votes.against, p.votes.abstain].reduce((a, b) => (b > a ? b : a), 1n);
  const frac = (v: bigint) => Number((v * 10_000n) / scale) / 10_000;
  const quorumAt = frac(p.quorum);
  const rows = [
    { name: "For", kind: "for" as const, value: p.votes.for },
    { name: "Against", kind: "against" as const, value: p.votes.against },
    { name: "Abstain", kind: "abstain" as const, value: p.votes.abstain },
  ];
  // GovernorCountingSimple counts For and Abstain towards quorum.
  const counted = p.votes.for + p.votes.abstain;
  return (
    <div className={props.compact === true ? "tally compact" : "tally"}>
      {rows.map((r) => (
        <div className="tally-row" key={r.name}>
          <span className="tally-name">{r.name}</span>
          <Bar fraction={frac(r.value)} kind={r.kind} marker={quorumAt} label={`${r.name}: ${tokens(r.value)} (quorum line at ${tokens(p.quorum)})`} />
          <span className="tally-value" data-testid={`votes-${r.name.toLowerCase()}`}>
            {compactTokens(r.value)}
          </span>
        </div>
      ))}
      <div className={p.quorumReached ? "quorum ok" : "quorum"} data-testid="quorum">
        Quorum {p.quorumReached ? "reached" : "not reached"}: {compactTokens(counted)} of {compactTokens(p.quorum)} (For + Abstain)
      </div>
    </div>
  );
}
