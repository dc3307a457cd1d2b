import type { ContractTransactionResponse, Signer } from "ethers";
import { Component, useState, type ErrorInfo, type ReactNode } from "react";

import { describeError } from "./chain.js";
import { useWallet } from "./wallet.js";

/** Whether a button may be pressed, and why not; the governance gates of `lib/governance/proposals.ts` are such. */
export type Gate = { ok: true } | { ok: false; why: string };

export function ErrorPanel(props: { title?: string; error: unknown; testId?: string }) {
  const e = props.error as { code?: string; message?: string; hint?: string };
  const code = typeof e?.code === "string" ? e.code : undefined;
  return (
    <div className="panel error" role="alert" data-testid={props.testId ?? "error"}>
      <strong>{props.title ?? "Something went wrong"}</strong>
      <p>
        {describeError(props.error)}
        {code !== undefined && <code className="code"> [{code}]</code>}
      </p>
    </div>
  );
}

/** Keeps one broken view from blanking the whole page; the message stays until the user navigates away. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: string }, { error?: unknown; key?: string }> {
  override state: { error?: unknown; key?: string } = {};

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  static getDerivedStateFromProps(props: { resetKey?: string }, state: { error?: unknown; key?: string }) {
    return props.resetKey !== state.key ? { error: undefined, key: props.resetKey } : null;
  }

  override componentDidCatch(error: unknown, info: ErrorInfo) {
    console.error("dashboard view crashed", error, info.componentStack);
  }

  override render() {
    if (this.state.error !== undefined) return <ErrorPanel title="This view crashed" error={this.state.error} testId="crash" />;
    return this.props.children;
  }
}

export function Loading(props: { what: string }) {
  return <p className="muted" aria-busy="true">Loading {props.what}…</p>;
}

export function Address(props: { value: string; label?: string }) {
  return (
    <code className="addr" title={props.value}>
      {props.label ?? `${props.value.slice(0, 6)}…${props.value.slice(-4)}`}
    </code>
  );
}

type TxState = { phase: "idle" } | { phase: "sending" } | { phase: "done"; block: number } | { phase: "failed"; message: string };

/**
 * A button that sends one transaction from the selected account. Disabled with the reason shown when its gate is
 * closed; the outcome (block or error) stays under it.
 */
export function TxButton(props: { label: string; gate: Gate; send: (signer: Signer) => Promise<ContractTransactionResponse>; testId: string; className?: string }) {
  const wallet = useWallet();
  const [state, setState] = useState<TxState>({ phase: "idle" });
  const gate: Gate = props.gate.ok && wallet.problem !== undefined ? { ok: false, why: wallet.problem } : props.gate;
  const click = async () => {
    setState({ phase: "sending" });
    try {
      const tx = await props.send(await wallet.signer());
      const receipt = await tx.wait();
      setState({ phase: "done", block: receipt?.blockNumber ?? 0 });
    } catch (error) {
      setState({ phase: "failed", message: describeError(error) });
    }
  };
  return (
    <div className="action">
      <button className={props.className} disabled={!gate.ok || state.phase === "sending"} onClick={click} data-testid={props.testId}>
        {state.phase === "sending" ? `${props.label}…` : props.label}
      </button>
      {!gate.ok && (
        <span className="why" data-testid={`${props.testId}-why`}>
          {gate.why}
        </span>
      )}
      {state.phase === "done" && (
        <span className="ok" data-testid={`${props.testId}-done`}>
          ✔ confirmed in block {state.block}
        </span>
      )}
      {state.phase === "failed" && (
        <span className="bad" role="alert" data-testid={`${props.testId}-error`}>
          ✖ {state.message}
        </span>
      )}
    </div>
  );
}

/** A horizontal bar; `marker` (0..1) draws a vertical line, e.g. the quorum. */
export function Bar(props: { fraction: number; kind: "for" | "against" | "abstain" | "neutral"; marker?: number; label: string }) {
  const pct = Math.max(0, Math.min(1, props.fraction)) * 100;
  return (
    <div className="bar" aria-label={props.label} title={props.label}>
      <div className={`fill ${props.kind}`} style={{ width: `${pct}%` }} />
      {props.marker !== undefined && <div className="marker" style={{ left: `${Math.min(1, props.marker) * 100}%` }} />}
    </div>
  );
}

export function StateBadge(props: { state: string }) {
  return (
    <span className={`badge state-${props.state.toLowerCase()}`} data-testid="state">
      {props.state}
    </span>
  );
}
