import { isAddress, ZeroAddress } from "ethers";
import { useState } from "react";

import { AITBCToken__factory } from "../../../typechain-types/factories/token/AITBCToken__factory.js";
import { useChain, useChainQuery } from "../chain.js";
import { delegateGate } from "../../../lib/governance/proposals.js";
import { tokens } from "../governance.js";
import { Address, ErrorPanel, TxButton } from "../ui.js";
import { useWallet } from "../wallet.js";

/** "Your voting power" and the delegation controls for the selected account. */
export function Delegation() {
  const { contracts } = useChain();
  const wallet = useWallet();
  const account = wallet.account;
  const [to, setTo] = useState("");
  const q = useChainQuery(`delegation:${account ?? ""}`, async () => {
    if (account === undefined) return undefined;
    const [balance, votes, delegatee] = await Promise.all([contracts.token.balanceOf(account), contracts.token.getVotes(account), contracts.token.delegates(account)]);
    return { balance, votes, delegatee };
  });
  if (account === undefined) {
    return (
      <section className="panel" data-testid="delegation">
        <h3>Your voting power</h3>
        <p className="muted">Select an account in the account menu to see your voting power and delegate.</p>
      </section>
    );
  }
  const d = q.data;
  const target = to.trim();
  const selfDelegated = d !== undefined && d.delegatee.toLowerCase() === account.toLowerCase();
  return (
    <section className="panel" data-testid="delegation">
      <h3>Your voting power</h3>
      {q.error !== undefined && <ErrorPanel error={q.error} />}
      {d !== undefined && (
        <dl className="facts">
          <dt>Balance</dt>
          <dd data-testid="balance">{tokens(d.balance)}</dd>
          <dt>Voting power now</dt>
          <dd data-testid="voting-power">{tokens(d.votes)}</dd>
          <dt>Delegated to</dt>
          <dd data-testid="delegatee">{d.delegatee === ZeroAddress ? "nobody — your tokens do not vote yet" : selfDelegated ? "yourself" : <Address value={d.delegatee} />}</dd>
        </dl>
      )}
      <p className="muted small">Votes count from the block after the delegation; a proposal uses the power you had at its snapshot.</p>
      <TxButton
        label="Delegate to myself"
        testId="delegate-self"
        gate={d === undefined ? { ok: false, why: "loading" } : delegateGate({ account, balance: d.balance, delegatee: d.delegatee })}
        send={(signer) => AITBCToken__factory.connect(contracts.token.target as string, signer).delegate(account)}
      />
      <div className="row">
        <input placeholder="0x… delegate to another address" value={to} onChange={(e) => setTo(e.target.value)} aria-label="delegate to address" />
        <TxButton
          label="Delegate"
          testId="delegate-other"
          gate={!isAddress(target) ? { ok: false, why: target === "" ? "enter an address" : "not an address" } : { ok: true }}
          send={(signer) => AITBCToken__factory.connect(contracts.token.target as string, signer).delegate(target)}
        />
      </div>
    </section>
  );
}
