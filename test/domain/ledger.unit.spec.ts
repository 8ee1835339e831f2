import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AuditFailure } from '../../src/domain/audit.ts';
import { bytesToHex } from '../../src/domain/hashing.ts';
import { ledgerAudit, ledgerStateFromJson, ledgerStateHash, ledgerStateToJson, processItem, type ItemOutcome } from '../../src/domain/ledger.ts';
import { describeConsensusItem } from '../../src/domain/itemDescription.ts';
import { canonicalJson } from '../../src/domain/canonicalJson.ts';
import { claimDeposit, depositObserved, walletModule, withdraw } from '../../src/domain/modules/wallet.ts';
import { issueNote, spendNote } from '../../src/domain/modules/mint.ts';
import { decodeTransaction, encodeTransaction, txid, type Transaction } from '../../src/domain/transaction.ts';
import { depositId, signed, TestLedger, userKey } from './ledgerFixture.ts';
import { defaultModuleCodecs } from '../../src/domain/modules/consensusModules.ts';

const alice = userKey(1);
const bob = userKey(2);

function reason(outcome: ItemOutcome): string {
  expect(outcome.ok).toBe(false);
  return outcome.ok ? '' : outcome.reason;
}

/** A ledger where alice owns one confirmed, unclaimed 100,000 msat deposit. */
function withDeposit(): TestLedger {
  const ledger = new TestLedger();
  ledger.deposit(depositId('d1'), 100_000n, alice.publicKey);
  return ledger;
}

/** A ledger where alice owns one 100,000 msat note, returned with its txid. */
function withNote(): { ledger: TestLedger; noteTxid: Uint8Array } {
  const ledger = withDeposit();
  const tx = signed([claimDeposit(depositId('d1'))], [issueNote(100_000n, alice.publicKey)], [alice.secretKey]);
  expect(ledger.tx(tx).ok).toBe(true);
  return { ledger, noteTxid: txid(tx) };
}

describe('deposits', () => {
  it('confirms a deposit at exactly threshold distinct guardians and not before', () => {
    const ledger = new TestLedger();
    const claim = () => signed([claimDeposit(depositId('d1'))], [issueNote(100_000n, alice.publicKey)], [alice.secretKey]);
    expect(ledger.deposit(depositId('d1'), 100_000n, alice.publicKey, 2).every((o) => o.ok)).toBe(true);
    expect(reason(ledger.tx(claim()))).toMatch(/deposit not confirmed/);
    expect(ledger.apply(depositObserved({ depositId: depositId('d1'), amount: 100_000n, recipient: alice.publicKey }), 2).ok).toBe(true);
    const claimed = ledger.tx(claim());
    expect(claimed.ok).toBe(true);
    if (claimed.ok) expect(claimed.audit.modules.map((l) => [l.name, l.msat])).toEqual([['reserves', 100_000n], ['outstanding notes', -100_000n]]);
  });

  it('does not count the same guardian proposing twice', () => {
    const ledger = new TestLedger();
    const item = depositObserved({ depositId: depositId('d1'), amount: 5n, recipient: alice.publicKey });
    expect(ledger.apply(item, 0).ok).toBe(true);
    expect(reason(ledger.apply(item, 0))).toMatch(/already proposed by this peer/);
    expect(ledger.apply(item, 1).ok).toBe(true);
    expect(reason(ledger.tx(signed([claimDeposit(depositId('d1'))], [issueNote(5n, alice.publicKey)], [alice.secretKey])))).toMatch(/not confirmed/);
  });

  it('counts only identical triples toward the threshold', () => {
    const ledger = new TestLedger();
    ledger.apply(depositObserved({ depositId: depositId('d1'), amount: 5n, recipient: alice.publicKey }), 0);
    ledger.apply(depositObserved({ depositId: depositId('d1'), amount: 6n, recipient: alice.publicKey }), 1);
    ledger.apply(depositObserved({ depositId: depositId('d1'), amount: 5n, recipient: bob.publicKey }), 2);
    expect(reason(ledger.tx(signed([claimDeposit(depositId('d1'))], [issueNote(5n, alice.publicKey)], [alice.secretKey])))).toMatch(/not confirmed/);
  });

  it('rejects votes for a confirmed deposit, zero amounts and peers outside the federation', () => {
    const ledger = withDeposit();
    expect(reason(ledger.apply(depositObserved({ depositId: depositId('d1'), amount: 100_000n, recipient: alice.publicKey }), 3))).toMatch(/already confirmed/);
    expect(reason(ledger.apply(depositObserved({ depositId: depositId('d2'), amount: 0n, recipient: alice.publicKey }), 0))).toMatch(/positive/);
    expect(reason(ledger.apply(depositObserved({ depositId: depositId('d2'), amount: 1n, recipient: alice.publicKey }), 4))).toMatch(/not in the federation/);
  });

  it('proposes only observed deposits that would change state', () => {
    const ledger = withDeposit();
    const wallet = walletModule();
    const fresh = { depositId: depositId('d2'), amount: 7n, recipient: bob.publicKey };
    const confirmed = { depositId: depositId('d1'), amount: 100_000n, recipient: alice.publicKey };
    const proposals = wallet.proposals(ledger.state.modules.get(0) as never, 3, [confirmed, fresh, fresh], ledger.rules.context);
    expect(proposals).toEqual([fresh]);
  });
});

