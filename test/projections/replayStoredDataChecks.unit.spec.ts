import { describe, expect, it } from 'vitest';
import { encodeConsensusItem, type ConsensusItem } from '../../src/domain/consensusItem.ts';
import { federationTag } from '../../src/domain/federation.ts';
import { bytesToHex, sha256 } from '../../src/domain/hashing.ts';
import { createKeychain } from '../../src/domain/keychain.ts';
import { issueNote, spendNote } from '../../src/domain/modules/mint.ts';
import { claimDeposit, depositObserved, withdraw } from '../../src/domain/modules/wallet.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';
import { acceptedItemHashOfEncoded } from '../../src/domain/sessionOutcome.ts';
import { nobleBackend } from '../../src/domain/signatures/noble.ts';
import { buildTransaction } from '../../src/domain/transaction.ts';
import { planRecordedSignatures, storedItemProblems, txidOfItem } from '../../src/projections/storedDataChecks.ts';

const key = (label: string) => sha256(new TextEncoder().encode(label));
const owner = nobleBackend.publicKey(key('owner'));

/** Transactions of seeded shapes: 1-3 inputs, 1-3 outputs of either module. */
function transactions(count: number, seed: number): Array<{ item: ConsensusItem; txid: string }> {
  const random = seededRandom(seed);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
  return Array.from({ length: count }, () => {
    const inputs = Array.from({ length: 1 + Math.floor(random() * 3) }, () => (random() < 0.5 ? claimDeposit(bytes(32)) : spendNote(bytes(32), Math.floor(random() * 300))));
    const outputs = Array.from({ length: 1 + Math.floor(random() * 3) }, () => (random() < 0.5 ? issueNote(BigInt(Math.floor(random() * 2 ** 40)), owner) : withdraw(bytes(Math.floor(random() * 300)), 5_000n)));
    const { tx, txid } = buildTransaction({ inputs, outputs, secretKeysPerInput: inputs.map(() => key('signer')), nonce: bytes(8) });
    return { item: { kind: 'transaction', tx }, txid: bytesToHex(txid) };
  });
}

describe('the derived fields of an ItemAccepted, recomputed', () => {
  it("gives a transaction item's txid from its bytes, as the domain computes it", () => {
    for (const { item, txid } of transactions(40, 5)) expect(txidOfItem(encodeConsensusItem(item))).toBe(txid);
  });

  it('gives no txid for a module item, nor for bytes cut short (without throwing)', () => {
    expect(txidOfItem(encodeConsensusItem(depositObserved({ depositId: key('d'), amount: 1_000n, recipient: owner })))).toBeUndefined();
    const encoded = encodeConsensusItem(transactions(1, 9)[0]!.item);
    for (const length of [0, 1, 2, 5, 20, 40]) expect(txidOfItem(encoded.subarray(0, length))).toBeUndefined();
  });

  it('finds nothing wrong with what the engine records, and names each edited field', () => {
    const { item, txid } = transactions(1, 13)[0]!;
    const bytes = encodeConsensusItem(item);
    const leaf = acceptedItemHashOfEncoded(bytes, 2);
    const itemHash = bytesToHex(leaf);
    expect(storedItemProblems({ itemHash, txid }, bytes, leaf)).toEqual([]);
    const flipped = `${itemHash.slice(0, -1)}${itemHash.endsWith('0') ? '1' : '0'}`;
    expect(storedItemProblems({ itemHash: flipped, txid }, bytes, leaf)).toEqual([`stored itemHash ${flipped} is not the hash of its item and peer (${itemHash})`]);
    expect(storedItemProblems({ itemHash }, bytes, leaf)).toEqual([`no stored txid for a transaction (its txid is ${txid})`]);
    const module = encodeConsensusItem(depositObserved({ depositId: key('d'), amount: 1_000n, recipient: owner }));
    const moduleLeaf = acceptedItemHashOfEncoded(module, 0);
    expect(storedItemProblems({ itemHash: bytesToHex(moduleLeaf), txid }, module, moduleLeaf)).toEqual([`stored txid ${txid} on an item that is not a transaction`]);
  });
});

describe('SignatureRecorded, checked against the header', () => {
  const secret = key('guardian 0');
  const keychain = createKeychain({ federation: new Map([[0, nobleBackend.publicKey(secret)]]), secretKey: secret, backend: nobleBackend });
  const header = new Uint8Array(40).fill(7);
  const signature = bytesToHex(keychain.sign(header));
  const verify = (records: Parameters<typeof planRecordedSignatures>[0], over = header) => {
    const plan = planRecordedSignatures(records, over, keychain.federation, federationTag(keychain.federation));
    return plan.conclude(plan.checks.map((c) => nobleBackend.verify(c.signature, c.message, c.publicKey)));
  };

  it('accepts a valid signature marked valid, and an invalid one marked invalid', () => {
    expect(verify([{ peer: 0, signature, valid: true }])).toEqual([]);
    expect(verify([{ peer: 0, signature, valid: false }], new Uint8Array(40))).toEqual([]);
  });

  it('refuses a flag that is not what verifying says, and a valid signature of a stranger', () => {
    expect(verify([{ peer: 0, signature, valid: false }])).toEqual(["SignatureRecorded of peer 0 is marked invalid, but it verifies against the session's header"]);
    expect(verify([{ peer: 0, signature, valid: true }], new Uint8Array(40))).toEqual(["SignatureRecorded of peer 0 is marked valid, but it does not verify against the session's header"]);
    expect(verify([{ peer: 5, signature, valid: true }])).toEqual(['SignatureRecorded of peer 5, who is not in the federation, is marked valid']);
  });
});
