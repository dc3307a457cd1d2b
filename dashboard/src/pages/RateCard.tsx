import { formatTokenAmount } from "../../../lib/money/amounts.js";
import type { ProposalStateName } from "../../../lib/governance/proposals.js";
import { readRateCard } from "../../../lib/market/rates.js";
import { formatCountdown, formatTimestamp } from "../../../lib/time.js";
import { useChain, useChainQuery, type Chain } from "../chain.js";
import { loadProposals } from "../governance.js";
import { ErrorPanel, Loading } from "../ui.js";
import { ProposalCardHead } from "./Proposals.js";

const LIVE_STATES = new Set<ProposalStateName>(["Pending", "Active", "Succeeded", "Queued"]);

async function loadRateCard(chain: Chain) {
  const registry = chain.contracts.models;
  if (registry === undefined) return undefined;
  const models = await readRateCard(registry);
  const registryAddress = chain.config.deployment.contracts.ModelRegistry!.toLowerCase();
  const { proposals } = await loadProposals(chain);
  const pending = proposals.filter((p) => LIVE_STATES.has(p.state) && p.actions.some((a) => a.target.toLowerCase() === registryAddress));
  return { models, pending };
}

export function RateCardPage() {
  const chain = useChain();
  const q = useChainQuery("ratecard", loadRateCard);
  if (chain.contracts.models === undefined) {
    return <ErrorPanel title="No rate card" error={{ code: "CONTRACT_NOT_DEPLOYED", message: "ModelRegistry is not part of this deployment", hint: `Redeploy: npx hardhat deploy --network ${chain.config.network} --redeploy` }} />;
  }
  if (q.data === undefined) return q.error !== undefined ? <ErrorPanel title="Could not load the rate card" error={q.error} /> : <Loading what="the rate card" />;
  const { models, pending } = q.data;
  const now = BigInt(chain.now());
  return (
    <section>
      <h2>Rate card</h2>
      {q.error !== undefined && <ErrorPanel title="Refresh failed (showing the last data)" error={q.error} />}
      <div className="table-wrap">
        <table data-testid="rate-card">
          <thead>
            <tr>
              <th>Id</th>
              <th>Model</th>
              <th>Rate</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {models.map((m) => (
              <tr key={m.id} data-testid={`model-${m.name}`}>
                <td>{m.id}</td>
                <td>{m.name}</td>
                <td data-testid="rate">
                  {formatTokenAmount(m.rate)} AITBC / {m.unitType}
                </td>
                <td>{m.enabled ? "enabled" : "disabled"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3>Pending changes</h3>
      {pending.length === 0 ? (
        <p className="muted" data-testid="no-pending">
          No open proposal touches the rate card.
        </p>
      ) : (
        <ul className="cards" data-testid="pending-changes">
          {pending.map((p) => (
            <li className="card" key={p.id.toString()}>
              <ProposalCardHead proposal={p} />
              <ul className="kinds">
                {p.actions
                  .filter((a) => a.contract === "ModelRegistry")
                  .map((a, i) => (
                    <li key={i}>{a.summary}</li>
                  ))}
              </ul>
              <div className="muted small">
                {p.state === "Queued"
                  ? now >= p.eta
                    ? `executable now (ETA ${formatTimestamp(p.eta)})`
                    : `takes effect after execution, earliest ${formatTimestamp(p.eta)} (in ${formatCountdown(p.eta - now)})`
                  : `not queued yet (${p.state.toLowerCase()})`}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
