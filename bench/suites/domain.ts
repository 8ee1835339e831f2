/**
 * Domain core throughput: consensus encoding of a typical transaction, session headers, and the
 * ledger's per-item function on 1-input transactions with the noble backend.
 */
import { performance } from 'node:perf_hooks';
import { repeat, type BenchRow, type BenchSuite } from '../report.ts';
import { sha256 } from '../../src/domain/hashing.ts';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import { buildTransaction, decodeTransaction, encodeTransaction, type Transaction } from '../../src/domain/transaction.ts';
import { sessionHeader, type AcceptedItem } from '../../src/domain/sessionOutcome.ts';
import { initialLedgerState, ledgerRules, processItem, type LedgerRules, type LedgerState } from '../../src/domain/ledger.ts';
import { claimDeposit, depositObserved } from '../../src/domain/modules/wallet.ts';
import { issueNote, spendNote } from '../../src/domain/modules/mint.ts';
import { decodeConsensusItem, encodeConsensusItem, encodedTransactionOf } from '../../src/domain/consensusItem.ts';
import { nativeSha256 } from '../../src/projections/nativeSha256.ts';
import { createModules, defaultModuleCodecs } from '../../src/domain/modules/consensusModules.ts';

const SUITE = 'domain';
const RUNS = 5;

const secretKey = new Uint8Array(32).fill(7);
const owner = nobleBackend.publicKey(secretKey);
const nonce = (i: number) => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setUint32(4, i);
  return bytes;
};

/** Runs `work` in a loop for about `ms` and returns iterations per second. */
function perSecond(ms: number, work: () => void): number {
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < ms) {
    work();
    count++;
  }
  return count / ((performance.now() - start) / 1000);
}

function typicalTransaction(i: number): Transaction {
  const seed = sha256(nonce(i));
  return buildTransaction({
    inputs: [spendNote(seed, 0), spendNote(seed, 1)],
    outputs: [issueNote(60_000n, owner), issueNote(40_000n, owner)],
    secretKeysPerInput: [secretKey, secretKey],
    nonce: nonce(i),
  }).tx;
}

/** A ledger holding `count` notes of 1,000 msat owned by `owner`, and `count` signed 1-in 1-out spends. */
function ledgerWithSpends(count: number): { rules: LedgerRules; state: LedgerState; spends: Transaction[] } {
  const rules = ledgerRules({ peerCount: 1, modules: createModules() });
  let state = initialLedgerState(rules);
  const depositId = sha256(new Uint8Array([1]));
  const observed = processItem(rules, state, depositObserved({ depositId, amount: BigInt(count) * 1_000n, recipient: owner }), 0);
  if (!observed.ok) throw new Error(observed.reason);
  state = observed.state;
  const issue = buildTransaction({
    inputs: [claimDeposit(depositId)],
    outputs: Array.from({ length: count }, () => issueNote(1_000n, owner)),
    secretKeysPerInput: [secretKey],
    nonce: nonce(0),
  });
  const issued = processItem(rules, state, { kind: 'transaction', tx: issue.tx }, 0);
  if (!issued.ok) throw new Error(issued.reason);
  const spends = Array.from({ length: count }, (_, index) =>
    buildTransaction({ inputs: [spendNote(issue.txid, index)], outputs: [issueNote(1_000n, owner)], secretKeysPerInput: [secretKey], nonce: nonce(index + 1) }).tx,
  );
  return { rules, state: issued.state, spends };
}

function processAll(rules: LedgerRules, base: LedgerState, spends: Transaction[]): number {
  let state = base;
  const start = performance.now();
  for (const tx of spends) {
    const outcome = processItem(rules, state, { kind: 'transaction', tx }, 0);
    if (!outcome.ok) throw new Error(outcome.reason);
    state = outcome.state;
  }
  return spends.length / ((performance.now() - start) / 1000);
}

const suite: BenchSuite = {
  name: SUITE,
  async run(): Promise<BenchRow[]> {
    const rows: BenchRow[] = [];

    const tx = typicalTransaction(1);
    const encodedSize = encodeTransaction(tx).length;
    rows.push(
      await repeat(SUITE, 'encode+decode 2-in 2-out transaction', 'tx/s', RUNS, () =>
        perSecond(500, () => {
          const decoded = decodeTransaction(encodeTransaction(tx), defaultModuleCodecs);
          if (!decoded.ok) throw new Error(decoded.error.message);
        }),
        `${encodedSize} bytes`,
      ),
    );

    const items: AcceptedItem[] = Array.from({ length: 1_000 }, (_, i) => ({ item: { kind: 'transaction', tx: i % 10 === 0 ? typicalTransaction(i) : tx }, peer: i % 4 }));
    rows.push(await repeat(SUITE, 'header of a 1,000-item session', 'headers/s', RUNS, () => perSecond(500, () => sessionHeader(42, { items }))));

    const { rules, state, spends } = ledgerWithSpends(1_000);
    rows.push(await repeat(SUITE, 'ledger processItem, 1-input tx, noble verify', 'items/s', RUNS, () => processAll(rules, state, spends)));
    const preverified = { ...rules, verify: () => true };
    rows.push(
      await repeat(SUITE, 'ledger processItem, 1-input tx, signatures pre-verified', 'items/s', RUNS, () => processAll(preverified, state, spends), 'upper bound without signature checks'),
    );
    // The replay fold's path: items decoded from their bytes, the transaction's own bytes hashed (natively) for its txid.
    const encodedItems = spends.map((tx) => encodeConsensusItem({ kind: 'transaction', tx }));
    const replayRules = { ...rules, verify: () => true, sha256: nativeSha256 };
    rows.push(
      await repeat(SUITE, 'ledger processItem from item bytes (replay path), pre-verified', 'items/s', RUNS, () => {
        let current = state;
        const start = performance.now();
        for (const bytes of encodedItems) {
          const decoded = decodeConsensusItem(bytes, defaultModuleCodecs);
          if (!decoded.ok) throw new Error(decoded.error.message);
          const outcome = processItem(replayRules, current, decoded.value, 0, encodedTransactionOf(bytes));
          if (!outcome.ok) throw new Error(outcome.reason);
          current = outcome.state;
        }
        return encodedItems.length / ((performance.now() - start) / 1000);
      }, 'decode included'),
    );
    return rows;
  },
};

export default suite;