describe('transactions', () => {
  it('rejects a deposit claimed twice and a note spent twice', () => {
    const { ledger, noteTxid } = withNote();
    expect(reason(ledger.tx(signed([claimDeposit(depositId('d1'))], [issueNote(1n, alice.publicKey)], [alice.secretKey])))).toMatch(/already claimed/);
    expect(ledger.tx(signed([spendNote(noteTxid, 0)], [issueNote(100_000n, bob.publicKey)], [alice.secretKey])).ok).toBe(true);
    expect(reason(ledger.tx(signed([spendNote(noteTxid, 0)], [issueNote(100_000n, bob.publicKey)], [alice.secretKey])))).toMatch(/unknown or already spent/);
  });

  it('rejects spending the same note twice within one transaction', () => {
    const { ledger, noteTxid } = withNote();
    const tx = signed([spendNote(noteTxid, 0), spendNote(noteTxid, 0)], [issueNote(200_000n, bob.publicKey)], [alice.secretKey, alice.secretKey]);
    expect(reason(ledger.tx(tx))).toMatch(/input 1: note unknown or already spent/);
  });

  it('rejects a missing, an extra or a wrong signature', () => {
    const { ledger, noteTxid } = withNote();
    const good = signed([spendNote(noteTxid, 0)], [issueNote(100_000n, bob.publicKey)], [alice.secretKey]);
    const missing: Transaction = { ...good, signatures: [] };
    const extra: Transaction = { ...good, signatures: [good.signatures[0]!, good.signatures[0]!] };
    const wrong = signed([spendNote(noteTxid, 0)], [issueNote(100_000n, bob.publicKey)], [bob.secretKey], good.nonce);
    const flipped = Uint8Array.from(good.signatures[0]!);
    flipped[10]! ^= 1;
    expect(reason(ledger.tx(missing))).toMatch(/expected 1 signatures/);
    expect(reason(ledger.tx(extra))).toMatch(/expected 1 signatures/);
    expect(reason(ledger.tx(wrong))).toMatch(/input 0: invalid signature/);
    expect(reason(ledger.tx({ ...good, signatures: [flipped] }))).toMatch(/invalid signature/);
    expect(ledger.tx(good).ok).toBe(true);
  });

  it('accepts an overfunded transaction and shows its surplus in net assets', () => {
    const { ledger, noteTxid } = withNote();
    const outcome = ledger.tx(signed([spendNote(noteTxid, 0)], [issueNote(60_000n, bob.publicKey)], [alice.secretKey]));
    expect(outcome.ok).toBe(true);
    if (outcome.ok) expect(outcome.audit.netAssets).toBe(40_000n);
  });

  it('rejects an underfunded transaction', () => {
    const { ledger, noteTxid } = withNote();
    expect(reason(ledger.tx(signed([spendNote(noteTxid, 0)], [issueNote(100_001n, bob.publicKey)], [alice.secretKey])))).toMatch(/underfunded/);
  });

  it('charges the configured withdrawal fee, which stays in the reserve', () => {
    const { ledger, noteTxid } = withNote();
    expect(reason(ledger.tx(signed([spendNote(noteTxid, 0)], [withdraw(new Uint8Array([1]), 99_001n)], [alice.secretKey])))).toMatch(/fees 1000/);
    const outcome = ledger.tx(signed([spendNote(noteTxid, 0)], [withdraw(new Uint8Array([1]), 99_000n)], [alice.secretKey]));
    expect(outcome.ok && outcome.audit.modules.map((l) => l.msat)).toEqual([1_000n, -0n]);
    expect(outcome.ok && outcome.audit.netAssets).toBe(1_000n);
  });

  it('rejects a transaction without inputs or outputs', () => {
    const { ledger, noteTxid } = withNote();
    expect(reason(ledger.tx(signed([], [issueNote(1n, bob.publicKey)], [])))).toMatch(/at least one input and one output/);
    expect(reason(ledger.tx(signed([spendNote(noteTxid, 0)], [], [alice.secretKey])))).toMatch(/at least one input and one output/);
  });

  it('rejects a transaction already accepted', () => {
    const { ledger, noteTxid } = withNote();
    const tx = signed([spendNote(noteTxid, 0)], [issueNote(100_000n, bob.publicKey)], [alice.secretKey]);
    expect(ledger.tx(tx).ok).toBe(true);
    expect(ledger.tx(tx).ok).toBe(false);
  });

  it('rejects a transaction over 50,000 encoded bytes', () => {
    const { ledger, noteTxid } = withNote();
    const big = signed([spendNote(noteTxid, 0)], [withdraw(new Uint8Array(50_000), 1n)], [alice.secretKey]);
    expect(reason(ledger.tx(big))).toMatch(/more than 50000/);
    const fits = signed([spendNote(noteTxid, 0)], [withdraw(new Uint8Array(49_800), 1n)], [alice.secretKey]);
    expect(ledger.tx(fits).ok).toBe(true);
  });

  it('rejects unknown modules and malformed bodies handed to it directly', () => {
    const { ledger, noteTxid } = withNote();
    expect(reason(ledger.apply({ kind: 'module', module: 9, body: new Uint8Array() }))).toMatch(/unknown module 9/);
    expect(reason(ledger.apply({ kind: 'module', module: 1, body: new Uint8Array([0, 0]) }))).toMatch(/malformed mint item/);
    const tx = signed([{ module: 1, body: new Uint8Array([0, 1, 2]) }], [issueNote(1n, bob.publicKey)], [alice.secretKey]);
    expect(reason(ledger.tx(tx))).toMatch(/malformed mint input/);
    expect(reason(ledger.tx(signed([spendNote(noteTxid, 0)], [issueNote(0n, bob.publicKey)], [alice.secretKey])))).toMatch(/positive/);
  });

  it('processes a decoded transaction by its body bytes, even bytes changed after decoding', () => {
    const { ledger, noteTxid } = withNote();
    const built = signed([spendNote(noteTxid, 0)], [issueNote(1_000n, bob.publicKey)], [alice.secretKey]);
    const decoded = decodeTransaction(encodeTransaction(built), defaultModuleCodecs);
    if (!decoded.ok) throw new Error('does not decode');
    // The output body is garbage now: the ledger must see that, not what decoding saw (signatures
    // are taken as verified, or the changed txid would be refused first).
    decoded.value.outputs[0]!.body.fill(0xff);
    const trusting = { ...ledger.rules, verify: () => true };
    expect(reason(processItem(trusting, ledger.state, { kind: 'transaction', tx: decoded.value }, 0))).toMatch(/output 0: malformed mint output/);
    // Unchanged bytes: the same outcome as the transaction that was never encoded.
    const again = decodeTransaction(encodeTransaction(built), defaultModuleCodecs);
    if (!again.ok) throw new Error('does not decode');
    expect(processItem(ledger.rules, ledger.state, { kind: 'transaction', tx: again.value }, 0)).toEqual(processItem(ledger.rules, ledger.state, { kind: 'transaction', tx: built }, 0));
  });

  it('leaves the previous state untouched when it accepts or rejects', () => {
    const { ledger, noteTxid } = withNote();
    const before = ledger.state;
    const hash = ledgerStateHash(ledger.rules, before);
    const tx = signed([spendNote(noteTxid, 0)], [issueNote(1n, bob.publicKey)], [alice.secretKey]);
    const accepted = processItem(ledger.rules, before, { kind: 'transaction', tx }, 0);
    expect(accepted.ok).toBe(true);
    expect(ledgerStateHash(ledger.rules, before)).toBe(hash);
    expect(processItem(ledger.rules, before, { kind: 'transaction', tx }, 0).ok).toBe(true);
  });
});

