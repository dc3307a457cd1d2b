import { useState } from "react";

import { formatTokenAmount } from "../../../lib/money/amounts.js";
import { JOB_STATUSES } from "../../../lib/protocol.js";
import { useChain, useChainQuery, type Chain } from "../chain.js";
import { tokens } from "../governance.js";
import { Address, ErrorPanel, Loading } from "../ui.js";

const JOB_STATUS = JOB_STATUSES;

/** The most recent jobs shown; older ones stay reachable through the chain's events. */
const MAX_JOBS = 200;

async function loadMarket(chain: Chain) {
  const { escrow, models, providers, token } = chain.contracts;
  if (escrow === undefined || models === undefined || providers === undefined) return undefined;
  const [[jobCount, batchCount], params, held, modelCount] = await Promise.all([
    escrow.counters(),
    escrow.parameters(),
    token.balanceOf(chain.config.deployment.contracts.JobEscrow!),
    models.modelCount(),
  ]);
  const names = await Promise.all(Array.from({ length: Number(modelCount) }, (_, i) => models.model(i + 1).then((m) => m.name)));
  const first = jobCount > BigInt(MAX_JOBS) ? jobCount - BigInt(MAX_JOBS) + 1n : 1n;
  const ids = Array.from({ length: Number(jobCount - first + 1n) }, (_, i) => first + BigInt(i)).reverse();
  const jobs = await Promise.all(
    ids.map(async (id) => {
      const j = await escrow.job(id);
      return { id, status: j.status, modelId: j.modelId, client: j.client, provider: j.provider, escrow: j.escrow, price: j.price, batchId: j.batchId };
    }),
  );
  const byStatus = new Map<string, number>();
  let locked = 0n;
  let settled = 0n;
  for (const j of jobs) {
    const name = JOB_STATUS[Number(j.status)] ?? String(j.status);
    byStatus.set(name, (byStatus.get(name) ?? 0) + 1);
    if (name === "Open" || name === "Accepted") locked += j.escrow;
    if (j.batchId !== 0n) settled += j.price;
  }
  const registered = await providers.queryFilter(providers.filters.ProviderRegistered(), chain.config.deployment.block);
  const addresses = [...new Set(registered.map((e) => e.args.provider))];
  const providerRows = await Promise.all(
    addresses.map(async (address) => {
      const [entry, active, jobsSettled, served] = await Promise.all([
        providers.getFunction("provider")(address),
        providers.isActive(address),
        escrow.jobsSettledOf(address),
        Promise.all(names.map((_, i) => providers.serves(address, i + 1))),
      ]);
      return { address, entry, active, jobsSettled, models: names.filter((_, i) => served[i]) };
    }),
  );
  return { jobCount, batchCount, params, held, locked, settled, jobs, byStatus, providers: providerRows, names };
}

export function MarketPage() {
  const chain = useChain();
  const [filter, setFilter] = useState("all");
  const q = useChainQuery("market", loadMarket);
  if (chain.contracts.escrow === undefined) {
    return <ErrorPanel title="No marketplace" error={{ code: "CONTRACT_NOT_DEPLOYED", message: "JobEscrow is not part of this deployment", hint: `Redeploy: npx hardhat deploy --network ${chain.config.network} --redeploy` }} />;
  }
  if (q.data === undefined) return q.error !== undefined ? <ErrorPanel title="Could not load the marketplace" error={q.error} /> : <Loading what="jobs and providers" />;
  const m = q.data;
  const shown = filter === "all" ? m.jobs : m.jobs.filter((j) => JOB_STATUS[Number(j.status)] === filter);
  return (
    <section>
      <h2>Marketplace</h2>
      {q.error !== undefined && <ErrorPanel title="Refresh failed (showing the last data)" error={q.error} />}
      <div className="stats" data-testid="escrow-totals">
        <div className="stat">
          <span className="muted small">Jobs</span>
          <strong>{m.jobCount.toString()}</strong>
        </div>
        <div className="stat">
          <span className="muted small">Batches anchored</span>
          <strong>{m.batchCount.toString()}</strong>
        </div>
        <div className="stat">
          <span className="muted small">Held by the escrow</span>
          <strong>{tokens(m.held)}</strong>
        </div>
        <div className="stat">
          <span className="muted small">Locked in open jobs{m.jobs.length < Number(m.jobCount) ? ` (last ${m.jobs.length})` : ""}</span>
          <strong>{tokens(m.locked)}</strong>
        </div>
        <div className="stat">
          <span className="muted small">Settled volume</span>
          <strong>{tokens(m.settled)}</strong>
        </div>
        <div className="stat">
          <span className="muted small">Protocol fee</span>
          <strong>{(Number(m.params.feeBps) / 100).toFixed(2)} %</strong>
        </div>
      </div>
      <h3>Jobs by state</h3>
      <div className="chips" role="group" aria-label="filter jobs by state">
        {["all", ...JOB_STATUS.slice(1)].map((s) => (
          <button key={s} className={filter === s ? "chip active" : "chip"} onClick={() => setFilter(s)}>
            {s} {s === "all" ? m.jobs.length : (m.byStatus.get(s) ?? 0)}
          </button>
        ))}
      </div>
      {shown.length === 0 ? (
        <p className="muted">No jobs{filter === "all" ? "" : ` in state ${filter}`}.</p>
      ) : (
        <div className="table-wrap">
          <table data-testid="jobs">
            <thead>
              <tr>
                <th>Job</th>
                <th>State</th>
                <th>Model</th>
                <th>Client</th>
                <th>Provider</th>
                <th>Escrow</th>
                <th>Price</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((j) => (
                <tr key={j.id.toString()}>
                  <td>{j.id.toString()}</td>
                  <td>{JOB_STATUS[Number(j.status)]}</td>
                  <td>{m.names[Number(j.modelId) - 1] ?? `#${j.modelId}`}</td>
                  <td>
                    <Address value={j.client} />
                  </td>
                  <td>{/^0x0{40}$/.test(j.provider) ? <span className="muted">any</span> : <Address value={j.provider} />}</td>
                  <td>{formatTokenAmount(j.escrow)}</td>
                  <td>{j.batchId === 0n ? "—" : formatTokenAmount(j.price)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>Providers</h3>
      {m.providers.length === 0 ? (
        <p className="muted">No provider has registered yet.</p>
      ) : (
        <div className="table-wrap">
          <table data-testid="providers">
            <thead>
              <tr>
                <th>Provider</th>
                <th>Status</th>
                <th>Models</th>
                <th>Bond</th>
                <th>Settled jobs</th>
                <th>Disputes lost</th>
              </tr>
            </thead>
            <tbody>
              {m.providers.map((p) => (
                <tr key={p.address}>
                  <td>
                    <Address value={p.address} />
                  </td>
                  <td>{p.active ? "active" : p.entry.unbondingSince !== 0n ? "unbonding" : "inactive"}</td>
                  <td>{p.models.join(", ") || "—"}</td>
                  <td>{tokens(p.entry.bond)}</td>
                  <td>{p.jobsSettled.toString()}</td>
                  <td>{p.entry.disputesLost.toString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
