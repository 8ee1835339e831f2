import { schnorr } from '@noble/curves/secp256k1.js';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../../src/domain/hashing.ts';
import { issueNote, mintModule } from '../../../src/domain/modules/mint.ts';
import { claimDeposit, depositObserved, walletModule } from '../../../src/domain/modules/wallet.ts';
import { seededRandom } from '../../../src/domain/seededRandom.ts';
import { depositId, signed, TestLedger, userKey } from '../ledgerFixture.ts';

/**
 * DESIGN.md, Modules: a deposit's recipient and a note's owner must be BIP-340 x-only public keys
 * (an x coordinate of a curve point). A note issued to anything else can never be spent: it would
 * sit in the balance sheet as a liability forever.
 */

const P = 2n ** 256n - 0x1_0000_03d1n;
const key = (x: bigint) => hexToBytes(x.toString(16).padStart(64, '0'));
/** 32-byte values that are not x coordinates on secp256k1: zero, x^3 + 7 a non-residue, and x >= p. */
const notKeys = { zero: key(0n), 'x = 5 (no y)': key(5n), 'x = p - 1 (no y)': key(P - 1n), 'x = p': key(P), 'all ones': key(2n ** 256n - 1n) };
const context = { peerCount: 4, threshold: 3 };
const alice = userKey(1);

/** What noble's BIP-340 lift_x says about `bytes` (the reference the rule must agree with). */
function liftable(bytes: Uint8Array): boolean {
  try {
    schnorr.utils.lift_x(BigInt(`0x${bytesToHex(bytes)}`));
    return true;
  } catch {
    return false;
  }
}

describe('the wallet refuses a deposit for a value that is not a public key', () => {
  const wallet = walletModule();
  it.each(Object.entries(notKeys))('recipient %s', (_, recipient) => {
    expect(liftable(recipient)).toBe(false);
    const outcome = wallet.processConsensusItem(wallet.initialState, { depositId: depositId('d'), amount: 5_000n, recipient }, 0, context);
    expect(outcome).toEqual({ ok: false, reason: expect.stringMatching(/recipient .*not a valid BIP-340 public key/) as unknown });
  });

  it('accepts any x coordinate on the curve, with or without a known secret', () => {
    expect(wallet.processConsensusItem(wallet.initialState, { depositId: depositId('d'), amount: 5_000n, recipient: key(1n) }, 0, context).ok).toBe(true);
    expect(wallet.processConsensusItem(wallet.initialState, { depositId: depositId('d'), amount: 5_000n, recipient: alice.publicKey }, 0, context).ok).toBe(true);
  });

  it('proposes no such deposit, so a guardian never puts one up for ordering', () => {
    expect(wallet.proposals(wallet.initialState, 0, [{ depositId: depositId('d'), amount: 5_000n, recipient: notKeys['x = 5 (no y)'] }], context)).toEqual([]);
  });
});

describe('the mint refuses a note issued to a value that is not a public key', () => {
  const mint = mintModule();
  const outPoint = { txid: new Uint8Array(32).fill(9), index: 0 };
  it.each(Object.entries(notKeys))('owner %s', (_, owner) => {
    const outcome = mint.processOutput(mint.initialState, { amount: 1_000n, owner }, outPoint, context);
    expect(outcome).toEqual({ ok: false, reason: expect.stringMatching(/owner .*not a valid BIP-340 public key/) as unknown });
  });

  it('agrees with BIP-340 lift_x on random 32-byte values (seeded)', () => {
    const random = seededRandom(16_07);
    let valid = 0;
    for (let i = 0; i < 300; i++) {
      const owner = Uint8Array.from({ length: 32 }, () => Math.floor(random() * 256));
      const expected = liftable(owner);
      if (expected) valid++;
      expect(mint.processOutput(mint.initialState, { amount: 1_000n, owner }, outPoint, context).ok, bytesToHex(owner)).toBe(expected);
    }
    // About half of all x are on the curve: both answers were exercised.
    expect(valid).toBeGreaterThan(100);
    expect(valid).toBeLessThan(200);
  });
});

describe('the ledger (and so the dry run) applies the rule', () => {
  it('rejects the deposit item and records nothing', () => {
    const ledger = new TestLedger();
    const before = ledger.state;
    for (const outcome of ledger.deposit(depositId('d1'), 100_000n, notKeys['x = 5 (no y)'])) expect(outcome.ok).toBe(false);
    expect(ledger.state).toBe(before);
  });

  it('rejects a transaction issuing a note to a value that is not a key, and keeps the deposit claimable', () => {
    const ledger = new TestLedger();
    ledger.deposit(depositId('d1'), 100_000n, alice.publicKey);
    const bad = ledger.tx(signed([claimDeposit(depositId('d1'))], [issueNote(100_000n, notKeys['x = p'])], [alice.secretKey]));
    expect(bad).toMatchObject({ ok: false, reason: expect.stringMatching(/owner .*not a valid BIP-340 public key/) as unknown });
    expect(ledger.tx(signed([claimDeposit(depositId('d1'))], [issueNote(100_000n, alice.publicKey)], [alice.secretKey])).ok).toBe(true);
  });

  it('keeps the rule for a key seen before (a remembered verdict is the same verdict)', () => {
    const ledger = new TestLedger();
    for (let round = 0; round < 3; round++) {
      const id = depositId(`again ${round}`);
      expect(ledger.deposit(id, 1_000n, notKeys['x = 5 (no y)']).every((o) => !o.ok)).toBe(true);
      expect(ledger.deposit(id, 1_000n, alice.publicKey).at(-1)!.ok).toBe(true);
    }
  });
});

// The depositObserved builder must still encode anything: the rule is the ledger's, not the codec's.
it('the builders still encode any 32 bytes (decoding is not where the rule lives)', () => {
  expect(() => depositObserved({ depositId: depositId('d'), amount: 1n, recipient: notKeys.zero })).not.toThrow();
  expect(() => issueNote(1n, notKeys.zero)).not.toThrow();
});