describe('audit', () => {
  it('throws a named consensus failure before net assets can go negative', () => {
    // A misconfigured negative fee lets outputs exceed inputs: the audit must catch it.
    const ledger = new TestLedger(4, { wallet: { withdrawFeeMsat: -500n } });
    ledger.deposit(depositId('d1'), 1_000n, alice.publicKey);
    const tx = signed([claimDeposit(depositId('d1'))], [withdraw(new Uint8Array([1]), 1_500n)], [alice.secretKey]);
    const before = ledger.state;
    expect(() => ledger.tx(tx)).toThrow(AuditFailure);
    expect(() => ledger.tx(tx)).toThrow(/^Consensus Failure: net assets would be -500 msat/);
    expect(ledger.state).toBe(before);
  });
});

describe('snapshots', () => {
  it('round-trips ledger state through deterministic JSON with the same hash', () => {
    const { ledger } = withNote();
    ledger.apply(depositObserved({ depositId: depositId('pending'), amount: 9n, recipient: bob.publicKey }), 1);
    const json = ledgerStateToJson(ledger.rules, ledger.state);
    const restored = ledgerStateFromJson(ledger.rules, JSON.parse(canonicalJson(json)));
    expect(restored.ok).toBe(true);
    if (!restored.ok) return;
    expect(ledgerStateHash(ledger.rules, restored.state)).toBe(ledgerStateHash(ledger.rules, ledger.state));
    expect(canonicalJson(ledgerStateToJson(ledger.rules, restored.state))).toBe(canonicalJson(json));
    expect(ledgerAudit(ledger.rules, restored.state)).toEqual(ledgerAudit(ledger.rules, ledger.state));
  });

  it('gives equal hashes for equal states reached in different orders', () => {
    const a = new TestLedger();
    const b = new TestLedger();
    a.deposit(depositId('x'), 1n, alice.publicKey);
    a.deposit(depositId('y'), 2n, bob.publicKey);
    b.deposit(depositId('y'), 2n, bob.publicKey);
    b.deposit(depositId('x'), 1n, alice.publicKey);
    expect(ledgerStateHash(a.rules, a.state)).toBe(ledgerStateHash(b.rules, b.state));
    expect(ledgerStateHash(a.rules, a.state)).not.toBe(ledgerStateHash(a.rules, new TestLedger().state));
  });

  it('rejects malformed snapshots with a reason', () => {
    const { ledger } = withNote();
    expect(ledgerStateFromJson(ledger.rules, { version: 2 }).ok).toBe(false);
    const json = ledgerStateToJson(ledger.rules, ledger.state) as { modules: Record<string, unknown> };
    const broken = { ...json, modules: { ...json.modules, '1': { notes: 'x' } } };
    const result = ledgerStateFromJson(ledger.rules, broken);
    expect(!result.ok && result.reason).toMatch(/invalid mint state/);
  });
});

