import { describe, expect, it } from 'vitest';
import * as domain from '../../src/domain/index.ts';

describe('the domain public API', () => {
  it('runs a deposit, a claim and a spend through createLedger using only index exports', () => {
    const ledger = domain.createLedger({ peerCount: 1, modules: domain.createModules() });
    const secretKey = new Uint8Array(32).fill(3);
    const owner = domain.nobleBackend.publicKey(secretKey);
    const depositId = domain.sha256(new Uint8Array([1]));
    let state = ledger.initialState;
    const observed = ledger.processItem(state, domain.wallet.depositObserved({ depositId, amount: 5_000n, recipient: owner }), 0);
    expect(observed.ok).toBe(true);
    if (!observed.ok) return;
    state = observed.state;
    const claim = domain.buildTransaction({ inputs: [domain.wallet.claimDeposit(depositId)], outputs: [domain.mint.issueNote(5_000n, owner)], secretKeysPerInput: [secretKey], nonce: new Uint8Array(8) });
    const item: domain.ConsensusItem = { kind: 'transaction', tx: claim.tx };
    // Consensus bytes survive the wire before processing, as the engine would see them.
    const decoded = domain.decodeConsensusItem(domain.encodeConsensusItem(item), domain.defaultModuleCodecs);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const claimed = ledger.processItem(state, decoded.value, 0);
    expect(claimed.ok && claimed.txid).toEqual(claim.txid);
    if (!claimed.ok) return;
    expect(domain.auditSummaryToJson(claimed.audit)).toEqual({
      modules: [
        { module: 0, name: 'reserves', msat: '5000' },
        { module: 1, name: 'outstanding notes', msat: '-5000' },
      ],
      netAssets: '0',
    });
    expect(domain.isTxidAccepted(claimed.state, claim.txid)).toBe(true);
    const restored = ledger.fromJson(JSON.parse(JSON.stringify(ledger.toJson(claimed.state))));
    expect(restored.ok && ledger.stateHash(restored.state)).toBe(ledger.stateHash(claimed.state));
  });
});
