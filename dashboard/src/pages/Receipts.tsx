import { useEffect, useState } from "react";

import { useChain, useChainQuery } from "../chain.js";
import {
  fetchReceipt,
  listReceipts,
  onchainLayer,
  parseBundles,
  summarize,
  verifyBundle,
  verifyOffchain,
  type Check,
  type Layer,
  type OffchainOptions,
  type ReceiptBundle,
  type ReceiptListPage,
} from "../receipts.js";
import type { Chain } from "../chain.js";
import { Address, ErrorPanel, Loading } from "../ui.js";

export function ReceiptsPage() {
  const chain = useChain();
  const [client, setClient] = useState("");
  const [provider, setProvider] = useState("");
  const [query, setQuery] = useState<{ client: string; provider: string; cursor?: string }>({ client: "", provider: "" });
  const [page, setPage] = useState<ReceiptListPage>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    if (chain.config.relayerProxy === undefined) return;
    let current = true;
    setError(undefined);
    listReceipts(chain, query).then(
      (p) => current && setPage(p),
      (e: unknown) => current && setError(e),
    );
    return () => {
      current = false;
    };
    // The list is a snapshot of the relayer's journal; re-fetch on filter changes, not on every block.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [query]);
  return (
    <section>
      <h2>Receipts</h2>
      {chain.config.relayerProxy === undefined ? (
        <p className="panel" data-testid="no-relayer">
          No relayer configured: start the dashboard with <code>--relayer &lt;url&gt;</code> to browse a provider's receipts. Any receipt can still be checked on the{" "}
          <a href="#/verify">Verify</a> page.
        </p>
      ) : (
        <>
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              setQuery({ client, provider });
            }}
          >
            <input placeholder="client 0x…" value={client} onChange={(e) => setClient(e.target.value)} aria-label="filter by client" />
            <input placeholder="provider 0x…" value={provider} onChange={(e) => setProvider(e.target.value)} aria-label="filter by provider" />
            <button type="submit">Filter</button>
          </form>
          <p className="muted small">From the relayer at {chain.config.relayerUrl}. Open a receipt to verify it against the chain.</p>
          {error !== undefined && <ErrorPanel title="Could not list receipts" error={error} />}
          {page === undefined && error === undefined && <Loading what="receipts" />}
          {page !== undefined && page.items.length === 0 && <p className="muted">No receipts match.</p>}
          {page !== undefined && page.items.length > 0 && (
            <div className="table-wrap">
              <table data-testid="receipts">
                <thead>
                  <tr>
                    <th>Job</th>
                    <th>Model</th>
                    <th>Units</th>
                    <th>Price</th>
                    <th>Client</th>
                    <th>Provider</th>
                    <th>Batch</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((r) => (
                    <tr key={r.receiptId}>
                      <td>
                        <a href={`#/receipts/${r.receiptId}`}>{r.jobId}</a>
                      </td>
                      <td>{r.model}</td>
                      <td>{r.units}</td>
                      <td>{r.price}</td>
                      <td>
                        <Address value={r.client} />
                      </td>
                      <td>
                        <Address value={r.provider} />
                      </td>
                      <td>{r.batchId ?? <span className="muted">pending</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {page?.nextCursor != null && <button onClick={() => setQuery({ ...query, cursor: page.nextCursor! })}>Older receipts →</button>}
        </>
      )}
    </section>
  );
}

function CheckList(props: { checks: Check[] }) {
  const allPass = props.checks.every((c) => c.status === "pass");
  return (
    <div className="panel" data-testid="checks">
      <p className={allPass ? "verdict ok" : "verdict bad"} data-testid="verdict">
        {allPass ? "✔ Receipt verified against the chain" : "✖ Receipt NOT verified"}
      </p>
      <ul className="checks">
        {props.checks.map((c) => (
          <li key={c.id} className={`check ${c.status}`} data-testid={`check-${c.id}`} data-status={c.status}>
            <span className="mark">{c.status === "pass" ? "✔" : c.status === "fail" ? "✖" : "–"}</span>
            <div>
              <strong>{c.title}</strong>
              <div className="small detail">{c.detail}</div>
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** The verification layers of one receipt: which passed, and why the others did not. */
function LayerList(props: { layers: Layer[]; label?: string }) {
  const signature = props.layers.find((l) => l.id === "signature");
  const onchain = props.layers.find((l) => l.id === "onchain");
  const failed = props.layers.some((l) => l.status === "fail");
  const verdict = failed
    ? "✖ Receipt NOT verified"
    : onchain?.status === "pass"
      ? "✔ AITBC signature valid and settled on-chain as signed"
      : signature?.status === "pass"
        ? "✔ AITBC signature valid (no on-chain settlement checked)"
        : "✖ Receipt NOT verified";
  return (
    <div className="panel" data-testid="layers">
      {props.label !== undefined && <p className="muted small">{props.label}</p>}
      <p className={verdict.startsWith("✔") ? "verdict ok" : "verdict bad"} data-testid="layers-verdict">
        {verdict}
      </p>
      <ul className="checks">
        {props.layers.map((l) => (
          <li key={l.id} className={`check ${l.status}`} data-testid={`layer-${l.id}`} data-status={l.status}>
            <span className="mark">{l.status === "pass" ? "✔" : l.status === "fail" ? "✖" : "–"}</span>
            <div>
              <strong>{l.title}</strong>
              <div className="small detail">{l.detail}</div>
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}

interface Verified {
  bundle: ReceiptBundle;
  layers: Layer[];
  checks?: Check[];
}

/** Every layer of one receipt: off-chain here, then the chain checks for settlement receipts. */
async function verifyAll(chain: Chain, bundle: ReceiptBundle, options: OffchainOptions): Promise<Verified> {
  const { layers } = verifyOffchain(bundle, options);
  const settlement = layers.find((l) => l.id === "settlement")!;
  const checks = settlement.status === "skip" ? undefined : await verifyBundle(chain, bundle);
  return { bundle, layers: [...layers, onchainLayer(checks, settlement)], checks };
}

function ReceiptDetails(props: { bundle: ReceiptBundle }) {
  const s = summarize(props.bundle.doc);
  return (
    <dl className="facts" data-testid="receipt-details">
      <dt>Receipt id</dt>
      <dd>
        <code className="wrap">{s.receiptId}</code>
      </dd>
      <dt>Job</dt>
      <dd>{s.jobId}</dd>
      <dt>Model</dt>
      <dd>{s.model}</dd>
      <dt>Units</dt>
      <dd>{s.units}</dd>
      <dt>Price</dt>
      <dd>{s.price}</dd>
      <dt>Client</dt>
      <dd>
        <code className="wrap">{s.client}</code>
      </dd>
      <dt>Provider</dt>
      <dd>
        <code className="wrap">{s.provider}</code>
      </dd>
      {props.bundle.root !== undefined && (
        <>
          <dt>Merkle root</dt>
          <dd>
            <code className="wrap">{props.bundle.root}</code>
          </dd>
        </>
      )}
    </dl>
  );
}

export function ReceiptPage(props: { id: string }) {
  const q = useChainQuery(`receipt:${props.id}`, async (chain) => verifyAll(chain, await fetchReceipt(chain, props.id), {}));
  if (q.data === undefined) return q.error !== undefined ? <ErrorPanel title={`Could not load receipt ${props.id}`} error={q.error} testId="receipt-error" /> : <Loading what="the receipt" />;
  return (
    <section>
      <p>
        <a href="#/receipts">← all receipts</a>
      </p>
      <h2>Receipt</h2>
      <LayerList layers={q.data.layers} />
      {q.data.checks !== undefined && <CheckList checks={q.data.checks} />}
      <ReceiptDetails bundle={q.data.bundle} />
    </section>
  );
}

export function VerifyPage() {
  const chain = useChain();
  const [input, setInput] = useState("");
  const [signerKey, setSignerKey] = useState("");
  const [attestationKey, setAttestationKey] = useState("");
  const [results, setResults] = useState<Verified[]>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(undefined);
    setResults(undefined);
    try {
      const verified: Verified[] = [];
      for (let bundle of parseBundles(input, "pasted")) {
        // A bare receipt from a relayer-backed dashboard: fetch its proof, but verify the pasted document itself.
        const id = summarize(bundle.doc).receiptId;
        if (bundle.proof === undefined && bundle.proofItems === undefined && chain.config.relayerProxy !== undefined && /^0x[0-9a-fA-F]{64}$/.test(id)) {
          const served = await fetchReceipt(chain, id).catch(() => undefined);
          if (served !== undefined) bundle = { ...bundle, root: served.root, proof: served.proof, batchStatus: served.batchStatus };
        }
        verified.push(await verifyAll(chain, bundle, { signerKey, attestationKey }));
      }
      setResults(verified);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section>
      <h2>Verify a receipt</h2>
      <p className="muted small">
        Paste any AITBC receipt — bare, as a relayer serves it (<code>{"{ \"receipt\": …, \"proof\": [ … ], \"batch\": { \"root\": \"0x…\" } }"}</code>), a proof
        bundle holding its receipt, a JSON array or JSON lines of them. The AITBC signature is checked in this browser under the signer key you enter (or,
        without one, the key the receipt names: integrity only); settlement receipts of this marketplace are also checked against the provider's key
        registered on-chain and the Merkle root anchored on-chain.
      </p>
      <textarea rows={10} value={input} onChange={(e) => setInput(e.target.value)} aria-label="receipt JSON" data-testid="receipt-input" spellCheck={false} />
      <div className="row">
        <input placeholder="signer key (key_id), optional" value={signerKey} onChange={(e) => setSignerKey(e.target.value)} aria-label="signer key" data-testid="signer-key" />
        <input
          placeholder="attestation key (key_id), optional"
          value={attestationKey}
          onChange={(e) => setAttestationKey(e.target.value)}
          aria-label="attestation key"
          data-testid="attestation-key"
        />
      </div>
      <button onClick={run} disabled={busy || input.trim() === ""} data-testid="verify">
        {busy ? "Verifying…" : "Verify"}
      </button>
      {error !== undefined && <ErrorPanel title="Cannot read this receipt" error={error} testId="verify-error" />}
      {results?.map((r, i) => (
        <div key={i} data-testid="result">
          <LayerList layers={r.layers} label={results.length > 1 ? r.bundle.source : undefined} />
          {r.checks !== undefined && <CheckList checks={r.checks} />}
          <ReceiptDetails bundle={r.bundle} />
        </div>
      ))}
    </section>
  );
}