describe('random histories', () => {
  const users = [userKey(1), userKey(2), userKey(3)];
  const opArb = fc.oneof(
    fc.record({ kind: fc.constant('observe' as const), deposit: fc.nat(4), peer: fc.nat(4), variant: fc.nat(1) }),
    fc.record({ kind: fc.constant('claim' as const), deposit: fc.nat(4), signer: fc.nat(2), owner: fc.nat(2), delta: fc.integer({ min: -5, max: 1 }) }),
    fc.record({ kind: fc.constant('spend' as const), note: fc.nat(), second: fc.option(fc.nat(), { nil: undefined }), wrongSigner: fc.boolean(), owner: fc.nat(2), delta: fc.integer({ min: -5, max: 1 }), toWithdraw: fc.boolean() }),
    fc.record({ kind: fc.constant('replay' as const), which: fc.nat() }),
  );

  it('never lets net assets go below zero, and a rejection changes nothing', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 25 }), (ops) => {
        const ledger = new TestLedger();
        const notes: { txid: Uint8Array; index: number; amount: bigint; owner: number }[] = [];
        const history: Transaction[] = [];
        const fee = 1_000n;
        for (const op of ops) {
          let item: Parameters<TestLedger['apply']>[0];
          if (op.kind === 'observe') {
            const amount = 10_000n * BigInt(op.deposit + 1) + BigInt(op.variant);
            item = depositObserved({ depositId: depositId(`d${op.deposit}`), amount, recipient: users[op.deposit % 3]!.publicKey });
          } else if (op.kind === 'claim') {
            const amount = 10_000n * BigInt(op.deposit + 1) + BigInt(op.delta);
            item = { kind: 'transaction', tx: signed([claimDeposit(depositId(`d${op.deposit}`))], [issueNote(amount, users[op.owner]!.publicKey)], [users[op.signer]!.secretKey]) };
          } else if (op.kind === 'spend') {
            if (notes.length === 0) continue;
            const picked = [notes[op.note % notes.length]!, ...(op.second === undefined ? [] : [notes[op.second % notes.length]!])];
            const total = picked.reduce((sum, n) => sum + n.amount, 0n) + BigInt(op.delta);
            const keys = picked.map((n) => users[op.wrongSigner ? (n.owner + 1) % 3 : n.owner]!.secretKey);
            const output = op.toWithdraw ? withdraw(new Uint8Array([7]), total - fee) : issueNote(total, users[op.owner]!.publicKey);
            item = { kind: 'transaction', tx: signed(picked.map((n) => spendNote(n.txid, n.index)), [output], keys) };
          } else {
            if (history.length === 0) continue;
            item = { kind: 'transaction', tx: history[op.which % history.length]! };
          }
          const before = ledger.state;
          const hashBefore = ledgerStateHash(ledger.rules, before);
          const outcome = ledger.apply(item, op.kind === 'observe' ? op.peer % 4 : 0);
          if (outcome.ok) {
            accepted++;
            expect(outcome.audit.netAssets >= 0n).toBe(true);
            expect(op.kind).not.toBe('replay');
            if (item.kind === 'transaction') {
              history.push(item.tx);
              // Track the note a claim or a spend issued, so later operations can spend it (or try twice).
              if ((op.kind === 'claim' || op.kind === 'spend') && !(op.kind === 'spend' && op.toWithdraw)) {
                const id = txid(item.tx);
                notes.push({ txid: id, index: 0, amount: ledgerNoteAmount(ledger, id), owner: op.owner });
              }
            }
          } else {
            rejected++;
            expect(ledger.state).toBe(before);
          }
          expect(ledgerStateHash(ledger.rules, before)).toBe(hashBefore);
          expect(ledgerAudit(ledger.rules, ledger.state).netAssets >= 0n).toBe(true);
        }
      }),
      { seed: 7, numRuns: 60 },
    );
    // The generator must exercise both paths, or the property proves little.
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });
});

function ledgerNoteAmount(ledger: TestLedger, noteTxid: Uint8Array): bigint {
  const mint = ledger.state.modules.get(1) as { notes: { get(key: string): { amount: bigint } | undefined } };
  return mint.notes.get(`${bytesToHex(noteTxid)}:0`)?.amount ?? 0n;
}

describe('item descriptions', () => {
  it('shows module bodies decoded with amounts as decimal strings', () => {
    const { ledger, noteTxid } = withNote();
    const tx = signed([spendNote(noteTxid, 0)], [withdraw(new Uint8Array([0xab]), 5n)], [alice.secretKey]);
    const described = describeConsensusItem(ledger.rules.modules, { kind: 'transaction', tx }) as Record<string, unknown>;
    expect(described.txid).toBe(bytesToHex(txid(tx)));
    expect(described.inputs).toEqual([{ module: 1, moduleName: 'mint', body: expect.any(String), decoded: { type: 'SpendNote', txid: bytesToHex(noteTxid), index: '0' } }]);
    expect(described.outputs).toEqual([{ module: 0, moduleName: 'wallet', body: expect.any(String), decoded: { type: 'Withdraw', destination: 'ab', amount: '5' } }]);
    const item = depositObserved({ depositId: depositId('d9'), amount: 12n, recipient: bob.publicKey });
    expect(describeConsensusItem(ledger.rules.modules, item)).toMatchObject({ kind: 'module', moduleName: 'wallet', decoded: { type: 'DepositObserved', amount: '12' } });
  });
});
